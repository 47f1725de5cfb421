#include "net/pkce.hpp"

#include "net/url.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdexcept>

namespace net {

std::string make_code_verifier() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  return base64url_encode(std::string_view{reinterpret_cast<char*>(raw), sizeof raw});
}

std::string code_challenge_s256(const std::string& verifier) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(),
         digest);
  return base64url_encode(
      std::string_view{reinterpret_cast<char*>(digest), sizeof digest});
}

} // namespace net

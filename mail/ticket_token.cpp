#include "mail/ticket_token.hpp"

#include "net/url.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace mail {

std::string ticket_token(const std::string& key, const std::string& ticket_id) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(ticket_id.data()), ticket_id.size(), mac,
       &len);
  auto hex = net::hex_encode({reinterpret_cast<const char*>(mac), 3});
  return "[#" + ticket_id + "-" + hex + "]";
}

std::vector<std::pair<std::string, std::string>>
subject_tokens(const std::string& subject) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto start = subject.find("[#"); start != std::string::npos;
       start = subject.find("[#", start + 2)) {
    auto end = subject.find(']', start);
    if (end == std::string::npos) break;
    auto inner = subject.substr(start + 2, end - start - 2);
    auto dash = inner.rfind('-');
    if (dash == std::string::npos || dash == 0 || inner.size() - dash - 1 != 6) continue;
    out.emplace_back(inner.substr(0, dash), subject.substr(start, end - start + 1));
  }
  return out;
}

} // namespace mail

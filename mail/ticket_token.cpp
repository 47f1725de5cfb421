#include "mail/ticket_token.hpp"

#include "net/url.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string_view>

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
  constexpr std::size_t max_inner = 64;
  constexpr std::size_t max_tokens = 8;
  std::vector<std::pair<std::string, std::string>> out;
  for (auto start = subject.find("[#");
       start != std::string::npos && out.size() < max_tokens;
       start = subject.find("[#", start + 2)) {
    // Looked for within reach only, so each `[#` costs at most max_inner steps.
    auto reach = std::string_view{subject}.substr(start + 2, max_inner + 1);
    auto close = reach.find(']');
    if (close == std::string_view::npos) continue;
    auto end = start + 2 + close;
    auto inner = subject.substr(start + 2, end - start - 2);
    auto dash = inner.rfind('-');
    if (dash == std::string::npos || dash == 0 || inner.size() - dash - 1 != 6 ||
        inner.find('[') != std::string::npos) // a later `[#` starts the real token
      continue;
    out.emplace_back(inner.substr(0, dash), subject.substr(start, end - start + 1));
  }
  return out;
}

} // namespace mail

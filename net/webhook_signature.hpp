#pragma once

#include <string>
#include <string_view>

/// How a webhook event is signed: `X-Exconnect-Signature: sha256=<hex>`, the
/// HMAC-SHA256 of the body exactly as sent, keyed with the account's webhook secret.
namespace net {

/// "sha256=" and 64 lower-case hex digits.
std::string webhook_signature(std::string_view secret, std::string_view body);

/// Whether `header` is the body's signature under `secret` (compared in constant time).
bool webhook_signature_matches(std::string_view secret, std::string_view body,
                               std::string_view header);

} // namespace net

#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

/// Reading the TOKEN SERVICE's tenant keys (made by tenant_token_key in
/// messages/interfaces.hpp) and the tenant ids in them.
namespace exc {

/// A tenant id as Microsoft gives it: a GUID (36 hex digits and dashes). Nothing else
/// goes into a login URL or a stored key.
inline bool plausible_tenant_id(std::string_view id) {
  return id.size() == 36 && std::all_of(id.begin(), id.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) || c == '-';
         });
}

/// The tenant id of a tenant key ("tenant:<id>"); "" for any other key (a mailbox id).
inline std::string tenant_of_key(const std::string& key) {
  constexpr std::string_view prefix = "tenant:";
  return key.rfind(prefix, 0) == 0 ? key.substr(prefix.size()) : std::string{};
}

} // namespace exc

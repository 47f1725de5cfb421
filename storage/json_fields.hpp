#pragma once

// Reading fields of stored JSON records leniently: a missing or mistyped field reads as
// empty, so an older record still loads.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace storage::detail {

inline std::string str(const nlohmann::json& j, const char* name) {
  auto i = j.find(name);
  return i != j.end() && i->is_string() ? i->get<std::string>() : std::string{};
}

inline std::int64_t num(const nlohmann::json& j, const char* name) {
  auto i = j.find(name);
  return i != j.end() && i->is_number_integer() ? i->get<std::int64_t>() : 0;
}

} // namespace storage::detail

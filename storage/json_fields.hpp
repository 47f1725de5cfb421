#pragma once

// Reading fields of stored JSON records leniently: a missing or mistyped field reads as
// empty, so an older record still loads.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace storage::detail {

inline std::string str(const nlohmann::json& j, const char* name) {
  auto i = j.find(name);
  return i != j.end() && i->is_string() ? i->get<std::string>() : std::string{};
}

inline std::int64_t num(const nlohmann::json& j, const char* name) {
  auto i = j.find(name);
  return i != j.end() && i->is_number_integer() ? i->get<std::int64_t>() : 0;
}

inline std::vector<std::string> strings(const nlohmann::json& j, const char* name) {
  std::vector<std::string> out;
  auto i = j.find(name);
  if (i == j.end() || !i->is_array()) return out;
  for (const auto& s : *i)
    if (s.is_string()) out.push_back(s.get<std::string>());
  return out;
}

} // namespace storage::detail

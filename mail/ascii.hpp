#pragma once

// Small text helpers inside mail/ (header names and values are ASCII).

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace mail::detail {

/// `s` with ASCII letters in lower case.
inline std::string ascii_lower(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

} // namespace mail::detail

#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace exc {

/// A limit of `count` events per sliding `window`, written "N/SECONDS" (decimal
/// seconds allowed: "25/0.5").
struct rate_limit {
  std::uint64_t count = 0;
  std::chrono::milliseconds window{0};
};

/// Parses "N/SECONDS" with N > 0 and SECONDS > 0; nullopt if malformed.
std::optional<rate_limit> parse_rate_limit(std::string_view text);

/// "N/SECONDS" again (seconds with up to three decimals).
std::string to_string(const rate_limit& r);

} // namespace exc

#include "messages/rate_limit.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace exc {

std::optional<rate_limit> parse_rate_limit(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::uint64_t count = 0;
  auto n = text.substr(0, slash);
  auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), count);
  if (ec != std::errc{} || end != n.data() + n.size() || count == 0) return std::nullopt;
  std::string secs{text.substr(slash + 1)};
  char* stop = nullptr;
  double seconds = std::strtod(secs.c_str(), &stop);
  if (secs.empty() || *stop != '\0' || !(seconds > 0) || !std::isfinite(seconds) ||
      seconds > 1e9)
    return std::nullopt;
  auto ms = static_cast<std::int64_t>(std::llround(seconds * 1000));
  if (ms == 0) return std::nullopt;
  return rate_limit{count, std::chrono::milliseconds(ms)};
}

std::string to_string(const rate_limit& r) {
  char buf[64];
  auto ms = r.window.count();
  if (ms % 1000 == 0)
    std::snprintf(buf, sizeof buf, "%llu/%lld", static_cast<unsigned long long>(r.count),
                  static_cast<long long>(ms / 1000));
  else
    std::snprintf(buf, sizeof buf, "%llu/%.3f", static_cast<unsigned long long>(r.count),
                  static_cast<double>(ms) / 1000.0);
  return buf;
}

} // namespace exc

#include "net/limits/poll_phase.hpp"

#include <algorithm>
#include <cstdint>

namespace exc {

std::chrono::milliseconds poll_phase(std::string_view mailbox_id,
                                     std::chrono::milliseconds interval) {
  std::uint64_t hash = 14695981039346656037ull; // FNV-1a: stable across builds
  for (unsigned char c : mailbox_id) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  if (interval >= 2 * poll_tick) {
    auto ticks = static_cast<std::uint64_t>(interval / poll_tick);
    return poll_tick * static_cast<std::int64_t>(hash % ticks);
  }
  auto span = static_cast<std::uint64_t>(std::max<std::int64_t>(interval.count(), 1));
  return std::chrono::milliseconds{static_cast<std::int64_t>(hash % span)};
}

caf::actor_clock::time_point next_on_phase(caf::actor_clock::time_point not_before,
                                           std::chrono::milliseconds interval,
                                           std::chrono::milliseconds phase) {
  auto since_epoch = not_before.time_since_epoch();
  auto period = std::chrono::duration_cast<caf::timespan>(interval);
  auto offset = std::chrono::duration_cast<caf::timespan>(phase);
  auto start = since_epoch - since_epoch % period; // this interval's beginning
  auto at = start + offset;
  if (at < since_epoch) at += period;
  return caf::actor_clock::time_point{at};
}

} // namespace exc

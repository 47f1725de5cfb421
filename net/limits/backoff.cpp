#include "net/limits/backoff.hpp"

#include "messages/error.hpp"
#include "net/graph/requests.hpp"
#include "net/time_format.hpp"

#include <algorithm>
#include <cstdint>

namespace exc {

std::chrono::milliseconds backoff_delay(std::chrono::milliseconds initial,
                                        std::chrono::milliseconds max, unsigned failures,
                                        std::minstd_rand& rng) {
  auto delay = initial;
  for (unsigned i = 1; i < failures && delay < max; ++i)
    delay *= 2;
  delay = std::min(delay, max);
  std::uniform_int_distribution<std::int64_t> draw{delay.count(),
                                                   delay.count() + delay.count() / 4};
  return std::chrono::milliseconds{draw(rng)};
}

std::uint32_t jitter_seed() {
  thread_local std::minstd_rand seeds{std::random_device{}()};
  return static_cast<std::uint32_t>(seeds());
}

std::optional<caf::timespan> asked_pause(const net::client_response& res) {
  auto asked = graph::retry_after(res);
  if (!asked || asked->count() <= 0 || (res.status != 429 && res.status != 503))
    return std::nullopt;
  return caf::timespan{std::min(*asked, std::chrono::milliseconds{3'600'000})};
}

bool mailbox_wide(const net::client_response& res) {
  return res.ok() && (res.status == 429 || res.status == 401 || asked_pause(res));
}

void stage_pause(storage::batch& changes, const storage::throttle_store* throttle,
                 const std::string& mailbox, const char* name, caf::timespan wait) {
  if (!throttle) return;
  auto until = std::chrono::system_clock::now() +
               std::chrono::duration_cast<std::chrono::system_clock::duration>(wait);
  throttle->stage_pause(changes, mailbox, name, until);
}

caf::timespan stored_pause(const storage::throttle_store* throttle,
                           const std::string& mailbox, const char* name) {
  if (!throttle) return caf::timespan{0};
  auto pause = throttle->load_pause(mailbox, name);
  if (!pause || !*pause) return caf::timespan{0};
  auto left = **pause - std::chrono::system_clock::now();
  return std::max(std::chrono::duration_cast<caf::timespan>(left), caf::timespan{0});
}

std::string wall_time(caf::actor_clock::time_point t, caf::actor_clock::time_point now) {
  return net::format_rfc3339(
      std::chrono::system_clock::now() +
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          t - now + std::chrono::milliseconds{999}));
}

std::int64_t wall_clock::ms_at(caf::actor_clock::time_point now) const {
  auto wall =
      wall_base + std::chrono::duration_cast<std::chrono::milliseconds>(now - clock_base);
  return std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch())
      .count();
}

} // namespace exc

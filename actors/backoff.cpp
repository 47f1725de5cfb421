#include "actors/backoff.hpp"

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
  std::uniform_int_distribution<std::int64_t> draw{delay.count() / 2, delay.count()};
  return std::chrono::milliseconds{draw(rng)};
}

} // namespace exc

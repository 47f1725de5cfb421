#pragma once

#include <chrono>
#include <random>

namespace exc {

/// The wait after `failures` transient failures in a row (at least 1):
/// initial * 2^(failures-1), capped at `max`, drawn in [delay/2, delay] so that
/// mailboxes throttled together do not come back together.
std::chrono::milliseconds backoff_delay(std::chrono::milliseconds initial,
                                        std::chrono::milliseconds max, unsigned failures,
                                        std::minstd_rand& rng);

} // namespace exc

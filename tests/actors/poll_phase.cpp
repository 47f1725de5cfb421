#define CAF_SUITE poll_phase
#include <caf/test/unit_test.hpp>

#include "net/limits/poll_phase.hpp"

#include <set>
#include <string>
#include <vector>

using namespace exc;
using namespace std::chrono_literals;

namespace {

caf::actor_clock::time_point at(caf::timespan since_epoch) {
  return caf::actor_clock::time_point{since_epoch};
}

} // namespace

CAF_TEST(a phase is the same for an id and spreads ids over the interval) {
  CAF_CHECK_EQUAL(poll_phase("mbx_abc", 60'000ms), poll_phase("mbx_abc", 60'000ms));
  // 6,000 ids over 60 buckets of a second: each bucket gets some, none most.
  std::vector<int> buckets(60);
  for (int i = 0; i < 6000; ++i) {
    auto p = poll_phase("mbx_" + std::to_string(i), 60'000ms);
    CAF_REQUIRE(p >= 0ms && p < 60'000ms);
    ++buckets[p.count() / 1000];
  }
  for (auto n : buckets)
    CAF_CHECK(n > 50 && n < 150);
  // On ticks, so that the polls of a tick fire together; an interval shorter than two
  // ticks keeps its milliseconds.
  int off_tick = 0;
  for (int i = 0; i < 1000; ++i)
    off_tick += poll_phase("mbx_" + std::to_string(i), 60'000ms) % poll_tick != 0ms;
  CAF_CHECK_EQUAL(off_tick, 0);
  std::set<std::int64_t> short_phases;
  for (int i = 0; i < 1000; ++i)
    short_phases.insert(poll_phase("mbx_" + std::to_string(i), 150ms).count());
  CAF_CHECK(short_phases.size() > 100u);
}

CAF_TEST(the next instant on phase is never before the bound and within an interval) {
  // Interval 60 s, phase 10 s: instants at 10 s, 70 s, 130 s, ...
  CAF_CHECK(next_on_phase(at(0s), 60'000ms, 10'000ms) == at(10s));
  CAF_CHECK(next_on_phase(at(10s), 60'000ms, 10'000ms) == at(10s));
  CAF_CHECK(next_on_phase(at(10s + 1ns), 60'000ms, 10'000ms) == at(70s));
  CAF_CHECK(next_on_phase(at(65s), 60'000ms, 10'000ms) == at(70s));
  CAF_CHECK(next_on_phase(at(3601s), 60'000ms, 0ms) == at(3660s));
}

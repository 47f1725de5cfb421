#define CAF_SUITE send_budget
#include <caf/test/unit_test.hpp>

#include "net/limits/send_budget.hpp"

using namespace exc;
using namespace std::chrono_literals;

namespace {

using clock = send_budget::clock;

std::chrono::milliseconds ms(clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

} // namespace

CAF_TEST(the mail window lets the next mail go when the oldest leaves) {
  send_budget b{{3, 60s}, {1'000'000, 300s}, {100, 86400s}};
  auto t0 = clock::time_point{} + 1000h;
  for (int i = 0; i < 3; ++i)
    b.record(t0 + i * 1s, 10, {"a@x"});
  CAF_CHECK_EQUAL(b.mails_used(t0 + 2s), 3u);
  CAF_CHECK_EQUAL(ms(*b.wait(t0 + 2s, 10, {"a@x"})), 58s);
  CAF_CHECK_EQUAL(ms(*b.wait(t0 + 60s, 10, {"a@x"})), 0s);
  CAF_CHECK_EQUAL(b.mails_used(t0 + 61s), 1u);
}

CAF_TEST(the byte window waits until enough bytes left it) {
  send_budget b{{100, 60s}, {100, 300s}, {100, 86400s}};
  auto t0 = clock::time_point{} + 1000h;
  b.record(t0, 40, {"a@x"});
  b.record(t0 + 10s, 40, {"a@x"});
  CAF_CHECK_EQUAL(ms(*b.wait(t0 + 20s, 20, {"a@x"})), 0s);
  // 70 bytes need both earlier sends gone: the second leaves at 310 s.
  CAF_CHECK_EQUAL(ms(*b.wait(t0 + 20s, 70, {"a@x"})), 290s);
  CAF_CHECK(!b.wait(t0 + 20s, 101, {"a@x"}).has_value());
}

CAF_TEST(recipients count once per window however often they are written to) {
  send_budget b{{100, 60s}, {1'000'000, 300s}, {3, 86400s}};
  auto t0 = clock::time_point{} + 1000h;
  b.record(t0, 1, {"a@x", "b@x"});
  b.record(t0 + 1s, 1, {"a@x"});
  b.record(t0 + 2s, 1, {"c@x"});
  // a, b, c known: writing to them again costs nothing.
  CAF_CHECK_EQUAL(ms(*b.wait(t0 + 3s, 1, {"a@x", "c@x"})), 0s);
  // d is a fourth: b must leave (its only send is the first, at t0).
  CAF_CHECK_EQUAL(ms(*b.wait(t0 + 3s, 1, {"d@x"})), 86400s - 3s);
  // d and a: a leaves only with the second send, but this mail names a again, so
  // the first send leaving (b gone) is enough.
  CAF_CHECK_EQUAL(ms(*b.wait(t0 + 3s, 1, {"d@x", "a@x"})), 86400s - 3s);
  // d and e: two must leave — b (t0) and then c (t0+2s) since a stays until t0+1s.
  CAF_CHECK_EQUAL(ms(*b.wait(t0 + 3s, 1, {"d@x", "e@x"})), 86400s - 3s + 1s);
  CAF_CHECK(!b.wait(t0 + 3s, 1, {"d@x", "e@x", "f@x", "g@x"}).has_value());
  CAF_CHECK_EQUAL(ms(*b.wait(t0 + 86400s + 3s, 1, {"d@x", "e@x", "f@x"})), 0s);
}

CAF_TEST(old sends are forgotten once no window holds them) {
  send_budget b{{2, 1s}, {1000, 2s}, {5, 3s}};
  auto t0 = clock::time_point{} + 1000h;
  b.record(t0, 500, {"a@x"});
  b.record(t0 + 1ms, 500, {"b@x"});
  CAF_CHECK_EQUAL(ms(*b.wait(t0 + 1500ms, 1, {"c@x"})), 500ms); // bytes: 2 s window
  CAF_CHECK(!b.empty(t0 + 2500ms)); // the recipient window still holds both
  CAF_CHECK_EQUAL(ms(*b.wait(t0 + 5s, 1000, {"c@x"})), 0s);
  CAF_CHECK_EQUAL(b.mails_used(t0 + 5s), 0u);
  CAF_CHECK(b.empty(t0 + 5s));
}

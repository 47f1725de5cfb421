#define CAF_SUITE graph_gate
// 0.17.6's dsl.hpp uses an undefined FAIL macro.
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "net/limits/graph_gate.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace exc;
using namespace std::chrono_literals;

namespace {

/// An actor to own slots. (The int only gives spawn an argument: CAF 0.17 trips UBSan
/// without one.)
caf::behavior idle(caf::event_based_actor*, int) {
  return {[](int x) { return x; }};
}

struct fixture : test_coordinator_fixture<> {
  graph_gate gate;
  caf::actor a = sys.spawn(idle, 0);
  caf::actor b = sys.spawn(idle, 0);
  std::vector<std::string> entered;
  graph_gate::time_point t0{};

  ~fixture() {
    for (auto& x : {a, b})
      self->send_exit(x, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void request(const caf::actor& who, std::string name) {
    gate.wait(who.address(), [this, name] { entered.push_back(name); });
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(graph_gate_tests, fixture)

CAF_TEST(at most four requests are in flight and the rest go in order) {
  for (auto name : {"a1", "a2", "a3"})
    request(a, name);
  for (auto name : {"b1", "b2", "b3"})
    request(b, name);
  CAF_CHECK(!gate.admit(t0));
  CAF_CHECK_EQUAL(entered, (std::vector<std::string>{"a1", "a2", "a3", "b1"}));
  CAF_CHECK_EQUAL(gate.in_flight(), 4u);
  CAF_CHECK_EQUAL(gate.waiting(), 2u);
  gate.leave(a.address());
  gate.admit(t0);
  CAF_CHECK_EQUAL(entered.back(), "b2");
  CAF_CHECK_EQUAL(gate.in_flight(), 4u);
  gate.leave(b.address());
  gate.leave(b.address());
  gate.admit(t0);
  CAF_CHECK_EQUAL(entered.back(), "b3");
  CAF_CHECK_EQUAL(gate.in_flight(), 3u);
  CAF_CHECK_EQUAL(gate.waiting(), 0u);
}

CAF_TEST(a pause holds every request until it ends) {
  gate.pause(t0 + 30s);
  gate.pause(t0 + 10s); // an earlier end does not shorten it
  request(a, "fetch");
  request(b, "send");
  auto again = gate.admit(t0 + 5s);
  CAF_REQUIRE(again);
  CAF_CHECK(*again == t0 + 30s);
  CAF_CHECK(entered.empty());
  CAF_CHECK(gate.admit(t0 + 29s));
  CAF_CHECK(!gate.admit(t0 + 30s));
  CAF_CHECK_EQUAL(entered, (std::vector<std::string>{"fetch", "send"}));
}

CAF_TEST(an owner that ends gives back its slots and its waiting requests) {
  for (auto name : {"a1", "a2", "a3", "a4", "a5"})
    request(a, name);
  request(b, "b1");
  gate.admit(t0);
  CAF_CHECK_EQUAL(gate.in_flight(), 4u);
  gate.forget(a.address());
  CAF_CHECK_EQUAL(gate.in_flight(), 0u);
  CAF_CHECK_EQUAL(gate.waiting(), 1u);
  gate.admit(t0);
  CAF_CHECK_EQUAL(entered.back(), "b1");
  CAF_CHECK_EQUAL(gate.in_flight(), 1u);
}

CAF_TEST(two gates share the budget of the app first come first served) {
  // 50 per 0.98 s: empty at first, at most one at once, one token every 20 ms.
  graph_budget budget{rate_limit{50, 980ms}};
  graph_gate one{graph_gate::exchange_limit, &budget};
  graph_gate two{graph_gate::exchange_limit, &budget};
  one.wait(a.address(), [&] { entered.push_back("one1"); });
  one.wait(a.address(), [&] { entered.push_back("one2"); });
  two.wait(b.address(), [&] { entered.push_back("two1"); });
  auto again = one.admit(t0);
  CAF_REQUIRE(again);
  CAF_CHECK(*again == t0 + 20ms); // one1's token
  again = two.admit(t0);
  CAF_REQUIRE(again);
  CAF_CHECK(*again == t0 + 40ms); // two1's, after one1's
  CAF_CHECK(entered.empty());
  again = one.admit(t0 + 20ms); // one1 goes; one2 reserves the token after two1's
  CAF_REQUIRE(again);
  CAF_CHECK(*again == t0 + 60ms);
  CAF_CHECK_EQUAL(entered, (std::vector<std::string>{"one1"}));
  again = two.admit(t0 + 39ms); // woken early: the same reservation, no new one
  CAF_REQUIRE(again);
  CAF_CHECK(*again == t0 + 40ms);
  CAF_CHECK(!two.admit(t0 + 40ms));
  CAF_CHECK(!one.admit(t0 + 60ms));
  CAF_CHECK_EQUAL(entered, (std::vector<std::string>{"one1", "two1", "one2"}));
  CAF_CHECK_EQUAL(budget.waits(), 3u); // once per request
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(the budget never lets more than its count through in any window) {
  // Idle for 10 s (it fills up), then demand far above the limit for 35 s: one request
  // every millisecond, each going at once or at the time reserved for it. Count what
  // goes in every 10 s window.
  graph_budget budget{rate_limit{1000, 10s}};
  graph_gate::time_point t0{};
  std::vector<graph_gate::time_point> passed;
  budget.take(t0);
  for (auto t = t0 + 10s; t < t0 + 45s; t += 1ms) {
    auto reserved = budget.take(t);
    passed.push_back(reserved ? *reserved : t);
  }
  // Reservations run far past the demand; count the ones before it ends.
  passed.erase(
      std::remove_if(passed.begin(), passed.end(), [&](auto p) { return p >= t0 + 45s; }),
      passed.end());
  std::size_t most = 0;
  for (std::size_t first = 0, last = 0; last < passed.size(); ++last) {
    while (passed[last] - passed[first] >= 10s)
      ++first;
    most = std::max(most, last - first + 1);
  }
  CAF_CHECK_LESS_OR_EQUAL(most, 1000u);
  // And it is not much stricter: 20 at once, then 980 per 10 s, in order.
  CAF_CHECK_GREATER_OR_EQUAL(most, 990u);
  CAF_CHECK_GREATER_OR_EQUAL(passed.size(), 20u + 3 * 980u + 450u);
  CAF_CHECK(std::is_sorted(passed.begin(), passed.end()));
}

CAF_TEST(a budget started before its first request fills up to its burst meanwhile) {
  graph_gate::time_point t0{};
  graph_budget started{rate_limit{1000, 10s}}; // a burst of 20
  started.start(t0);
  for (int i = 0; i < 20; ++i)
    CAF_CHECK(!started.take(t0 + 1s));      // the burst, filled over the second
  CAF_CHECK(started.take(t0 + 1s));         // then it waits
  graph_budget cold{rate_limit{1000, 10s}}; // the first request starts it: empty
  CAF_CHECK(cold.take(t0 + 1s));
  CAF_CHECK_EQUAL(cold.waits(), 1u);
}

#define CAF_SUITE graph_gate
// 0.17.6's dsl.hpp uses an undefined FAIL macro.
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "net/limits/graph_gate.hpp"

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

CAF_TEST_FIXTURE_SCOPE_END()

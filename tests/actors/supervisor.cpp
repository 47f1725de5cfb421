#define CAF_SUITE supervisor
// 0.17.6's dsl.hpp uses an undefined FAIL macro.
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "actors/supervisor.hpp"
#include "messages/services.hpp"
#include "net/metrics.hpp"

#include <string>
#include <vector>

using namespace exc;
using namespace std::chrono_literals;

namespace {

/// A service that only answers pings. (The int only gives spawn an argument: CAF 0.17
/// trips UBSan without one.)
caf::behavior pinger(caf::event_based_actor*, int) {
  return {[](int x) { return x; }};
}

struct fixture : test_coordinator_fixture<> {
  net::metrics metrics;
  supervisor_config cfg;
  std::vector<std::string> gave_up;
  supervisor_actor aut;

  fixture() {
    cfg.backoff_initial = 100ms;
    cfg.backoff_max = 1000ms;
    cfg.restart_budget = 3;
    cfg.budget_window = 60'000ms;
    cfg.stable_after = 10'000ms;
  }

  ~fixture() {
    if (aut) self->send_exit(aut, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// A service that registers itself under `name`.
  static service_spec spec(const std::string& kind, bool restartable = true) {
    return {kind, restartable, [kind](caf::local_actor* self) {
              auto h = self->spawn<caf::monitored>(pinger, 0);
              service::put(self->system(), caf::atom_from_string(kind), h);
              return h;
            }};
  }

  void start(std::vector<service_spec> services) {
    aut = sys.spawn(supervisor, cfg, std::move(services), &metrics,
                    [this](const std::string& why) { gave_up.push_back(why); });
    sched.run();
  }

  caf::actor service(const std::string& kind) {
    return caf::actor_cast<caf::actor>(sys.registry().get(caf::atom_from_string(kind)));
  }

  /// Makes the service fail as if a handler had thrown.
  void crash(const std::string& kind) {
    self->send_exit(service(kind), caf::make_error(caf::sec::runtime_error, "boom"));
    sched.run();
  }

  double restarts(const std::string& kind) {
    return metrics.value("exconnect_actor_restarts_total", {{"kind", kind}});
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(supervisor_tests, fixture)

CAF_TEST(a failed service is restarted alone after a growing backoff) {
  start({spec("helpdesk"), spec("tokens")});
  auto tokens = service("tokens");
  CAF_REQUIRE(service("helpdesk"));
  // Delays of 100 ms, 200 ms, 400 ms (each up to a quarter longer): never sooner.
  for (auto d : {100ms, 200ms, 400ms}) {
    auto before = service("helpdesk");
    crash("helpdesk");
    sched.advance_time(d - 1ms);
    sched.run();
    CAF_CHECK_EQUAL(service("helpdesk"), before); // the dead one, until the restart
    sched.advance_time(d / 4 + 1ms);
    sched.run();
    CAF_CHECK_NOT_EQUAL(service("helpdesk"), before); // a new one, found by name
  }
  CAF_CHECK_EQUAL(restarts("helpdesk"), 3);
  CAF_CHECK_EQUAL(service("tokens"), tokens); // the other service was not touched
  CAF_CHECK(gave_up.empty());
  // The new one works.
  auto now = service("helpdesk");
  self->send(now, 7);
  expect((int), from(self).to(now).with(7));
  expect((int), from(now).to(self).with(7));
}

CAF_TEST(a service that ran long enough starts its backoff over) {
  start({spec("helpdesk")});
  crash("helpdesk");
  sched.advance_time(125ms);
  sched.run();
  crash("helpdesk"); // second in a row: 200 ms
  sched.advance_time(99ms);
  sched.run();
  auto waiting = service("helpdesk");
  sched.advance_time(200ms);
  sched.run();
  CAF_CHECK_NOT_EQUAL(service("helpdesk"), waiting);
  sched.advance_time(cfg.stable_after + 1ms); // healthy for a while
  sched.run();
  auto before = service("helpdesk");
  crash("helpdesk");
  sched.advance_time(125ms); // 100 ms again, not 400 ms
  sched.run();
  CAF_CHECK_NOT_EQUAL(service("helpdesk"), before);
}

CAF_TEST(on shutdown the services stop one at a time the last started first) {
  std::vector<std::string> stopped;
  // "slow" takes a second to stop (as a REGISTRY waits for its MAILBOXes).
  auto recording = [&stopped](const std::string& kind, bool slow) {
    return service_spec{kind, true, [&stopped, kind, slow](caf::local_actor* self) {
                          auto h = self->spawn<caf::monitored>(
                              [&stopped, kind, slow](caf::event_based_actor* a, int) {
                                a->set_exit_handler([=, &stopped](caf::exit_msg& em) {
                                  stopped.push_back(kind);
                                  if (!slow) return a->quit(em.reason);
                                  a->delayed_send(a, 1s, std::string{"done"});
                                });
                                return caf::behavior{
                                    [a](const std::string&) { a->quit(); }};
                              },
                              0);
                          service::put(self->system(), caf::atom_from_string(kind), h);
                          return h;
                        }};
  };
  // "converter" is interrupted as it is told to stop (not before: its users stop first).
  auto converter = recording("converter", false);
  converter.interrupt = [&stopped] { stopped.push_back("interrupted converter"); };
  start({converter, recording("registry", true)});
  self->send_exit(aut, caf::exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK_EQUAL(stopped, (std::vector<std::string>{"registry"})); // not yet the other
  sched.advance_time(1s);
  sched.run();
  CAF_CHECK_EQUAL(stopped, (std::vector<std::string>{"registry", "interrupted converter",
                                                     "converter"}));
  CAF_CHECK(gave_up.empty());
  aut = nullptr; // down already
}

CAF_TEST(past the restart budget it gives up and stops everything) {
  start({spec("helpdesk"), spec("tokens")});
  auto tokens = service("tokens");
  self->monitor(aut);
  self->monitor(tokens);
  for (int i = 0; i < 3; ++i) { // within the budget: restarted
    crash("helpdesk");
    sched.advance_time(1250ms);
    sched.run();
  }
  CAF_CHECK(gave_up.empty());
  crash("helpdesk"); // the fourth failure within 60 s
  CAF_REQUIRE_EQUAL(gave_up.size(), 1u);
  CAF_CHECK_NOT_EQUAL(gave_up[0].find("helpdesk failed 4 times"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(gave_up[0].find("boom"), std::string::npos);
  CAF_CHECK_EQUAL(restarts("helpdesk"), 3); // the fourth failure restarts nothing
  // Every service goes down, then the SUPERVISOR, with an error (the process exits
  // non-zero and its service manager starts it again).
  std::vector<caf::down_msg> downs;
  for (int i = 0; i < 2; ++i)
    self->receive([&](const caf::down_msg& dm) { downs.push_back(dm); });
  CAF_REQUIRE_EQUAL(downs.size(), 2u);
  CAF_CHECK_EQUAL(downs[0].source, tokens.address());
  CAF_CHECK_EQUAL(downs[1].source, aut.address());
  CAF_CHECK(downs[1].reason);
  aut = nullptr;
}

CAF_TEST(failures that are far apart stay within the budget) {
  start({spec("helpdesk")});
  for (int i = 0; i < 6; ++i) { // one every 30 s: at most 2 in any 60 s
    crash("helpdesk");
    sched.advance_time(30s);
    sched.run();
  }
  CAF_CHECK(gave_up.empty());
  CAF_CHECK_EQUAL(restarts("helpdesk"), 6);
}

CAF_TEST(a service that is not restartable makes it give up at once) {
  start({spec("helpdesk"), spec("api", false)});
  crash("api");
  CAF_REQUIRE_EQUAL(gave_up.size(), 1u);
  CAF_CHECK_NOT_EQUAL(gave_up[0].find("api failed"), std::string::npos);
  aut = nullptr;
}

CAF_TEST(on shutdown the services stop first and nothing is restarted) {
  start({spec("helpdesk"), spec("tokens")});
  auto helpdesk = service("helpdesk");
  self->monitor(aut);
  self->monitor(helpdesk);
  self->send_exit(aut, caf::exit_reason::user_shutdown);
  sched.run();
  std::vector<caf::actor_addr> order;
  for (int i = 0; i < 2; ++i)
    self->receive([&](const caf::down_msg& dm) { order.push_back(dm.source); });
  CAF_REQUIRE_EQUAL(order.size(), 2u);
  CAF_CHECK_EQUAL(order[0], helpdesk.address());
  CAF_CHECK_EQUAL(order[1], aut.address());
  CAF_CHECK_EQUAL(restarts("helpdesk"), 0);
  CAF_CHECK(gave_up.empty());
  aut = nullptr;
}

CAF_TEST_FIXTURE_SCOPE_END()

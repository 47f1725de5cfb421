#define CAF_SUITE daemon_budget
#include <caf/test/unit_test.hpp>

#include "ingest_fixture.hpp"

#include <chrono>
#include <string>
#include <vector>

using nlohmann::json;

namespace {

/// graph-sim allows the app 40 requests per 10 s across all mailboxes; exconnectd's own
/// budget is 32 (the sign-ins' grant checks do not take a token, and requests leave
/// and arrive at slightly different times).
struct budget_fixture : ingest_daemon_fixture {
  budget_fixture() : ingest_daemon_fixture({"--app-rate", "40/10"}) {
    start_daemon({"--graph-budget", "32/10"});
  }

  /// Graph requests graph-sim answered with a 2xx so far (not its login service's or
  /// control API's).
  std::uint64_t answered() {
    std::uint64_t n = 0;
    auto requests = sim.control("GET", "/stats").at("requests");
    for (auto endpoint = requests.begin(); endpoint != requests.end(); ++endpoint) {
      if (endpoint.key() == "control" || endpoint.key() == "authorize" ||
          endpoint.key() == "token" || endpoint.key() == "adminconsent")
        continue;
      for (auto status = endpoint->begin(); status != endpoint->end(); ++status)
        if (status.key().size() == 3 && status.key()[0] == '2')
          n += status->get<std::uint64_t>();
    }
    return n;
  }
};

/// A number in the daemon's metrics text (0 if the sample is not there).
double sample(const std::string& metrics, const std::string& name) {
  auto at = metrics.find("\n" + name + " ");
  return at == std::string::npos ? 0 : std::stod(metrics.substr(at + name.size() + 2));
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(daemon_budget_tests, budget_fixture)

CAF_TEST(six mailboxes polling every second stay within the app limit of graph sim) {
  // Idle, they would ask for 6 listings a second, graph-sim allows 4, the budget 2.9.
  auto key = create_account("A").at("api_key").get<std::string>();
  std::vector<std::string> addresses;
  for (int i = 0; i < 6; ++i) {
    addresses.push_back("desk" + std::to_string(i) + "@contoso.test");
    connect(key, addresses.back());
  }
  std::vector<std::vector<std::string>> delivered;
  for (const auto& address : addresses) {
    delivered.emplace_back();
    for (int n = 0; n < 2; ++n) {
      auto tag = address.substr(0, address.find('@')) + "-" + std::to_string(n);
      delivered.back().push_back(
          sim.deliver(address, mime("Jana <jana@customer.test>", address, "About " + tag,
                                    tag + "@customer.test")));
    }
  }
  // Every mail still becomes a ticket, only later.
  for (std::size_t i = 0; i < addresses.size(); ++i)
    wait_labelled(addresses[i], delivered[i], std::chrono::seconds(60));
  CAF_CHECK_EQUAL(tickets(key).size(), 12u);
  // Long enough for several of graph-sim's windows (without the budget, the 41st
  // request within 10 s would be refused): about 30 s.
  std::uint64_t seen = 0;
  bool enough = test::eventually([&] { return (seen = answered()) >= 90; },
                                 std::chrono::seconds(60));
  CAF_MESSAGE("graph-sim answered " << seen << " Graph requests");
  CAF_REQUIRE(enough);
  auto stats = sim.control("GET", "/stats");
  CAF_CHECK_EQUAL(stats.at("throttled").at("app_rate"), 0);
  CAF_CHECK_EQUAL(stats.at("throttled").at("request_rate"), 0);
  // The budget did hold requests back.
  auto metrics = call("GET", "/metrics", "").body;
  CAF_CHECK_GREATER(sample(metrics, "exconnect_graph_budget_waits_total"), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()

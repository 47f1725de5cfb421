// graph-sim's limits: Exchange's 4 concurrent requests and request rate per (app,
// mailbox), answered with 429; the connector's fetch rule, counted but not refused.
#define CAF_SUITE graph_sim_limits
#include <caf/test/unit_test.hpp>

#include "fixture.hpp"

#include <future>

using nlohmann::json;

namespace {

struct limits_fixture : sim_fixture {
  /// A shared mailbox the fixture's user may open: a second mailbox for the same token.
  std::string team = "team@contoso.test";

  explicit limits_fixture(const std::vector<std::string>& args = {}) : sim_fixture(args) {
    sim.create_mailbox(team, {{"shared", true}, {"delegates", {mailbox}}});
  }

  /// Delivers `n` messages and returns their ids.
  std::vector<std::string> deliver(const std::string& address, int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i)
      ids.push_back(
          sim.deliver(address, test::sample_mail(address + std::to_string(i), address)));
    return ids;
  }

  /// Downloads a message's MIME ($value) and returns the status.
  unsigned download(const std::string& address, const std::string& id) {
    return get("/users/" + address + "/messages/" + id + "/$value").status;
  }

  std::uint64_t violations() {
    return stat("/fetch_rate/violations").get<std::uint64_t>();
  }
};

struct request_rate_fixture : limits_fixture {
  request_rate_fixture() : limits_fixture({"--request-rate", "5/600"}) {}
};

struct short_window_fixture : limits_fixture {
  short_window_fixture() : limits_fixture({"--request-rate", "3/1"}) {}
};

struct app_rate_fixture : limits_fixture {
  app_rate_fixture() : limits_fixture({"--app-rate", "4/600"}) {}
};

struct fetch_rate_fixture : limits_fixture {
  fetch_rate_fixture() : limits_fixture({"--fetch-rate", "3/600"}) {}
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(graph_sim_limits_tests, limits_fixture)

CAF_TEST(the fifth concurrent request on one mailbox gets 429 while four are in flight) {
  auto other_app = sim.register_app();
  std::string other_token = sim.sign_in(other_app, mailbox).at("access_token");
  // Every Graph request now takes 3 s, so four of them stay in flight together.
  sim.control("PUT", "/faults", {{"latency_ms", {{"min", 3000}, {"max", 3000}}}});
  std::vector<std::future<net::client_response>> slow;
  for (int i = 0; i < 4; ++i)
    slow.push_back(sim.graph_async("GET", inbox(), token));
  CAF_REQUIRE(eventually([&] { return stat("/in_flight") == 4; }));
  auto fifth = get(inbox());
  CAF_CHECK_EQUAL(fifth.status, 429u);
  CAF_CHECK_EQUAL(error_code(fifth), "ApplicationThrottled");
  CAF_CHECK(has_graph_error_shape(fifth));
  CAF_CHECK_EQUAL(body(fifth)["error"].value("message", ""),
                  "Application is over its MailboxConcurrency limit.");
  auto wait = retry_after(fifth);
  CAF_REQUIRE(wait.has_value());
  CAF_CHECK_GREATER(*wait, 0);
  // Meanwhile another mailbox of the same app, and the same mailbox for another app,
  // are not limited (they are delayed like every Graph call).
  auto other_mailbox = sim.graph_async("GET", inbox_of(team), token);
  auto other_app_call = sim.graph_async("GET", inbox(), other_token);
  CAF_REQUIRE(eventually([&] { return stat("/in_flight") == 6; }));
  CAF_CHECK_EQUAL(get("/users/" + mailbox + "/messages").status, 429u);
  for (auto& f : slow)
    CAF_CHECK_EQUAL(f.get().status, 200u);
  CAF_CHECK_EQUAL(other_mailbox.get().status, 200u);
  CAF_CHECK_EQUAL(other_app_call.get().status, 200u);
  auto s = stats();
  CAF_CHECK_EQUAL(s["throttled"]["concurrency"], 2);
  CAF_CHECK_EQUAL(s["throttled"]["request_rate"], 0);
  CAF_CHECK_EQUAL(s["in_flight"], 0);
  // With the four done, the mailbox takes requests again.
  sim.control("DELETE", "/faults");
  CAF_CHECK_EQUAL(get(inbox()).status, 200u);
}

CAF_TEST(the default fetch rate is 25 distinct messages per 60 seconds) {
  auto s = stats();
  CAF_CHECK_EQUAL(s["fetch_rate"]["limit"], 25);
  CAF_CHECK_EQUAL(s["fetch_rate"]["window_s"], 60.0);
  auto ids = deliver(mailbox, 26);
  for (int i = 0; i < 25; ++i)
    CAF_CHECK_EQUAL(download(mailbox, ids[i]), 200u);
  CAF_CHECK_EQUAL(violations(), 0u);
  CAF_CHECK_EQUAL(download(mailbox, ids[25]), 200u);
  CAF_CHECK_EQUAL(violations(), 1u);
}

CAF_TEST(the default request rate is 10000 per mailbox) {
  // Exchange allows 10,000 requests per (app, mailbox) per 10 minutes.
  unsigned refused = 0;
  for (int i = 0; i < 10'000; ++i)
    if (get(inbox()).status != 200) ++refused;
  CAF_CHECK_EQUAL(refused, 0u);
  auto over = get(inbox());
  CAF_CHECK_EQUAL(over.status, 429u);
  CAF_CHECK_EQUAL(error_code(over), "ApplicationThrottled");
  CAF_CHECK_EQUAL(stat("/throttled/request_rate"), 1);
  CAF_CHECK_EQUAL(get(inbox_of(team)).status, 200u);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(graph_sim_limits_rate_tests, request_rate_fixture)

CAF_TEST(the request after the rate limit gets 429 with a Retry After header) {
  for (int i = 0; i < 5; ++i)
    CAF_CHECK_EQUAL(get(inbox()).status, 200u);
  auto sixth = get(inbox());
  CAF_CHECK_EQUAL(sixth.status, 429u);
  CAF_CHECK_EQUAL(error_code(sixth), "ApplicationThrottled");
  CAF_CHECK(has_graph_error_shape(sixth));
  auto wait = retry_after(sixth);
  CAF_REQUIRE(wait.has_value());
  CAF_CHECK_GREATER(*wait, 590);
  CAF_CHECK_LESS_OR_EQUAL(*wait, 601);
  CAF_CHECK_EQUAL(stat("/throttled/request_rate"), 1);
  // Refused requests are counted as 429s again; another mailbox has its own budget.
  CAF_CHECK_EQUAL(get(inbox()).status, 429u);
  CAF_CHECK_EQUAL(stat("/throttled/request_rate"), 2);
  CAF_CHECK_EQUAL(get(inbox_of(team)).status, 200u);
  CAF_CHECK_EQUAL(stat("/throttled/concurrency"), 0);
  // Refusals are counted under the endpoint that was asked for.
  CAF_CHECK_EQUAL(stat("/requests/list_messages/429"), 2);
  CAF_CHECK_EQUAL(stat("/requests/list_messages/200"), 6);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(graph_sim_limits_app_tests, app_rate_fixture)

CAF_TEST(the app limit counts requests to every mailbox together) {
  CAF_CHECK_EQUAL(get(inbox()).status, 200u);
  CAF_CHECK_EQUAL(get(inbox_of(team)).status, 200u);
  CAF_CHECK_EQUAL(get(inbox()).status, 200u);
  CAF_CHECK_EQUAL(get(inbox_of(team)).status, 200u);
  // Each mailbox is far below its own limit; the app is at its limit.
  auto fifth = get(inbox_of(team));
  CAF_CHECK_EQUAL(fifth.status, 429u);
  CAF_CHECK_EQUAL(error_code(fifth), "ApplicationThrottled");
  CAF_CHECK(has_graph_error_shape(fifth));
  auto wait = retry_after(fifth);
  CAF_REQUIRE(wait.has_value());
  CAF_CHECK_GREATER(*wait, 590);
  CAF_CHECK_LESS_OR_EQUAL(*wait, 601);
  CAF_CHECK_EQUAL(stat("/throttled/app_rate"), 1);
  CAF_CHECK_EQUAL(stat("/throttled/request_rate"), 0);
  // Another app has its own.
  auto other_app = sim.register_app();
  std::string other_token = sim.sign_in(other_app, mailbox).at("access_token");
  CAF_CHECK_EQUAL(sim.graph("GET", inbox(), other_token).status, 200u);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(graph_sim_limits_window_tests, short_window_fixture)

CAF_TEST(the request rate window slides) {
  for (int i = 0; i < 3; ++i)
    CAF_CHECK_EQUAL(get(inbox()).status, 200u);
  CAF_CHECK_EQUAL(get(inbox()).status, 429u);
  // Refused requests do not use the budget, so polling until the window has moved on
  // is harmless; the deadline bounds it.
  CAF_CHECK(
      eventually([&] { return get(inbox()).status == 200; }, std::chrono::seconds(5)));
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(graph_sim_limits_fetch_tests, fetch_rate_fixture)

CAF_TEST(downloads beyond the fetch rate are counted but not refused) {
  auto s = stats();
  CAF_CHECK_EQUAL(s["fetch_rate"]["limit"], 3);
  CAF_CHECK_EQUAL(s["fetch_rate"]["window_s"], 600.0);
  auto ids = deliver(mailbox, 5);
  for (int i = 0; i < 3; ++i)
    CAF_CHECK_EQUAL(download(mailbox, ids[i]), 200u);
  CAF_CHECK_EQUAL(violations(), 0u);
  CAF_CHECK_EQUAL(download(mailbox, ids[3]), 200u);
  s = stats();
  CAF_CHECK_EQUAL(s["fetch_rate"]["violations"], 1);
  CAF_CHECK_EQUAL(s["fetch_rate"]["violations_by_mailbox"], (json{{mailbox, 1}}));
  // Downloading one already downloaded in the window is no violation.
  CAF_CHECK_EQUAL(download(mailbox, ids[0]), 200u);
  CAF_CHECK_EQUAL(download(mailbox, ids[3]), 200u);
  CAF_CHECK_EQUAL(violations(), 1u);
  // Another distinct one is.
  CAF_CHECK_EQUAL(download(mailbox, ids[4]), 200u);
  CAF_CHECK_EQUAL(violations(), 2u);
  // Each mailbox has its own window.
  auto team_ids = deliver(team, 3);
  for (const auto& id : team_ids)
    CAF_CHECK_EQUAL(download(team, id), 200u);
  s = stats();
  CAF_CHECK_EQUAL(s["fetch_rate"]["violations"], 2);
  CAF_CHECK_EQUAL(s["fetch_rate"]["violations_by_mailbox"], (json{{mailbox, 2}}));
  CAF_CHECK_EQUAL(s["downloads"], 10);
  CAF_CHECK_EQUAL(s["requests"]["get_message_value"]["200"], 10);
  CAF_CHECK_EQUAL(s["throttled"]["concurrency"], 0);
  CAF_CHECK_EQUAL(s["throttled"]["request_rate"], 0);
}

CAF_TEST_FIXTURE_SCOPE_END()

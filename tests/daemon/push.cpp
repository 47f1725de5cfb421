// Change notifications end to end: exconnectd subscribes each mailbox it may at
// graph-sim, takes new mail within seconds of its notification, refuses notifications
// that are not its subscription's, renews before expiry, catches up after a missed
// notification without losing or doubling mail, and keeps polling a mailbox Graph will
// not subscribe.
#define CAF_SUITE daemon_push
#include <caf/test/unit_test.hpp>

#include "ingest_fixture.hpp"

#include "net/time_format.hpp"

#include <algorithm>
#include <set>
#include <thread>

using nlohmann::json;

namespace {

struct push_fixture : ingest_daemon_fixture {
  push_fixture() {
    // Every mailbox polls once at its start, then every 10 minutes: mail within
    // seconds is the notifications' doing.
    daemon_args = {"--push-notifications", "on", "--poll-interval", "600",
                   "--push-poll-interval", "600"};
  }

  /// graph-sim's live subscriptions of a mailbox.
  std::vector<json> subscriptions_of(const std::string& address) {
    std::vector<json> out;
    auto all = sim.control("GET", "/subscriptions"); // kept: the loop walks into it
    for (const auto& s : all.at("subscriptions"))
      if (s.at("mailbox") == address && !s.at("expired").get<bool>()) out.push_back(s);
    return out;
  }

  /// Connects the mailbox and waits until it is subscribed; its view.
  json connect_subscribed(const std::string& key, const std::string& address) {
    auto id = connect(key, address).at("id").get<std::string>();
    auto view = wait_mailbox(key, id, [](const json& v) {
      return v.at("push").is_object() && v.at("push").at("subscribed") == true;
    });
    CAF_REQUIRE(view.at("push").is_object());
    CAF_REQUIRE_EQUAL(view.at("push").at("subscribed"), true);
    return view;
  }

  std::int64_t converted(const std::string& key, const std::string& id) {
    return mailbox(key, id).at("counters").value("converted", 0);
  }

  /// Every ticket's first Message-ID, to find a mail taken twice.
  std::size_t distinct_messages(const std::string& key) {
    std::set<std::string> ids;
    for (const auto& t : tickets(key))
      ids.insert(t.at("comments")[0].at("internet_message_id").get<std::string>());
    return ids.size();
  }

  net::client_response notify(const std::string& mailbox, const json& body,
                              const std::string& path = "/graph/notifications") {
    return call("POST", path + "?mailbox=" + mailbox, {}, body.dump(),
                {{"Content-Type", "application/json"}});
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(daemon_push_tests, push_fixture)

CAF_TEST(a subscribed mailbox turns new mail into a ticket within two seconds) {
  start_daemon();
  auto key = create_account("A").at("api_key").get<std::string>();
  // Four mailboxes, 25 mails each: Exchange's fetch rate (25 a minute) holds for each.
  std::vector<std::string> addresses, ids;
  for (int m = 0; m < 4; ++m) {
    addresses.push_back("box" + std::to_string(m) + "@contoso.test");
    auto view = connect_subscribed(key, addresses.back());
    CAF_CHECK(view.at("push").at("expires_at").is_string());
    ids.push_back(view.at("id").get<std::string>());
    CAF_CHECK_EQUAL(subscriptions_of(addresses.back()).size(), 1u);
  }
  std::vector<double> latency;
  for (int i = 0; i < 100; ++i) {
    auto m = static_cast<std::size_t>(i % 4);
    auto start = std::chrono::steady_clock::now();
    sim.deliver(addresses[m],
                test::sample_mail("push-" + std::to_string(i), addresses[m]));
    bool taken = test::eventually([&] { return converted(key, ids[m]) == i / 4 + 1; },
                                  std::chrono::seconds(10), std::chrono::milliseconds(5));
    CAF_REQUIRE(taken);
    latency.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(latency.begin(), latency.end());
  auto p50 = latency[49], p99 = latency[98];
  CAF_MESSAGE("arrival to ticket over 100 mails: p50 "
              << p50 << " s, p99 " << p99 << " s, max " << latency.back() << " s");
  CAF_CHECK_LESS(p99, 2.0);
  CAF_CHECK_EQUAL(distinct_messages(key), 100u);
  auto view = mailbox(key, ids[0]);
  CAF_CHECK(view.at("push").at("last_notification_at").is_string());
  // Its public URL is plain HTTP (graph-sim takes it on loopback; Microsoft would not).
  CAF_CHECK_NOT_EQUAL(daemon_logs().find("Microsoft delivers them only to https:// URLs"),
                      std::string::npos);
}

CAF_TEST(the notification endpoint answers graph and refuses what is not its own) {
  start_daemon();
  auto key = create_account("A").at("api_key").get<std::string>();
  auto id = connect_subscribed(key, "support@contoso.test").at("id").get<std::string>();
  auto sub = subscriptions_of("support@contoso.test").at(0).at("id").get<std::string>();
  // The validation handshake: the token back as text.
  auto check = call("POST", "/graph/notifications?validationToken=hello%20graph", {});
  CAF_CHECK_EQUAL(check.status, 200u);
  CAF_CHECK_EQUAL(check.body, "hello graph");
  CAF_CHECK_EQUAL(check.header("Content-Type").rfind("text/plain", 0), 0u);
  json wrong = {{"value",
                 {{{"subscriptionId", sub},
                   {"clientState", "not-the-secret"},
                   {"changeType", "created"}}}}};
  auto refused = notify(id, wrong);
  CAF_CHECK_EQUAL(refused.status, 403u);
  CAF_CHECK_EQUAL(error_code(refused), "forbidden");
  json other = wrong;
  other["value"][0]["subscriptionId"] = "another-subscription";
  CAF_CHECK_EQUAL(notify(id, other).status, 403u);
  CAF_CHECK_EQUAL(notify("mbx_nosuchmailbox", wrong).status, 404u);
  CAF_CHECK_EQUAL(notify(id, json{{"value", "x"}}).status, 400u);
  CAF_CHECK_EQUAL(call("POST", "/graph/notifications", {}, "{}").status, 400u);
  CAF_CHECK_EQUAL(call("GET", "/graph/notifications?mailbox=" + id, {}).status, 405u);
  // Refused notifications started no round: nothing came, nothing was taken.
  CAF_CHECK_EQUAL(converted(key, id), 0);
  auto metrics = call("GET", "/metrics", "").body;
  CAF_CHECK_NOT_EQUAL(
      metrics.find("exconnect_push_notifications_total{outcome=\"refused\"} 2"),
      std::string::npos);
}

CAF_TEST(after a missed notification a delta round takes every mail once) {
  start_daemon();
  auto key = create_account("A").at("api_key").get<std::string>();
  auto id = connect_subscribed(key, "support@contoso.test").at("id").get<std::string>();
  auto first = sim.deliver("support@contoso.test", test::sample_mail("seen"));
  wait_labelled("support@contoso.test", {first});
  // Graph loses notifications: mail arrives unseen (the next poll is minutes away).
  sim.control("PUT", "/notifications", {{"drop", true}});
  std::vector<std::string> unseen;
  for (int i = 0; i < 5; ++i)
    unseen.push_back(sim.deliver("support@contoso.test",
                                 test::sample_mail("unseen-" + std::to_string(i))));
  sim.control("PUT", "/notifications", {{"drop", false}});
  CAF_CHECK_EQUAL(converted(key, id), 1);
  // Graph says so: the lifecycle event brings a delta round.
  auto sub = subscriptions_of("support@contoso.test").at(0).at("id").get<std::string>();
  sim.control("POST", "/subscriptions/" + sub + "/lifecycle", {{"event", "missed"}});
  wait_labelled("support@contoso.test", unseen, std::chrono::seconds(10));
  CAF_CHECK_EQUAL(converted(key, id), 6);
  // Graph removes the subscription: a new one, and a round for what came meanwhile.
  sim.control("PUT", "/notifications", {{"drop", true}});
  auto during = sim.deliver("support@contoso.test", test::sample_mail("during"));
  sim.control("PUT", "/notifications", {{"drop", false}});
  sim.control("POST", "/subscriptions/" + sub + "/lifecycle",
              {{"event", "subscriptionRemoved"}});
  wait_labelled("support@contoso.test", {during}, std::chrono::seconds(10));
  CAF_CHECK(test::eventually(
      [&] {
        auto now = subscriptions_of("support@contoso.test");
        return now.size() == 1 && now[0].at("id") != sub;
      },
      std::chrono::seconds(10), std::chrono::milliseconds(50)));
  auto after = sim.deliver("support@contoso.test", test::sample_mail("after"));
  wait_labelled("support@contoso.test", {after}, std::chrono::seconds(10));
  CAF_CHECK_EQUAL(converted(key, id), 8);
  CAF_CHECK_EQUAL(distinct_messages(key), 8u);
}

CAF_TEST(a subscription is renewed before it expires) {
  start_daemon({"--subscription-lifetime", "12"}); // renewed after 8 s
  auto key = create_account("A").at("api_key").get<std::string>();
  auto id = connect_subscribed(key, "support@contoso.test").at("id").get<std::string>();
  auto before = subscriptions_of("support@contoso.test").at(0);
  auto expires = *net::parse_rfc3339(before.at("expires").get<std::string>());
  // Renewed (same id, a later expiry) before the first expiry comes.
  json renewed;
  CAF_CHECK(test::eventually(
      [&] {
        auto now = subscriptions_of("support@contoso.test");
        if (now.size() != 1) return false;
        renewed = now[0];
        return *net::parse_rfc3339(renewed.at("expires").get<std::string>()) > expires;
      },
      std::chrono::seconds(15), std::chrono::milliseconds(100)));
  CAF_CHECK_EQUAL(renewed.at("id"), before.at("id"));
  CAF_CHECK_LESS(std::chrono::system_clock::now(), expires);
  // Past the first expiry (the condition itself, not a synchronisation), mail still
  // comes by notification.
  std::this_thread::sleep_until(std::chrono::system_clock::time_point{expires} +
                                std::chrono::seconds{1});
  auto mail = sim.deliver("support@contoso.test", test::sample_mail("late"));
  wait_labelled("support@contoso.test", {mail}, std::chrono::seconds(5));
  CAF_CHECK_EQUAL(converted(key, id), 1);
}

CAF_TEST(deleting a mailbox deletes its subscription at graph) {
  start_daemon();
  auto key = create_account("A").at("api_key").get<std::string>();
  auto id = connect_subscribed(key, "support@contoso.test").at("id").get<std::string>();
  CAF_REQUIRE_EQUAL(subscriptions_of("support@contoso.test").size(), 1u);
  auto res = call("DELETE", "/api/v1/mailboxes/" + id, key);
  CAF_CHECK_EQUAL(res.status, 204u);
  // Gone before the answer: no notification of it goes out any more.
  CAF_CHECK(subscriptions_of("support@contoso.test").empty());
  json item = {{"subscriptionId", "s"}, {"clientState", "c"}, {"changeType", "created"}};
  CAF_CHECK_EQUAL(notify(id, {{"value", {item}}}).status, 404u);
}

CAF_TEST(a shared mailbox behind a delegated sign in keeps polling) {
  start_daemon({"--poll-interval", "1"});
  sim.create_mailbox("agent@contoso.test");
  sim.create_mailbox("shared@contoso.test", {{"shared", true},
                                             {"delegates", {"agent@contoso.test"}},
                                             {"sign_in_as", "agent@contoso.test"}});
  auto key = create_account("A").at("api_key").get<std::string>();
  auto id = connect(key, "shared@contoso.test").at("id").get<std::string>();
  auto view = wait_mailbox(key, id, [](const json& v) {
    return v.at("push").is_object() && v.at("push").at("error").is_string();
  });
  CAF_CHECK_EQUAL(view.at("push").at("subscribed"), false);
  CAF_CHECK_NOT_EQUAL(view.at("push").at("error").get<std::string>().find("refused"),
                      std::string::npos);
  CAF_CHECK(subscriptions_of("shared@contoso.test").empty());
  // Its 1-second polls go on: mail is taken without any notification.
  auto mail = sim.deliver("shared@contoso.test",
                          test::sample_mail("shared-1", "shared@contoso.test"));
  wait_labelled("shared@contoso.test", {mail}, std::chrono::seconds(10));
}

CAF_TEST_FIXTURE_SCOPE_END()

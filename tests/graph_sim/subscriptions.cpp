// graph-sim's change notifications: creating, renewing and deleting subscriptions with
// Microsoft's rules and validation handshake, notifications POSTed and retried until
// answered in time, the drop and delay switches, and lifecycle events.
#define CAF_SUITE graph_sim_subscriptions
#include <caf/test/unit_test.hpp>

#include "fixture.hpp"

#include "net/http_server.hpp"
#include "net/time_format.hpp"
#include "net/url.hpp"

#include <deque>
#include <mutex>

using nlohmann::json;

namespace {

/// A notification endpoint in the test process (plain HTTP on loopback): it answers
/// validation requests with their token and notifications with the statuses queued in
/// `answers` (0: no answer at all), then 202; it keeps every call.
struct receiver {
  struct received {
    std::string target;
    std::string body;
  };
  std::mutex mutex;
  std::vector<received> calls;
  std::deque<unsigned> answers;
  bool refuse_validation = false;
  std::vector<net::responder_ptr> held; ///< calls never answered
  std::unique_ptr<net::http_server> server;

  receiver() {
    net::server_options o;
    server = std::make_unique<net::http_server>(
        o, [this](net::request&& req, net::responder_ptr out) {
          std::lock_guard<std::mutex> lock{mutex};
          auto [path, query] = net::split_target(req.target());
          calls.push_back({std::string{req.target()}, req.body()});
          auto params = net::parse_query(query);
          auto token = params ? net::find_param(*params, "validationToken")
                              : std::optional<std::string>{};
          if (token) {
            net::response res{refuse_validation ? boost::beast::http::status::bad_request
                                                : boost::beast::http::status::ok,
                              11};
            res.set(boost::beast::http::field::content_type, "text/plain");
            res.body() = *token;
            return out->send(std::move(res));
          }
          unsigned status = 202;
          if (!answers.empty()) {
            status = answers.front();
            answers.pop_front();
          }
          if (status == 0) return held.push_back(std::move(out));
          out->send(net::response{static_cast<boost::beast::http::status>(status), 11});
        });
    server->start();
  }
  ~receiver() {
    {
      // Answered and let go while the server runs: a held call must not outlive it.
      std::lock_guard<std::mutex> lock{mutex};
      for (auto& out : held)
        out->send(net::response{boost::beast::http::status::service_unavailable, 11});
      held.clear();
    }
    server->stop();
  }

  std::string url(const std::string& path = "/graph/notifications") const {
    return "http://127.0.0.1:" + std::to_string(server->port()) + path;
  }

  /// The notification bodies received so far (validation requests left out).
  std::vector<json> notifications() {
    std::lock_guard<std::mutex> lock{mutex};
    std::vector<json> out;
    for (const auto& c : calls)
      if (c.target.find("validationToken=") == std::string::npos)
        out.push_back(json::parse(c.body, nullptr, false));
    return out;
  }
  std::size_t validations() {
    std::lock_guard<std::mutex> lock{mutex};
    std::size_t n = 0;
    for (const auto& c : calls)
      n += c.target.find("validationToken=") != std::string::npos ? 1 : 0;
    return n;
  }
};

struct subscription_fixture : sim_fixture {
  receiver endpoint;

  subscription_fixture() : sim_fixture({"--subscription-max-minutes", "4230"}) {}

  std::string in_minutes(int minutes) {
    auto now =
        *net::parse_rfc3339(sim.control("GET", "/clock").at("now").get<std::string>());
    return net::format_rfc3339(now + std::chrono::minutes{minutes});
  }

  json request_body(const std::string& address = "support@contoso.test") {
    return {{"changeType", "created"},
            {"notificationUrl", endpoint.url()},
            {"lifecycleNotificationUrl", endpoint.url("/graph/lifecycle")},
            {"resource", "users/" + address + "/mailFolders('inbox')/messages"},
            {"expirationDateTime", in_minutes(60)},
            {"clientState", "secret-state"}};
  }

  net::client_response subscribe(const json& body, const std::string& with = {}) {
    return sim.graph("POST", "/subscriptions", with.empty() ? token : with, body.dump());
  }

  template <class Predicate>
  bool soon(Predicate p, std::chrono::milliseconds within = std::chrono::seconds(10)) {
    return test::eventually(p, within, std::chrono::milliseconds(20));
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(graph_sim_subscriptions_tests, subscription_fixture)

CAF_TEST(a validated subscription notifies each new inbox message) {
  auto res = subscribe(request_body());
  CAF_REQUIRE_EQUAL(res.status, 201u);
  auto sub = body(res);
  CAF_CHECK_EQUAL(endpoint.validations(), 2u); // the notification and lifecycle URLs
  CAF_CHECK_EQUAL(sub["changeType"], "created");
  CAF_CHECK_EQUAL(sub["notificationUrl"], endpoint.url());
  auto id = sub["id"].get<std::string>();
  auto mail = sim.deliver(mailbox, test::sample_mail("n1"));
  sim.deliver(mailbox, test::sample_mail("elsewhere"), {{"folder", "archive"}});
  CAF_REQUIRE(soon([&] { return endpoint.notifications().size() >= 1; }));
  auto n = endpoint.notifications()[0];
  CAF_REQUIRE(n.contains("value"));
  CAF_REQUIRE_EQUAL(n["value"].size(), 1u);
  auto item = n["value"][0];
  CAF_CHECK_EQUAL(item["subscriptionId"], id);
  CAF_CHECK_EQUAL(item["clientState"], "secret-state");
  CAF_CHECK_EQUAL(item["changeType"], "created");
  CAF_CHECK_EQUAL(item["resourceData"]["id"], mail);
  CAF_CHECK(item["tenantId"].is_string());
  CAF_CHECK(item["subscriptionExpirationDateTime"].is_string());
  // Its own label (an update) and mail in another folder are not notified.
  sim.graph("PATCH", message_path(mail), token, R"({"categories":["Zendesk"]})");
  sim.deliver(mailbox, test::sample_mail("n2"));
  CAF_CHECK(soon([&] { return endpoint.notifications().size() >= 2; }));
  CAF_CHECK_EQUAL(endpoint.notifications().size(), 2u);
  auto listed = body(sim.graph("GET", "/subscriptions", token));
  CAF_CHECK_EQUAL(listed["value"].size(), 1u);
}

CAF_TEST(a subscription whose endpoint fails the handshake is not created) {
  endpoint.refuse_validation = true;
  auto res = subscribe(request_body());
  CAF_CHECK_EQUAL(res.status, 400u);
  CAF_CHECK_EQUAL(error_code(res), "ValidationError");
  CAF_CHECK(has_graph_error_shape(res));
  CAF_CHECK_EQUAL(sim.control("GET", "/subscriptions").at("subscriptions").size(), 0u);
  // No one listening at all.
  auto nobody = request_body();
  nobody["notificationUrl"] = "http://127.0.0.1:1/graph/notifications";
  endpoint.refuse_validation = false;
  CAF_CHECK_EQUAL(error_code(subscribe(nobody)), "ValidationError");
}

CAF_TEST(what microsoft refuses graph sim refuses) {
  auto status = [&](const std::function<void(json&)>& edit) {
    auto b = request_body();
    edit(b);
    auto res = subscribe(b);
    CAF_CHECK(res.status == 201u || has_graph_error_shape(res));
    return res.status;
  };
  CAF_CHECK_EQUAL(status([](json& b) { b["clientState"] = std::string(129, 'x'); }),
                  400u);
  CAF_CHECK_EQUAL(status([&](json& b) { b["expirationDateTime"] = in_minutes(4231); }),
                  400u);
  CAF_CHECK_EQUAL(status([&](json& b) { b["expirationDateTime"] = in_minutes(-1); }),
                  400u);
  CAF_CHECK_EQUAL(
      status([](json& b) { b["notificationUrl"] = "http://example.test/notify"; }), 400u);
  CAF_CHECK_EQUAL(status([](json& b) { b["changeType"] = "moved"; }), 400u);
  CAF_CHECK_EQUAL(status([](json& b) { b["resource"] = "groups/x/threads"; }), 400u);
  CAF_CHECK_EQUAL(status([](json& b) { b.erase("expirationDateTime"); }), 400u);
  CAF_CHECK_EQUAL(sim.graph("POST", "/subscriptions", token, "not json").status, 400u);
  // Delegated: only the signed-in user's own mailbox, not one shared with them.
  sim.create_mailbox("shared@contoso.test",
                     {{"shared", true}, {"delegates", {"support@contoso.test"}}});
  sim.create_mailbox("other@contoso.test");
  CAF_CHECK_EQUAL(subscribe(request_body("shared@contoso.test")).status, 403u);
  CAF_CHECK_EQUAL(subscribe(request_body("other@contoso.test")).status, 403u);
  CAF_CHECK_EQUAL(
      sim.graph("POST", "/subscriptions", "nope", request_body().dump()).status, 401u);
  CAF_CHECK_EQUAL(status([&](json& b) { b["expirationDateTime"] = in_minutes(4229); }),
                  201u);
}

CAF_TEST(an application token subscribes to any mailbox it may open) {
  sim.create_mailbox("shared@contoso.test", {{"shared", true}});
  sim.control("PATCH", "/apps/" + app.client_id, {{"admin_consented", true}});
  auto app_token = body(sim.app_token(app)).at("access_token").get<std::string>();
  auto res = subscribe(request_body("shared@contoso.test"), app_token);
  CAF_CHECK_EQUAL(res.status, 201u);
  sim.deliver("shared@contoso.test", test::sample_mail("s1", "shared@contoso.test"));
  CAF_CHECK(soon([&] { return endpoint.notifications().size() == 1; }));
}

CAF_TEST(renewal deletion and lookups follow the subscription rules) {
  auto id = body(subscribe(request_body())).at("id").get<std::string>();
  auto path = "/subscriptions/" + id;
  auto renewed = sim.graph("PATCH", path, token,
                           json{{"expirationDateTime", in_minutes(4000)}}.dump());
  CAF_CHECK_EQUAL(renewed.status, 200u);
  CAF_CHECK_EQUAL(at(body(renewed), "/expirationDateTime"), in_minutes(4000));
  CAF_CHECK_EQUAL(sim.graph("PATCH", path, token,
                            json{{"expirationDateTime", in_minutes(5000)}}.dump())
                      .status,
                  400u);
  CAF_CHECK_EQUAL(sim.graph("GET", path, token).status, 200u);
  CAF_CHECK_EQUAL(sim.graph("POST", path + "/reauthorize", token).status, 200u);
  // Expired: gone for Graph, and no notification goes out.
  sim.control("POST", "/clock/advance", {{"seconds", 4001 * 60}});
  token = sim.sign_in(app, mailbox).at("access_token"); // the old one expired too
  CAF_CHECK_EQUAL(sim.graph("GET", path, token).status, 404u);
  CAF_CHECK_EQUAL(
      sim.graph("PATCH", path, token, json{{"expirationDateTime", in_minutes(10)}}.dump())
          .status,
      404u);
  sim.deliver(mailbox, test::sample_mail("late"));
  auto fresh = body(subscribe(request_body())).at("id").get<std::string>();
  CAF_CHECK_EQUAL(sim.graph("DELETE", "/subscriptions/" + fresh, token).status, 204u);
  CAF_CHECK_EQUAL(sim.graph("DELETE", "/subscriptions/" + fresh, token).status, 404u);
  sim.deliver(mailbox, test::sample_mail("after-delete"));
  auto stats = sim.control("GET", "/notifications").at("stats");
  CAF_CHECK_EQUAL(stats.at("attempts"), 0);
  CAF_CHECK(endpoint.notifications().empty());
}

CAF_TEST(a notification not answered 2xx in time is sent again) {
  endpoint.answers = {500, 0, 202}; // an error, no answer (3 s), then accepted
  subscribe(request_body());
  sim.deliver(mailbox, test::sample_mail("retry"));
  CAF_REQUIRE(soon([&] { return endpoint.notifications().size() >= 3; },
                   std::chrono::seconds(20)));
  CAF_CHECK(soon([&] {
    return sim.control("GET", "/notifications").at("stats").at("delivered") == 1;
  }));
  auto stats = sim.control("GET", "/notifications").at("stats");
  CAF_CHECK_EQUAL(stats.at("failed_attempts"), 2);
  CAF_CHECK_EQUAL(stats.at("attempts"), 3);
  auto all = endpoint.notifications();
  CAF_CHECK_EQUAL(all[0], all[2]); // the same notification each time
}

CAF_TEST(the switches drop or delay notifications) {
  subscribe(request_body());
  sim.control("PUT", "/notifications", {{"drop", true}});
  sim.deliver(mailbox, test::sample_mail("dropped"));
  CAF_CHECK(soon([&] {
    return sim.control("GET", "/notifications").at("stats").at("dropped") == 1;
  }));
  sim.control("PUT", "/notifications", {{"drop", false}, {"delay_ms", 1500}});
  auto sent = std::chrono::steady_clock::now();
  sim.deliver(mailbox, test::sample_mail("delayed"));
  CAF_REQUIRE(soon([&] { return endpoint.notifications().size() == 1; }));
  CAF_CHECK_GREATER_OR_EQUAL(std::chrono::steady_clock::now() - sent,
                             std::chrono::milliseconds{1500});
  auto bad =
      sim.graph("PUT", sim.base() + "/_sim/notifications", "", R"({"drop":"yes"})");
  CAF_CHECK_EQUAL(bad.status, 400u);
}

CAF_TEST(lifecycle events go to the lifecycle url) {
  auto id = body(subscribe(request_body())).at("id").get<std::string>();
  sim.control("POST", "/subscriptions/" + id + "/lifecycle",
              {{"event", "reauthorizationRequired"}});
  sim.control("POST", "/subscriptions/" + id + "/lifecycle", {{"event", "missed"}});
  CAF_REQUIRE(soon([&] { return endpoint.notifications().size() == 2; }));
  std::lock_guard<std::mutex> lock{endpoint.mutex};
  std::vector<std::string> events;
  for (const auto& c : endpoint.calls)
    if (c.target.rfind("/graph/lifecycle", 0) == 0 &&
        c.target.find("validationToken") == std::string::npos) {
      auto item = json::parse(c.body)["value"][0];
      CAF_CHECK_EQUAL(item["subscriptionId"], id);
      CAF_CHECK_EQUAL(item["clientState"], "secret-state");
      events.push_back(item["lifecycleEvent"]);
    }
  CAF_CHECK_EQUAL(events,
                  (std::vector<std::string>{"reauthorizationRequired", "missed"}));
  auto listed = sim.control("GET", "/subscriptions").at("subscriptions");
  CAF_CHECK_EQUAL(listed[0]["needs_reauthorization"], true);
}

CAF_TEST(subscription removed ends the subscription) {
  auto id = body(subscribe(request_body())).at("id").get<std::string>();
  sim.control("POST", "/subscriptions/" + id + "/lifecycle",
              {{"event", "subscriptionRemoved"}});
  CAF_CHECK_EQUAL(sim.graph("GET", "/subscriptions/" + id, token).status, 404u);
  sim.deliver(mailbox, test::sample_mail("unseen"));
  CAF_REQUIRE(soon([&] { return endpoint.notifications().size() == 1; }));
  auto event = endpoint.notifications()[0];
  CAF_CHECK_EQUAL(at(event, "/value/0/lifecycleEvent"), "subscriptionRemoved");
  // Without a lifecycle URL there is nowhere to send one.
  auto b = request_body();
  b.erase("lifecycleNotificationUrl");
  auto plain = body(subscribe(b)).at("id").get<std::string>();
  bool refused = false;
  try {
    sim.control("POST", "/subscriptions/" + plain + "/lifecycle", {{"event", "missed"}});
  } catch (const std::runtime_error&) {
    refused = true;
  }
  CAF_CHECK(refused);
}

CAF_TEST_FIXTURE_SCOPE_END()

// Webhooks end to end: the account's webhook is checked, stored with its secret
// hidden and removed; each change is POSTed signed with its event id, in order per
// ticket; a failing receiver gets the same event again until it is parked, and a retry
// sends it once the receiver works. (The chaos run adds SIGKILLs and a receiver that
// fails 20 % of the calls: tools/chaos.)
#define CAF_SUITE daemon_webhooks
#include <caf/test/unit_test.hpp>

#include "eventually.hpp"
#include "ingest_fixture.hpp"

#include "net/http_server.hpp"
#include "net/webhook_signature.hpp"

#include <atomic>
#include <mutex>

using nlohmann::json;

namespace {

const std::string secret = "a-webhook-secret-of-32-characters";

/// A webhook receiver in the test process (plain HTTP on loopback): answers every call
/// with `status` and keeps each call with its headers.
struct receiver {
  struct call {
    std::string event_id;
    std::string signature;
    std::string body;
    json event;
  };
  std::mutex mutex;
  std::vector<call> calls;
  std::atomic<unsigned> status{200};
  std::unique_ptr<net::http_server> server;

  receiver() {
    server = std::make_unique<net::http_server>(
        net::server_options{}, [this](net::request&& req, net::responder_ptr out) {
          {
            std::lock_guard<std::mutex> lock{mutex};
            calls.push_back({std::string{req["X-Exconnect-Event-Id"]},
                             std::string{req["X-Exconnect-Signature"]}, req.body(),
                             json::parse(req.body(), nullptr, false)});
          }
          out->send(
              net::response{static_cast<boost::beast::http::status>(status.load()), 11});
        });
    server->start();
  }
  ~receiver() { server->stop(); }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server->port()) + "/events";
  }

  std::vector<call> received() {
    std::lock_guard<std::mutex> lock{mutex};
    return calls;
  }

  /// The calls of events of `type` (answered or not).
  std::vector<call> of_type(const std::string& type) {
    std::vector<call> out;
    for (auto& c : received())
      if (c.event.is_object() && c.event.value("type", "") == type) out.push_back(c);
    return out;
  }

  /// Waits until `n` calls of events of `type` came.
  std::vector<call> wait_for(const std::string& type, std::size_t n = 1) {
    std::vector<call> got;
    test::eventually(
        [&] {
          got = of_type(type);
          return got.size() >= n;
        },
        std::chrono::seconds(20), std::chrono::milliseconds(20));
    return got;
  }
};

struct webhook_fixture : ingest_daemon_fixture {
  receiver hook;

  net::client_response patch_account(const std::string& key, const json& body) {
    return call("PATCH", "/api/v1/account", key, body.dump(),
                {{"Content-Type", "application/json"}});
  }

  json set_webhook(const std::string& key) {
    return call_json("PATCH", "/api/v1/account", key,
                     {{"webhook", {{"url", hook.url()}, {"secret", secret}}}});
  }

  json deliveries(const std::string& key, const std::string& query = "") {
    return call_json("GET", "/api/v1/webhook/deliveries" + query, key);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(daemon_webhooks_tests, webhook_fixture)

CAF_TEST(a webhook is checked and stored without showing its secret and removed) {
  start_daemon();
  auto key = create_account("A").at("api_key").get<std::string>();
  struct refused {
    json webhook;
    const char* field;
  };
  const refused bad[] = {
      {{{"url", "http://receiver.example/events"}, {"secret", secret}}, "webhook.url"},
      {{{"url", "http://127.evil.example:80/x"}, {"secret", secret}}, "webhook.url"},
      {{{"url", "ftp://127.0.0.1/x"}, {"secret", secret}}, "webhook.url"},
      {{{"url", "not a url"}, {"secret", secret}}, "webhook.url"},
      {{{"url", hook.url()}, {"secret", "too-short"}}, "webhook.secret"},
      {{{"url", hook.url()}, {"secret", "has a space in it, 123456"}}, "webhook.secret"},
      {{{"url", hook.url()}}, "webhook.secret"},
      {{{"url", hook.url()}, {"secret", secret}, {"extra", 1}}, "webhook.extra"},
      {"https://receiver.example", "webhook"},
  };
  for (const auto& b : bad) {
    // Labels that are fine: a request with a bad webhook changes nothing at all.
    auto res = patch_account(
        key, {{"labels", {{"processed", "Changed"}}}, {"webhook", b.webhook}});
    CAF_CHECK_EQUAL(res.status, 400u);
    auto body = json::parse(res.body, nullptr, false);
    CAF_CHECK_EQUAL(body.at("error").value("field", ""), b.field);
  }
  auto view = call_json("GET", "/api/v1/account", key);
  CAF_CHECK_EQUAL(view.at("labels").at("processed"), "Zendesk");
  CAF_CHECK(view.at("webhook").is_null());

  auto set = set_webhook(key);
  CAF_CHECK_EQUAL(set.at("webhook").at("url"), hook.url());
  CAF_CHECK(set.at("webhook").at("updated_at").is_string());
  auto shown = call("GET", "/api/v1/account", key);
  CAF_CHECK_EQUAL(shown.status, 200u);
  CAF_CHECK(shown.body.find(secret) == std::string::npos);
  CAF_CHECK(shown.body.find("secret") == std::string::npos);
  // An https receiver anywhere is fine.
  auto https = call_json(
      "PATCH", "/api/v1/account", key,
      {{"webhook",
        {{"url", "https://helpdesk.example/hooks/exconnect"}, {"secret", secret}}}});
  CAF_CHECK_EQUAL(https.at("webhook").at("url"),
                  "https://helpdesk.example/hooks/exconnect");
  auto removed = call_json("PATCH", "/api/v1/account", key, {{"webhook", nullptr}});
  CAF_CHECK(removed.at("webhook").is_null());

  // Without a webhook nothing is recorded: a mailbox connected then has no events,
  // the mail after the webhook is back has.
  connect(key, "support@contoso.test");
  set_webhook(key);
  sim.deliver("support@contoso.test",
              mime("Jana <jana@customer.test>", "support@contoso.test", "Printer jammed",
                   "w1@customer.test"));
  auto created = hook.wait_for("ticket.created");
  CAF_REQUIRE_EQUAL(created.size(), 1u);
  for (const auto& c : hook.received())
    CAF_CHECK_NOT_EQUAL(c.event.value("type", ""), "mailbox.status_changed");
}

CAF_TEST(each change is posted signed with its id and a ticket events come in order) {
  start_daemon();
  auto account = create_account("A");
  auto key = account.at("api_key").get<std::string>();
  set_webhook(key);
  auto mbx = connect(key, "support@contoso.test").at("id").get<std::string>();
  auto statuses = hook.wait_for("mailbox.status_changed", 2);
  CAF_REQUIRE_EQUAL(statuses.size(), 2u);
  auto first_status = statuses[0].event.at("data");
  CAF_CHECK(first_status.at("previous_status").is_null());
  CAF_CHECK_EQUAL(first_status.at("status"), "pending_authorization");
  auto connected = statuses[1].event.at("data");
  CAF_CHECK_EQUAL(connected.at("mailbox_id"), mbx);
  CAF_CHECK_EQUAL(connected.at("address"), "support@contoso.test");
  CAF_CHECK_EQUAL(connected.at("previous_status"), "pending_authorization");
  CAF_CHECK_EQUAL(connected.at("status"), "connected");

  sim.deliver("support@contoso.test",
              mime("Jana <jana@customer.test>", "support@contoso.test", "Printer jammed",
                   "w1@customer.test"));
  auto created = hook.wait_for("ticket.created");
  CAF_REQUIRE_EQUAL(created.size(), 1u);
  auto all = tickets(key);
  CAF_REQUIRE_EQUAL(all.size(), 1u);
  auto ticket_id = all[0].at("id").get<std::string>();
  const auto& event = created[0].event;
  CAF_CHECK_EQUAL(event.at("type"), "ticket.created");
  CAF_CHECK_EQUAL(event.at("account_id"), account.at("id"));
  CAF_CHECK_EQUAL(event.at("id"), created[0].event_id);
  CAF_CHECK(event.at("created_at").is_string());
  CAF_CHECK_EQUAL(event.at("data").at("id"), ticket_id);
  CAF_CHECK_EQUAL(event.at("data").at("subject"), "Printer jammed");
  CAF_CHECK(!event.at("data").contains("account_id"));
  // The signature is the body's HMAC with the secret; with another secret it is not.
  CAF_CHECK(
      net::webhook_signature_matches(secret, created[0].body, created[0].signature));
  CAF_CHECK(!net::webhook_signature_matches(secret + "x", created[0].body,
                                            created[0].signature));

  // The customer writes again, an agent answers: comment, comment, then the email.
  sim.deliver("support@contoso.test",
              mime("Jana <jana@customer.test>", "support@contoso.test",
                   "Re: Printer jammed", "w2@customer.test",
                   "In-Reply-To: <w1@customer.test>\r\n"));
  hook.wait_for("comment.added", 1);
  call_json("POST", "/api/v1/tickets/" + ticket_id + "/comments", key,
            {{"body", "We are on it."}}, 202);
  auto sent = hook.wait_for("email.sent");
  CAF_REQUIRE_EQUAL(sent.size(), 1u);
  CAF_CHECK_EQUAL(sent[0].event.at("data").at("ticket_id"), ticket_id);
  CAF_CHECK_EQUAL(sent[0].event.at("data").at("state"), "sent");
  std::vector<std::string> order;
  std::string last;
  for (const auto& c : hook.received()) {
    auto type = c.event.value("type", "");
    if (type == "mailbox.status_changed") continue;
    order.push_back(type);
    CAF_CHECK(net::webhook_signature_matches(secret, c.body, c.signature));
    CAF_CHECK_GREATER(c.event_id, last); // ids grow: the receiver can order by them
    last = c.event_id;
  }
  CAF_CHECK_EQUAL(order, (std::vector<std::string>{"ticket.created", "comment.added",
                                                   "comment.added", "email.sent"}));
  auto comments = hook.of_type("comment.added");
  CAF_REQUIRE_EQUAL(comments.size(), 2u);
  CAF_CHECK_EQUAL(
      comments[0].event.at("data").at("comment").at("author").value("type", ""),
      "customer");
  CAF_CHECK_EQUAL(comments[1].event.at("data").at("comment").at("author").at("type"),
                  "agent");
  CAF_CHECK(deliveries(key).at("deliveries").empty());
}

CAF_TEST(a failing receiver gets the same event again until it is parked and retried) {
  daemon_args = {"--webhook-park-after", "3", "--webhook-retry-max", "1"};
  start_daemon();
  auto key = create_account("A").at("api_key").get<std::string>();
  connect(key, "support@contoso.test");
  hook.status = 500;
  set_webhook(key);
  sim.deliver("support@contoso.test",
              mime("Jana <jana@customer.test>", "support@contoso.test", "Printer jammed",
                   "w1@customer.test"));
  json parked;
  test::eventually(
      [&] {
        parked = deliveries(key, "?state=parked").at("deliveries");
        return parked.size() == 1;
      },
      std::chrono::seconds(20), std::chrono::milliseconds(100));
  CAF_REQUIRE_EQUAL(parked.size(), 1u);
  CAF_CHECK_EQUAL(parked[0].at("type"), "ticket.created");
  CAF_CHECK_EQUAL(parked[0].at("state"), "parked");
  CAF_CHECK_EQUAL(parked[0].at("last_status"), 500);
  CAF_CHECK_GREATER_OR_EQUAL(parked[0].at("attempts").get<int>(), 2);
  auto id = parked[0].at("event_id").get<std::string>();
  auto tries = hook.of_type("ticket.created");
  CAF_CHECK_GREATER_OR_EQUAL(tries.size(), 2u);
  for (const auto& t : tries)
    CAF_CHECK_EQUAL(t.event_id, id); // the same event every time
  CAF_CHECK_EQUAL(
      call("POST", "/api/v1/webhook/deliveries/evt_unknown/retry", key).status, 404u);
  CAF_CHECK_EQUAL(call("GET", "/api/v1/webhook/deliveries?state=lost", key).status, 400u);

  hook.status = 204;
  auto before = tries.size();
  auto retried =
      call_json("POST", "/api/v1/webhook/deliveries/" + id + "/retry", key, nullptr, 202);
  CAF_CHECK_EQUAL(retried.at("retried"), 1);
  auto delivered = hook.wait_for("ticket.created", before + 1);
  CAF_CHECK_EQUAL(delivered.back().event_id, id);
  CAF_CHECK(test::eventually([&] { return deliveries(key).at("deliveries").empty(); },
                             std::chrono::seconds(10), std::chrono::milliseconds(50)));
}

CAF_TEST_FIXTURE_SCOPE_END()

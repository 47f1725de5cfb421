#define CAF_SUITE subscriber
// 0.17.6's dsl.hpp uses an undefined FAIL macro.
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "mock_http.hpp"
#include "mock_peers.hpp"

#include "messages/services.hpp"
#include "temp_db.hpp"
#include "temp_dir.hpp"

#include "actors/subscriber.hpp"
#include "net/time_format.hpp"
#include "storage/secret_file.hpp"

using namespace exc;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string graph = "https://graph.test/v1.0";

/// Its MAILBOX, played by the test: a Graph gate that lets everything go, and the
/// listener that keeps every subscription reported.
using mailbox_mock_actor = graph_gate_actor::extend_with<push_listener_actor>;

struct mailbox_mock_state {
  std::vector<push_state> reports;
};

mailbox_mock_actor::behavior_type
mailbox_mock(mailbox_mock_actor::stateful_pointer<mailbox_mock_state> self, int) {
  return {
      [=](atom::acquire) { return true; },
      [=](atom::release, caf::timespan) {},
      [=](atom::subscribed, push_state& s) {
        self->state.reports.push_back(std::move(s));
      },
  };
}

struct fixture : test_coordinator_fixture<>, test::mock_http_access<fixture> {
  using test::mock_http_access<fixture>::request; // not the fixture's own
  test::temp_dir dir;
  std::unique_ptr<storage::db> db = open_temp_db(dir);
  storage_writer_actor writer = start_storage_writer(sys, *db);
  storage::helpdesk_store store{*db};
  test::mock_http_actor http = sys.spawn(test::mock_http, 0);
  token_service_actor tokens = sys.spawn(test::token_mock, 0);
  mailbox_mock_actor box = sys.spawn(mailbox_mock, 0);
  subscriber_actor sub;
  subscriber_config cfg;

  fixture() {
    cfg.id = "mbx_1";
    cfg.account_id = "acc_1";
    cfg.address = "support@contoso.test";
    cfg.graph_url = graph;
    cfg.push.notification_url = "https://exc.test/graph/notifications?mailbox=mbx_1";
    cfg.push.lifecycle_url = "https://exc.test/graph/lifecycle?mailbox=mbx_1";
    cfg.push.lifetime = 300s;
    service::put(sys, tokens);
    service::put(sys, caf::actor_cast<http_actor>(http));
  }

  ~fixture() {
    for (const caf::actor& a :
         {caf::actor_cast<caf::actor>(sub), caf::actor_cast<caf::actor>(box),
          caf::actor_cast<caf::actor>(http), caf::actor_cast<caf::actor>(tokens),
          caf::actor_cast<caf::actor>(writer)})
      if (a) self->send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void start() {
    cfg.wall = wall_clock::at(sched.clock().now());
    sub = sys.spawn(subscriber, cfg, caf::actor_cast<graph_gate_actor>(box),
                    caf::actor_cast<push_listener_actor>(box), &store, nullptr);
    sched.run();
  }

  void advance(caf::timespan d) {
    sched.advance_time(d);
    sched.run();
  }

  /// The wall clock `ahead` from now, as the SUBSCRIBER sees it (virtual time).
  std::string wall_in(caf::timespan ahead) {
    auto ms = cfg.wall.ms_at(sched.clock().now()) +
              std::chrono::duration_cast<std::chrono::milliseconds>(ahead).count();
    return net::format_rfc3339(
        std::chrono::system_clock::time_point{std::chrono::milliseconds{ms}});
  }

  std::vector<push_state>& reports() {
    return deref<mailbox_mock_actor::stateful_base<mailbox_mock_state>>(box)
        .state.reports;
  }

  /// Answers request i with a subscription `id` that expires `ahead` from now.
  void subscription(std::size_t i, unsigned status, const std::string& id,
                    caf::timespan ahead) {
    reply(i, test::answer(status, json{{"id", id},
                                       {"expirationDateTime", wall_in(ahead)},
                                       {"changeType", "created"}}
                                      .dump()));
  }

  static net::client_response error(unsigned status, const std::string& code) {
    return test::answer(status,
                        json{{"error", {{"code", code}, {"message", "no"}}}}.dump());
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(subscriber_tests, fixture)

CAF_TEST(a mailbox is subscribed and renewed after two thirds of the lifetime) {
  start();
  CAF_REQUIRE_EQUAL(exchanges(), 1u);
  CAF_CHECK_EQUAL(request(0).method, "POST");
  CAF_CHECK_EQUAL(request(0).url, graph + "/subscriptions");
  auto body = json::parse(request(0).body);
  CAF_CHECK_EQUAL(body["changeType"], "created");
  CAF_CHECK_EQUAL(body["notificationUrl"], cfg.push.notification_url);
  CAF_CHECK_EQUAL(body["lifecycleNotificationUrl"], cfg.push.lifecycle_url);
  CAF_CHECK_EQUAL(body["resource"],
                  "users/support@contoso.test/mailFolders('inbox')/messages");
  CAF_CHECK_EQUAL(body["expirationDateTime"], wall_in(300s));
  auto client_state = body["clientState"].get<std::string>();
  CAF_CHECK_EQUAL(client_state.size(), 43u); // 32 random bytes
  subscription(0, 201, "s1", 300s);
  CAF_REQUIRE_EQUAL(reports().size(), 1u);
  CAF_CHECK_EQUAL(reports()[0].subscription_id, "s1");
  // Only its hash is kept, and stored.
  CAF_CHECK_EQUAL(reports()[0].state_hash, storage::token_hash(client_state));
  auto stored = store.push("mbx_1");
  CAF_REQUIRE(stored);
  CAF_CHECK_EQUAL(stored->subscription_id, "s1");
  CAF_CHECK_EQUAL(stored->state_hash, storage::token_hash(client_state));
  CAF_CHECK(db->get(storage::family::journal, "mbx_1/push")->value().find(client_state) ==
            std::string::npos);
  // Renewed once two thirds of its 300 s have passed, not before.
  advance(199s);
  CAF_CHECK_EQUAL(exchanges(), 1u);
  advance(2s);
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK_EQUAL(request(1).method, "PATCH");
  CAF_CHECK_EQUAL(request(1).url, graph + "/subscriptions/s1");
  auto renewal = json::parse(request(1).body);
  CAF_CHECK_EQUAL(renewal["expirationDateTime"], wall_in(300s));
  subscription(1, 200, "s1", 300s);
  CAF_CHECK_EQUAL(reports().back().subscription_id, "s1");
  advance(201s);
  CAF_CHECK_EQUAL(exchanges(), 3u); // the next renewal
}

CAF_TEST(a subscription graph forgot is created again) {
  start();
  subscription(0, 201, "s1", 300s);
  advance(201s);
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  reply(1, error(404, "ResourceNotFound"));
  CAF_REQUIRE_EQUAL(exchanges(), 3u);
  CAF_CHECK_EQUAL(request(2).method, "POST");
  subscription(2, 201, "s2", 300s);
  CAF_CHECK_EQUAL(reports().back().subscription_id, "s2");
}

CAF_TEST(a mailbox graph will not subscribe is tried again a day later) {
  start();
  reply(0, error(403, "ExtensionError"));
  CAF_REQUIRE(!reports().empty());
  CAF_CHECK(reports().back().subscription_id.empty());
  CAF_CHECK_NOT_EQUAL(reports().back().error.find("refused"), std::string::npos);
  CAF_CHECK_GREATER(reports().back().unavailable_until_ms, 0);
  advance(23h);
  CAF_CHECK_EQUAL(exchanges(), 1u);
  advance(1h + 1s);
  CAF_CHECK_EQUAL(exchanges(), 2u);
}

CAF_TEST(a failed creation is tried again after a backoff) {
  start();
  reply(0, error(400, "ValidationError"));
  CAF_CHECK_EQUAL(reports().back().error.find("creating the subscription failed"), 0u);
  advance(59s);
  CAF_CHECK_EQUAL(exchanges(), 1u);
  advance(17s); // 60 s plus at most a quarter
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK_EQUAL(request(1).method, "POST");
}

CAF_TEST(a failed renewal is tried again before the subscription lapses) {
  start();
  subscription(0, 201, "s1", 300s);
  advance(201s);
  reply(1, error(503, "ServiceUnavailable"));
  // 99 s are left: the next try comes within half of them, not after a minute's backoff.
  advance(50s);
  CAF_REQUIRE_EQUAL(exchanges(), 3u);
  CAF_CHECK_EQUAL(request(2).method, "PATCH");
}

CAF_TEST(a stored subscription is renewed after a restart and not created anew) {
  storage::batch changes;
  push_state kept;
  kept.subscription_id = "s9";
  kept.state_hash = storage::token_hash("secret");
  cfg.wall = wall_clock::at(sched.clock().now());
  kept.expires_ms = cfg.wall.ms_at(sched.clock().now()) + 90'000; // renewal was due
  store.stage_push(changes, "mbx_1", kept);
  CAF_REQUIRE(!db->commit(changes, storage::durability::durable));
  start();
  CAF_REQUIRE(!reports().empty());
  CAF_CHECK_EQUAL(reports()[0].subscription_id, "s9"); // reported at once
  CAF_REQUIRE_EQUAL(exchanges(), 1u);
  CAF_CHECK_EQUAL(request(0).method, "PATCH");
  CAF_CHECK_EQUAL(request(0).url, graph + "/subscriptions/s9");
}

CAF_TEST(lifecycle events renew or create the subscription) {
  start();
  subscription(0, 201, "s1", 300s);
  self->send(sub, atom::notify_v, std::string{"reauthorizationRequired"});
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK_EQUAL(request(1).method, "PATCH");
  subscription(1, 200, "s1", 300s);
  self->send(sub, atom::notify_v, std::string{"missed"});
  sched.run();
  CAF_CHECK_EQUAL(exchanges(), 2u); // the MAILBOX's round, not the SUBSCRIBER's job
  self->send(sub, atom::notify_v, std::string{"subscriptionRemoved"});
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 3u);
  CAF_CHECK_EQUAL(request(2).method, "POST");
}

CAF_TEST_FIXTURE_SCOPE_END()

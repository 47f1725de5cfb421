#define CAF_SUITE webhook_dispatcher
// 0.17.6's dsl.hpp uses an undefined FAIL macro.
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "mock_http.hpp"
#include "mock_peers.hpp"

#include "messages/services.hpp"
#include "temp_db.hpp"
#include "temp_dir.hpp"

#include "actors/webhook_dispatcher.hpp"
#include "net/webhook_signature.hpp"

using namespace exc;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string account = "acc_1";
const std::string url = "https://hooks.test/exconnect";
const std::string secret = "secret-of-sixteen-or-more";

struct fixture : test_coordinator_fixture<>, test::mock_http_access<fixture> {
  using test::mock_http_access<fixture>::request; // not the fixture's own
  test::temp_dir dir;
  std::unique_ptr<storage::db> db = open_temp_db(dir);
  storage_writer_actor writer = start_storage_writer(sys, *db);
  storage::webhook_store store{*db};
  storage::vault vault{*storage::master_key::from_hex(std::string(64, 'a'))};
  net::metrics metrics;
  test::mock_http_actor http = sys.spawn(test::mock_http, 0);
  webhook_actor dispatcher;
  webhook_dispatcher_config cfg;

  fixture() {
    service::put(sys, caf::actor_cast<http_actor>(http));
    cfg.in_flight = 2;
    cfg.retry_initial = 1s;
    cfg.retry_max = 4s;
    cfg.park_after = 10s;
    cfg.sweep_interval = 1h;
    cfg.parked_retention = 3h;
    cfg.wall = wall_clock::at(sched.clock().now());
    dispatcher = sys.spawn(webhook_dispatcher, cfg,
                           webhook_dispatcher_peers{&store, &vault, &metrics});
    sched.run();
    set_webhook(url);
  }

  ~fixture() {
    for (const caf::actor& a :
         {caf::actor_cast<caf::actor>(dispatcher), caf::actor_cast<caf::actor>(http),
          caf::actor_cast<caf::actor>(writer)})
      self->send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// Sets the account's webhook ("" removes it) as the REST front does.
  void set_webhook(const std::string& to) {
    self->send(dispatcher, atom::settings_v, account, webhook_settings{to, secret});
    sched.run();
  }

  /// Records an event about `order_key` (as a writer does) and wakes the dispatcher;
  /// its id.
  std::string record(const std::string& order_key) {
    storage::batch changes;
    auto staged = store.stage_event(changes, account, storage::event_type::ticket_created,
                                    order_key, {{"id", order_key}});
    CAF_REQUIRE(staged && *staged);
    commit_now(*db, changes);
    self->send(dispatcher, atom::wake_v, account);
    sched.run();
    return json::parse(changes.changes().front().value).at("id").get<std::string>();
  }

  std::string event_id_of(std::size_t i) {
    return std::string{request(i).header("X-Exconnect-Event-Id")};
  }

  std::vector<storage::webhook_event> stored(bool parked) {
    auto events = store.events(account, parked, "", 100);
    CAF_REQUIRE(events);
    return *events;
  }

  void advance(caf::timespan d) {
    sched.advance_time(d);
    sched.run();
  }

  void answer(std::size_t i, unsigned status) { reply(i, test::answer(status, "")); }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(webhook_dispatcher_tests, fixture)

CAF_TEST(each event is posted signed and erased once answered 2xx) {
  auto id = record("t1");
  CAF_REQUIRE_EQUAL(exchanges(), 1u);
  const auto& req = request(0);
  CAF_CHECK_EQUAL(req.method, "POST");
  CAF_CHECK_EQUAL(req.url, url);
  CAF_CHECK_EQUAL(event_id_of(0), id);
  CAF_CHECK_EQUAL(req.header("X-Exconnect-Event-Type"), "ticket.created");
  CAF_CHECK(net::webhook_signature_matches(secret, req.body,
                                           req.header("X-Exconnect-Signature")));
  auto body = json::parse(req.body);
  CAF_CHECK_EQUAL(body.at("id"), id);
  CAF_CHECK_EQUAL(body.at("account_id"), account);
  CAF_CHECK_EQUAL(body.at("data").at("id"), "t1");
  CAF_CHECK_EQUAL(stored(false).size(), 1u); // until the answer
  answer(0, 204);
  CAF_CHECK(stored(false).empty());
  CAF_CHECK_EQUAL(exchanges(), 1u);
}

CAF_TEST(a failing event holds back only the later events of its ticket) {
  auto a1 = record("ticket-a");
  auto a2 = record("ticket-a");
  auto b1 = record("ticket-b");
  // Two at a time, one per ticket: a2 waits for a1.
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK_EQUAL(event_id_of(0), a1);
  CAF_CHECK_EQUAL(event_id_of(1), b1);
  answer(0, 500);
  CAF_CHECK_EQUAL(exchanges(), 2u); // a1 is not due yet, a2 stays behind it
  auto failing = stored(false);
  CAF_REQUIRE_EQUAL(failing.size(), 3u);
  CAF_CHECK_EQUAL(failing[0].attempts, 1u);
  CAF_CHECK_EQUAL(failing[0].last_status, 500u);
  answer(1, 200); // b1 is done: ticket b does not wait for ticket a
  CAF_CHECK_EQUAL(stored(false).size(), 2u);
  CAF_CHECK_EQUAL(exchanges(), 2u);
  // After its backoff (1 s plus up to a quarter), a1 comes again with its id.
  advance(1300ms);
  CAF_REQUIRE_EQUAL(exchanges(), 3u);
  CAF_CHECK_EQUAL(event_id_of(2), a1);
  answer(2, 200);
  CAF_REQUIRE_EQUAL(exchanges(), 4u);
  CAF_CHECK_EQUAL(event_id_of(3), a2);
  answer(3, 200);
  CAF_CHECK(stored(false).empty());
}

CAF_TEST(an event failing too long is parked and a retry sends it again) {
  auto id = record("t1");
  // 500s for longer than park_after (10 s); the waits double up to 4 s.
  std::size_t i = 0;
  for (; i < exchanges(); ++i) {
    answer(i, 503);
    if (i + 1 == exchanges()) advance(5s);
  }
  CAF_CHECK(stored(false).empty());
  auto parked = stored(true);
  CAF_REQUIRE_EQUAL(parked.size(), 1u);
  CAF_CHECK_EQUAL(parked[0].id, id);
  CAF_CHECK(!parked[0].parked_at.empty());
  CAF_CHECK_GREATER_OR_EQUAL(parked[0].attempts, 3u);
  auto tries = exchanges();
  advance(1h); // parked: not tried again by itself
  CAF_CHECK_EQUAL(exchanges(), tries);

  // An unknown id is refused; the parked one is queued again and delivered.
  auto refused = self->request(dispatcher, caf::infinite, atom::retry_v, account,
                               std::string{"evt_unknown"});
  sched.run();
  refused.receive([](std::uint64_t) { CAF_FAIL("an unknown event was retried"); },
                  [](caf::error& err) { CAF_CHECK(is(err, ec::not_found)); });
  auto retried =
      self->request(dispatcher, caf::infinite, atom::retry_v, account, std::string{});
  sched.run();
  retried.receive([](std::uint64_t n) { CAF_CHECK_EQUAL(n, 1u); },
                  [](caf::error& err) { CAF_FAIL(render(err)); });
  CAF_REQUIRE_EQUAL(exchanges(), tries + 1);
  CAF_CHECK_EQUAL(event_id_of(tries), id);
  answer(tries, 200);
  CAF_CHECK(stored(false).empty());
  CAF_CHECK(stored(true).empty());
}

CAF_TEST(a parked event is dropped once it is older than the retention) {
  record("t1");
  for (std::size_t i = 0; i < exchanges(); ++i) {
    answer(i, 500);
    if (i + 1 == exchanges()) advance(5s);
  }
  CAF_REQUIRE_EQUAL(stored(true).size(), 1u);
  advance(2h); // two sweeps: younger than 3 h, kept
  CAF_CHECK_EQUAL(stored(true).size(), 1u);
  advance(1h);
  CAF_CHECK(stored(true).empty());
  CAF_CHECK(metrics.render().find(
                "exconnect_webhook_events_dropped_total{reason=\"expired\"} 1") !=
            std::string::npos);
}

CAF_TEST(removing the webhook drops its undelivered events) {
  record("t1");
  record("t2");
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  answer(0, 500);
  set_webhook("");
  CAF_CHECK(stored(false).size() <= 1u); // the one still under way goes after its answer
  answer(1, 500);
  self->send(dispatcher, atom::wake_v, account);
  sched.run();
  CAF_CHECK(stored(false).empty());
  auto config = store.config(account);
  CAF_REQUIRE(config);
  CAF_CHECK(!*config);
  // Without a webhook nothing more is recorded.
  storage::batch changes;
  auto staged = store.stage_event(changes, account, storage::event_type::ticket_created,
                                  "t3", json::object());
  CAF_REQUIRE(staged);
  CAF_CHECK(!*staged);
  CAF_CHECK(changes.empty());
}

CAF_TEST_FIXTURE_SCOPE_END()

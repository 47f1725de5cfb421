#define CAF_SUITE sender
// 0.17.6's dsl.hpp uses an undefined FAIL macro.
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "mock_http.hpp"
#include "mock_peers.hpp"

#include "messages/services.hpp"
#include "temp_db.hpp"
#include "temp_dir.hpp"

#include "actors/helpdesk.hpp"
#include "actors/sender.hpp"
#include "net/time_format.hpp"
#include "net/url.hpp"

using namespace exc;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string graph = "https://graph.test/v1.0";
const std::string send_url = graph + "/users/support%40contoso.test/sendMail";

struct fixture : test_coordinator_fixture<>, test::mock_http_access<fixture> {
  using test::mock_http_access<fixture>::request; // not the fixture's own
  test::temp_dir dir;
  std::unique_ptr<storage::db> db = open_temp_db(dir);
  storage_writer_actor writer = start_storage_writer(sys, *db);
  storage::outbox_store outbox{*db};
  storage::throttle_store windows{*db};
  storage::helpdesk_store tickets{*db};
  address_book connected;
  net::metrics metrics;
  helpdesk_actor desk = caf::actor_cast<helpdesk_actor>(
      sys.spawn(helpdesk, &tickets, &outbox, &connected, &metrics, std::string{"k"},
                ticket_limits{1000}));
  test::mock_http_actor http = sys.spawn(test::mock_http, 0);
  token_service_actor tokens = sys.spawn(test::token_mock, 0);
  test::listener_actor listener = sys.spawn(test::poll_listener, 0);
  sender_actor snd;
  sender_config cfg;

  fixture() {
    cfg.id = "mbx_1";
    cfg.account_id = "acc_1";
    cfg.address = "support@contoso.test";
    cfg.graph_url = graph;
    cfg.rate = {2, 60s};
    cfg.sent_items_grace = 120s;
    describe_sender_metrics(metrics);
  }

  ~fixture() {
    for (const caf::actor& a :
         {caf::actor_cast<caf::actor>(snd), caf::actor_cast<caf::actor>(http),
          caf::actor_cast<caf::actor>(desk), caf::actor_cast<caf::actor>(tokens),
          caf::actor_cast<caf::actor>(listener), caf::actor_cast<caf::actor>(writer)})
      if (a) self->send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// An email to `to`, queued (or in another state), with a small MIME.
  void queue(const std::string& id, const std::string& to = "jana@customer.test",
             const std::string& state = "queued", const std::string& attempted_at = {}) {
    storage::outbox_email e;
    e.email_id = id;
    e.mailbox_id = cfg.id;
    e.account_id = cfg.account_id;
    e.to = {to};
    e.subject = "About " + id;
    e.internet_message_id = id + "@contoso.test";
    e.state = *storage::email_state_from(state);
    e.attempted_at = attempted_at;
    auto mime = "From: support@contoso.test\r\nTo: " + to + "\r\nMessage-ID: <" + id +
                "@contoso.test>\r\n\r\nHello\r\n";
    e.size = mime.size();
    storage::batch changes;
    outbox.stage_new(changes, e, mime);
    CAF_REQUIRE(!db->commit(changes, storage::durability::durable));
  }

  void start() {
    // The services, found by name as the SUPERVISOR registers them.
    service::put(sys, tokens);
    service::put(sys, caf::actor_cast<http_actor>(http));
    service::put(sys, desk);
    sender_peers peers{listener, &outbox, &metrics, &windows};
    snd = sys.spawn(sender, cfg, peers);
    sched.run();
  }

  void advance(caf::timespan d) {
    sched.advance_time(d);
    sched.run();
  }
  std::string state_of(const std::string& id) {
    auto e = outbox.email(cfg.id, id);
    CAF_REQUIRE(e && *e);
    return to_string((*e)->state);
  }
  /// The MIME the request sent (base64 text/plain).
  std::string sent_mime(std::size_t i) {
    CAF_REQUIRE_EQUAL(request(i).method, "POST");
    CAF_REQUIRE_EQUAL(request(i).url, send_url);
    return net::base64_decode(request(i).body).value_or("(not base64)");
  }

  /// Starts a SENDER with the send rate 1 per 60 s, e1 queued, after a previous run's
  /// send (e0) at `at`, answered or not.
  void start_after_send_at(std::chrono::system_clock::time_point at, bool answered) {
    cfg.rate = {1, 60s};
    storage::send_record before{at, 100, {"jana@customer.test"}, "e0", answered};
    storage::batch changes;
    outbox.stage_send(changes, cfg.id, before);
    CAF_REQUIRE(!db->commit(changes, storage::durability::durable));
    queue("e1");
    start();
  }
};

net::client_response graph_error(unsigned status, const std::string& code,
                                 net::header_list headers = {}) {
  return test::answer(
      status, json{{"error", {{"code", code}, {"message", code + " said Graph"}}}}.dump(),
      std::move(headers));
}

std::string minutes_ago(int n) {
  return net::format_rfc3339(std::chrono::system_clock::now() - std::chrono::minutes{n});
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(sender_tests, fixture)

CAF_TEST(emails go oldest first and are stored as sending before the request) {
  queue("e1");
  queue("e2");
  start();
  CAF_REQUIRE_EQUAL(exchanges(), 1u);
  CAF_CHECK(sent_mime(0).find("Message-ID: <e1@contoso.test>") != std::string::npos);
  CAF_CHECK_EQUAL(request(0).headers.back().second, "text/plain");
  CAF_CHECK_EQUAL(state_of("e1"), "sending");
  CAF_CHECK_EQUAL(state_of("e2"), "queued");
  reply(0, test::answer(202, ""));
  CAF_CHECK_EQUAL(state_of("e1"), "sent");
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK(sent_mime(1).find("<e2@contoso.test>") != std::string::npos);
  reply(1, test::answer(202, ""));
  CAF_CHECK_EQUAL(state_of("e2"), "sent");
  auto counters = outbox.counters(cfg.id);
  CAF_REQUIRE(counters);
  CAF_CHECK_EQUAL((*counters)["sent"], 2);
  CAF_CHECK_EQUAL(metrics.value("exconnect_outbound_emails_total", {{"state", "sent"}}),
                  2);
}

CAF_TEST(the send limits hold the next email until the window has room) {
  for (auto id : {"e1", "e2", "e3"})
    queue(id);
  start();
  reply(0, test::answer(202, ""));
  reply(1, test::answer(202, ""));
  CAF_CHECK_EQUAL(exchanges(), 2u); // 2 per 60 s
  CAF_CHECK_EQUAL(state_of("e3"), "queued");
  advance(59s);
  CAF_CHECK_EQUAL(exchanges(), 2u);
  advance(2s);
  CAF_REQUIRE_EQUAL(exchanges(), 3u);
  reply(2, test::answer(202, ""));
  CAF_CHECK_EQUAL(state_of("e3"), "sent");
}

CAF_TEST(a restarted sender keeps the windows of the sends before the restart) {
  queue("e1");
  queue("e2");
  start();
  reply(0, test::answer(202, ""));
  reply(1, test::answer(202, ""));
  self->send_exit(snd, caf::exit_reason::user_shutdown);
  sched.run();
  queue("e3");
  start();
  CAF_CHECK_EQUAL(exchanges(), 2u); // the window is still full
  advance(61s);
  CAF_CHECK_EQUAL(exchanges(), 3u);
}

CAF_TEST(a 429 waits for Retry-After and sends again without a lookup) {
  queue("e1");
  start();
  reply(0, graph_error(429, "ErrorExceededMessageLimit", {{"Retry-After", "5"}}));
  CAF_CHECK_EQUAL(state_of("e1"), "sending");
  advance(4s);
  CAF_CHECK_EQUAL(exchanges(), 1u);
  advance(2s);
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK_EQUAL(request(1).url, send_url); // not a Sent Items lookup
  reply(1, test::answer(202, ""));
  CAF_CHECK_EQUAL(state_of("e1"), "sent");
}

CAF_TEST(a send dated after now counts as now) {
  // The wall clock was set back 30 s since the previous run's answered send.
  start_after_send_at(std::chrono::system_clock::now() + 30s, true);
  advance(2s);
  CAF_CHECK_EQUAL(exchanges(), 0u); // the window (1 per 60 s) is full
  advance(59s);
  CAF_CHECK_EQUAL(exchanges(), 1u);
}

CAF_TEST(stored sends count in time order however they were answered) {
  cfg.rate = {2, 60s};
  // The previous run: e0 left 50 s ago without an answer (it counts from now), e9 was
  // answered 40 s ago. The window holds two; the next mail may go once e9's send is
  // a minute old, 20 s from now.
  storage::batch changes;
  outbox.stage_send(
      changes, cfg.id,
      {std::chrono::system_clock::now() - 50s, 100, {"a@customer.test"}, "e0"});
  outbox.stage_send(
      changes, cfg.id,
      {std::chrono::system_clock::now() - 40s, 100, {"b@customer.test"}, "e9", true});
  CAF_REQUIRE(!db->commit(changes, storage::durability::durable));
  queue("e1");
  start();
  advance(19s);
  CAF_CHECK_EQUAL(exchanges(), 0u);
  advance(2s);
  CAF_CHECK_EQUAL(exchanges(), 1u);
}

CAF_TEST(a send without an answer counts from the restart) {
  // The previous run sent 59 s ago and died before Graph's answer.
  start_after_send_at(std::chrono::system_clock::now() - 59s, false);
  advance(2s);
  CAF_CHECK_EQUAL(exchanges(), 0u); // it may have been counted just now
  advance(59s);
  CAF_CHECK_EQUAL(exchanges(), 1u);
  reply(0, test::answer(202, ""));
  // The answered send is stored as such.
  storage::batch expired;
  auto sends =
      outbox.sends_since(cfg.id, std::chrono::system_clock::now() - 120s, expired);
  CAF_REQUIRE(sends);
  bool answered = false;
  for (const auto& s : *sends)
    if (s.email_id == "e1") answered = s.answered;
  CAF_CHECK(answered);
}

CAF_TEST(a pause graph asked for is stored and holds after a restart) {
  queue("e1");
  start();
  reply(0, graph_error(429, "ErrorExceededMessageLimit", {{"Retry-After", "120"}}));
  auto stored = windows.load_pause(cfg.id, "send-pause");
  CAF_REQUIRE(stored && *stored);
  auto left = **stored - std::chrono::system_clock::now();
  CAF_CHECK(left > 110s && left <= 120s);
  // The slot goes back to its MAILBOX's gate with the pause (fetching waits too).
  auto& gate =
      deref<test::listener_actor::stateful_base<test::listener_state>>(listener).state;
  CAF_REQUIRE_EQUAL(gate.pauses.size(), 1u);
  CAF_CHECK(gate.pauses[0] == caf::timespan{120s});
  CAF_CHECK_EQUAL(gate.in_flight, 0);
  self->send_exit(snd, caf::exit_reason::user_shutdown);
  sched.run();
  // A restart with a queued email and a pause that ends in 60 s: nothing before then.
  queue("e2");
  storage::batch changes;
  windows.stage_pause(changes, cfg.id, "send-pause",
                      std::chrono::system_clock::now() + 60s);
  auto e1 = outbox.email(cfg.id, "e1");
  CAF_REQUIRE(e1 && *e1);
  (*e1)->state = storage::email_state::sent; // out of the way: e2 is next
  outbox.stage_update(changes, **e1);
  CAF_REQUIRE(!db->commit(changes, storage::durability::durable));
  start();
  CAF_CHECK_EQUAL(exchanges(), 1u);
  advance(58s);
  CAF_CHECK_EQUAL(exchanges(), 1u);
  advance(3s);
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK(sent_mime(1).find("<e2@contoso.test>") != std::string::npos);
}

CAF_TEST(an email in doubt is looked up in Sent Items after the grace period) {
  queue("e1");
  queue("e2");
  start();
  reply(0, graph_error(504, "GatewayTimeout")); // taken or not: nobody knows
  advance(1s);                                  // past the first backoff
  advance(118s);
  CAF_CHECK_EQUAL(exchanges(), 1u); // still within the grace period
  advance(3s);
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  auto query = net::parse_query(net::split_target(request(1).url).second);
  CAF_REQUIRE(query);
  CAF_CHECK_EQUAL(net::find_param(*query, "$filter").value_or(""),
                  "internetMessageId eq '<e1@contoso.test>'");
  CAF_CHECK(request(1).url.find("/mailFolders/sentitems/messages") != std::string::npos);
  // It is there: sent, not sent again; the next one goes.
  reply(1, test::answer(200, json{{"value", {{{"id", "AAMk1"}}}}}.dump()));
  CAF_CHECK_EQUAL(state_of("e1"), "sent");
  CAF_REQUIRE_EQUAL(exchanges(), 3u);
  CAF_CHECK(sent_mime(2).find("<e2@contoso.test>") != std::string::npos);
}

CAF_TEST(an email left sending by a crash is sent again only if Sent Items lacks it) {
  queue("e1", "jana@customer.test", "sending", minutes_ago(10));
  start();
  CAF_REQUIRE_EQUAL(exchanges(), 1u);
  CAF_CHECK_EQUAL(request(0).method, "GET");
  reply(0, test::answer(200, json{{"value", json::array()}}.dump()));
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK(sent_mime(1).find("<e1@contoso.test>") != std::string::npos);
  reply(1, test::answer(202, ""));
  CAF_CHECK_EQUAL(state_of("e1"), "sent");
}

CAF_TEST(the grace of an email left sending counts from the latest its attempt can be) {
  // attempted_at is stored in whole seconds, cut off: the attempt may have been up to a
  // second later, and the grace must not be shorter than the one configured.
  auto attempted_at = net::format_rfc3339(std::chrono::system_clock::now() - 119s);
  queue("e1", "jana@customer.test", "sending", attempted_at);
  auto latest = *net::parse_rfc3339(attempted_at) + 1s + cfg.sent_items_grace;
  auto until_due = std::chrono::duration_cast<caf::timespan>(
      latest - std::chrono::system_clock::now());
  start();
  advance(until_due - 100ms); // the slack: wall time this test takes to get here
  CAF_CHECK_EQUAL(exchanges(), 0u);
  advance(200ms);
  CAF_REQUIRE_EQUAL(exchanges(), 1u);
  CAF_CHECK(request(0).url.find("/mailFolders/sentitems/messages") != std::string::npos);
}

CAF_TEST(a refusal that will not heal fails the email and the next one goes) {
  queue("e1", "gone@customer.test");
  queue("e2");
  start();
  reply(0, graph_error(400, "ErrorInvalidRecipients"));
  auto e1 = outbox.email(cfg.id, "e1");
  CAF_REQUIRE(e1 && *e1);
  CAF_CHECK((*e1)->state == storage::email_state::failed);
  CAF_CHECK_EQUAL((*e1)->error_code, "ErrorInvalidRecipients");
  CAF_CHECK_EQUAL((*e1)->error_message, "ErrorInvalidRecipients said Graph");
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK(sent_mime(1).find("<e2@contoso.test>") != std::string::npos);
}

CAF_TEST(mail that can never be sent fails without a request) {
  cfg.max_mime = 10;
  queue("e1");
  start();
  CAF_CHECK_EQUAL(exchanges(), 0u);
  auto e1 = outbox.email(cfg.id, "e1");
  CAF_REQUIRE(e1 && *e1);
  CAF_CHECK((*e1)->state == storage::email_state::failed);
  CAF_CHECK_EQUAL((*e1)->error_code, "message_too_large");
}

CAF_TEST(no permission to send makes every email wait) {
  queue("e1");
  start();
  reply(0, graph_error(403, "ErrorAccessDenied"));
  CAF_CHECK_EQUAL(state_of("e1"), "sending");
  auto& sends = deref<test::listener_actor::stateful_base<test::listener_state>>(listener)
                    .state.sends;
  CAF_REQUIRE(!sends.empty());
  CAF_CHECK_EQUAL(sends.back().code, "ErrorAccessDenied");
  advance(2s); // the first backoff is at most 1 s; it knows the mail did not go
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK_EQUAL(request(1).url, send_url);
}

CAF_TEST_FIXTURE_SCOPE_END()

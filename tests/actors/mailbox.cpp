#define CAF_SUITE mailbox
// 0.17.6's dsl.hpp uses an undefined FAIL macro.
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "mock_http.hpp"
#include "mock_peers.hpp"
#include "temp_db.hpp"
#include "temp_dir.hpp"

#include "actors/converter.hpp"
#include "actors/graph_batcher.hpp"
#include "actors/helpdesk.hpp"
#include "actors/mailbox.hpp"
#include "messages/error.hpp"
#include "messages/services.hpp"
#include "net/limits/poll_phase.hpp"
#include "net/url.hpp"
#include "storage/db.hpp"

#include <caf/detail/simple_actor_clock.hpp>

#include <algorithm>

using namespace exc;
using namespace std::chrono_literals;
using nlohmann::json;
using test::listener_state;
using test::poll_listener;
using test::token_mock;

namespace {

json item(const std::string& id, std::uint64_t size,
          const std::vector<std::string>& categories = {}) {
  return {{"id", id},
          {"internetMessageId", "<" + id + "@customer.test>"},
          {"receivedDateTime", "2026-11-25T10:00:00Z"},
          {"categories", categories},
          {"singleValueExtendedProperties",
           {{{"id", "Integer 0xe08"}, {"value", std::to_string(size)}}}}};
}

net::client_response answer(unsigned status, std::string body) {
  return test::answer(status, std::move(body));
}

/// A page of a delta round: with a nextLink, or (the round's last) a deltaLink.
net::client_response
page(const std::vector<json>& items, const std::string& next = {},
     const std::string& delta = "https://graph.test/v1.0/users/support%40contoso.test/"
                                "mailFolders/inbox/messages/delta?%24deltatoken=d1") {
  json body = {{"value", items}};
  if (!next.empty())
    body["@odata.nextLink"] = next;
  else
    body["@odata.deltaLink"] = delta;
  return answer(200, body.dump());
}

std::string raw_mail(const std::string& id) {
  return "From: Jana <jana@customer.test>\r\nTo: support@contoso.test\r\n"
         "Subject: About " +
         id + "\r\nMessage-ID: <" + id +
         "@customer.test>\r\nContent-Type: text/plain\r\n\r\nHello\r\n";
}

/// A STORAGE WRITER that answers commits without applying them and holds every barrier
/// until a sync comes: what waits for earlier writes waits visibly.
struct held_barriers {
  std::vector<caf::typed_response_promise<bool>> barriers;
};
storage_writer_actor::behavior_type
barrier_holder(storage_writer_actor::stateful_pointer<held_barriers> self, int) {
  return {
      [](atom::commit, storage::batch&, storage::durability) { return true; },
      [](atom::commit, storage::batch&, const std::string&) {},
      [=](atom::sync) {
        for (auto& rp : self->state.barriers)
          rp.deliver(true);
        self->state.barriers.clear();
        return true;
      },
      [=](atom::barrier) -> caf::result<bool> {
        self->state.barriers.push_back(self->make_response_promise<bool>());
        return self->state.barriers.back();
      },
  };
}

const std::string graph = "https://graph.test/v1.0";
const std::string messages = graph + "/users/support%40contoso.test/messages/";
const std::string send_url = graph + "/users/support%40contoso.test/sendMail";

struct fixture : test_coordinator_fixture<>, test::mock_http_access<fixture> {
  using test::mock_http_access<fixture>::request; // not the fixture's own
  test::temp_dir dir;
  std::unique_ptr<storage::db> db;
  std::unique_ptr<storage::helpdesk_store> store;
  net::metrics metrics;
  address_book connected;
  std::unique_ptr<storage::outbox_store> outbox_holder;
  storage::outbox_store* outbox = nullptr;
  test::mock_http_actor http;
  token_service_actor tokens;
  test::listener_actor listener;
  helpdesk_actor desk;
  converter_actor conv;
  mailbox_actor box;
  mailbox_config cfg;
  storage_writer_actor writer;

  fixture() {
    db = open_temp_db(dir);
    writer = start_storage_writer(sys, *db);
    store = std::make_unique<storage::helpdesk_store>(*db);
    outbox_holder = std::make_unique<storage::outbox_store>(*db);
    outbox = outbox_holder.get();
    http = sys.spawn(test::mock_http, 0);
    tokens = sys.spawn(token_mock, 0);
    listener = sys.spawn(poll_listener, 0);
    desk = caf::actor_cast<helpdesk_actor>(
        sys.spawn(helpdesk, store.get(), outbox, &connected, &metrics, std::string{"k"},
                  ticket_limits{1'000'000}));
    conv = sys.spawn(converter, &connected, std::chrono::milliseconds{30'000}, nullptr);
    cfg.id = "mbx_1";
    cfg.account_id = "acc_1";
    cfg.address = "support@contoso.test";
    cfg.graph_url = graph;
    cfg.poll_interval = 600s;
    cfg.since = "2026-11-25T00:00:00Z";
    cfg.max_message_size = 1000;
    cfg.fetch_rate = {2, 60s};
  }

  ~fixture() {
    for (const caf::actor& a :
         {caf::actor_cast<caf::actor>(box), caf::actor_cast<caf::actor>(http),
          caf::actor_cast<caf::actor>(tokens), caf::actor_cast<caf::actor>(listener),
          caf::actor_cast<caf::actor>(desk), caf::actor_cast<caf::actor>(conv),
          caf::actor_cast<caf::actor>(writer)})
      if (a) self->send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  std::unique_ptr<storage::throttle_store> windows;

  bool outbox_peers = false;      ///< give the MAILBOX an outbox (and so a SENDER)
  converter_load* pool = nullptr; ///< the CONVERTER pool's load (none: converter 0)
  presence* present = nullptr;    ///< which MAILBOXes and SENDERs exist (none: untracked)
  token_cache* fresh_tokens = nullptr; ///< (none: the TOKEN SERVICE is asked)

  /// Starts the MAILBOX; its first poll runs at once.
  void start() {
    // The services, found by name as the SUPERVISOR registers them.
    service::put(sys, tokens);
    service::put(sys, caf::actor_cast<http_actor>(http));
    service::put(sys, desk);
    service::put(sys, service::converter_name(0), conv);
    mailbox_peers peers{listener, 0, store.get(), windows.get()};
    peers.converters = pool;
    peers.present = present;
    peers.metrics = &metrics;
    peers.tokens = fresh_tokens;
    if (outbox_peers) peers.outbox = outbox;
    box = sys.spawn(mailbox, cfg, peers);
    sched.run();
  }

  std::vector<poll_result>& polls() {
    return deref<test::listener_actor::stateful_base<listener_state>>(listener)
        .state.polls;
  }
  std::vector<std::string> patched_categories(std::size_t i) {
    CAF_REQUIRE_EQUAL(request(i).method, "PATCH");
    return json::parse(request(i).body).at("categories").get<std::vector<std::string>>();
  }
  std::optional<storage::journal_entry> journal(const std::string& id) {
    auto e = store->journal("mbx_1", id);
    CAF_REQUIRE(e);
    return *e;
  }

  std::uint32_t attempts_of(const std::string& id) {
    auto e = journal(id);
    CAF_REQUIRE(e);
    return e->attempts;
  }

  /// Queues an email in the outbox and wakes the MAILBOX (its SENDER), if it runs.
  void queue_email(const std::string& id) {
    storage::outbox_email e;
    e.email_id = id;
    e.mailbox_id = cfg.id;
    e.account_id = cfg.account_id;
    e.to = {"jana@customer.test"};
    e.internet_message_id = id + "@contoso.test";
    e.size = 10;
    storage::batch changes;
    outbox->stage_new(changes, e, "Subject: x\r\n\r\nHello");
    commit_now(*db, changes);
    if (!box) return;
    self->send(box, atom::wake_v);
    sched.run();
  }

  /// Messages sent with a delay that are still pending (request timeouts aside: they
  /// end with their answer).
  std::size_t delayed_messages() {
    using clock = caf::detail::simple_actor_clock;
    const auto& pending = sched.clock().schedule();
    return static_cast<std::size_t>(
        std::count_if(pending.begin(), pending.end(), [](const auto& entry) {
          return entry.second->subtype == clock::actor_msg_type;
        }));
  }

  /// Whether a request to `url` (with `method`, if given) waits for its answer. The
  /// MAILBOX and its LABELER work side by side, so tests find requests by URL.
  std::optional<std::size_t> find_open(const std::string& url,
                                       const std::string& method = {}) {
    const auto& ex = http_state().exchanges;
    for (auto i = ex.size(); i-- > 0;) // the latest: an older one may be a dead actor's
      if (!ex[i].answered && ex[i].request.url == url &&
          (method.empty() || ex[i].request.method == method))
        return i;
    return std::nullopt;
  }

  /// The open request to `url` (with `method`, if given).
  std::size_t open(const std::string& url, const std::string& method = {}) {
    auto i = find_open(url, method);
    if (!i) CAF_FAIL("no open request " << method << " " << url);
    return *i;
  }

  /// The requests made so far, once `d` more has passed.
  /// A MAILBOX whose first listing Graph answered with a 429 and Retry-After: 120,
  /// stopped right after (its pause stored).
  void stopped_by_graph_pause() {
    windows = std::make_unique<storage::throttle_store>(*db);
    start();
    auto throttled =
        answer(429, R"({"error":{"code":"ApplicationThrottled","message":"x"}})");
    throttled.headers = {{"Retry-After", "120"}};
    reply(0, throttled);
    self->send_exit(box, caf::exit_reason::user_shutdown);
    sched.run();
  }
  /// The answer to a turn (atom::poll) the test asked for, once it came.
  template <class Handle>
  std::optional<bool> received_turn(Handle& h) {
    std::optional<bool> out;
    if (!self->mailbox().empty())
      h.receive([&](bool polled) { out = polled; },
                [&](caf::error& err) { CAF_FAIL("turn failed: " << render(err)); });
    return out;
  }
  std::size_t exchanges_after(caf::timespan d) {
    sched.advance_time(d);
    sched.run();
    return exchanges();
  }

  /// Requests that wait for their answer.
  std::size_t open_count() {
    std::size_t n = 0;
    for (const auto& ex : http_state().exchanges)
      n += ex.answered ? 0 : 1;
    return n;
  }

  static std::string categories_url(const std::string& id) {
    return messages + id + "?%24select=categories";
  }

  /// Answers the read of `id`'s categories with `now`.
  void categories(const std::string& id, const std::vector<std::string>& now = {}) {
    reply(open(categories_url(id)),
          answer(200, json{{"id", id}, {"categories", now}}.dump()));
  }

  /// The categories of the open PATCH of `id`.
  std::vector<std::string> patched(const std::string& id) {
    return patched_categories(open(messages + id, "PATCH"));
  }

  /// Reads `id`'s categories (none) and answers its label.
  void label_ok(const std::string& id) {
    categories(id);
    reply(open(messages + id, "PATCH"), answer(200, "{}"));
  }

  /// Answers the download of `id` and the read of its categories, and fails its label
  /// (a 500 on the PATCH).
  void deliver_and_label_failing_once(const std::string& id) {
    reply(open(messages + id + "/$value"), answer(200, raw_mail(id)));
    categories(id);
    reply(open(messages + id, "PATCH"),
          answer(500, R"({"error":{"code":"ErrorInternalServerError","message":"no"}})"));
    auto entry = journal(id);
    CAF_REQUIRE(entry);
    CAF_CHECK_EQUAL(entry->label_attempts, 1u);
  }

  /// Answers the download of `id`, the read of its categories and its label.
  void deliver_and_label(const std::string& id) {
    reply(open(messages + id + "/$value"), answer(200, raw_mail(id)));
    label_ok(id);
  }

  /// Starts the MAILBOX with one mail, m1, whose conversion fails (one try allowed): it
  /// must end as a labelled processing_failed rejection of step conversion. Its entry.
  storage::journal_entry quarantined_in_conversion() {
    cfg.max_attempts = 1;
    start();
    reply(0, page({item("m1", 100)}));
    reply(1, answer(200, raw_mail("m1")));
    categories("m1");
    CAF_CHECK_EQUAL(patched("m1"),
                    (std::vector<std::string>{"Zendesk", "RejectedByZendesk"}));
    auto m1 = journal("m1");
    CAF_REQUIRE(m1);
    CAF_CHECK_EQUAL(m1->reason, "processing_failed");
    CAF_CHECK_EQUAL(m1->step, "conversion");
    return *m1;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(mailbox_tests, fixture)

CAF_TEST(a poll lists every page then stores and labels each new message) {
  start();
  CAF_REQUIRE_EQUAL(exchanges(), 1u);
  // The MAILBOX lists the first page itself; its FETCHER starts with what it found.
  CAF_CHECK_EQUAL(asked_by(0), box.address());
  CAF_CHECK(!deref<mailbox_actor::stateful_base<mailbox_state>>(box).state.fetcher);
  // No link kept yet: a full delta round of the Inbox since the connection.
  auto [path, query_text] = net::split_target(request(0).url);
  CAF_CHECK_EQUAL(path, "https://graph.test/v1.0/users/support%40contoso.test/"
                        "mailFolders/inbox/messages/delta");
  auto query = net::parse_query(query_text);
  CAF_REQUIRE(query);
  CAF_CHECK_EQUAL(net::find_param(*query, "$filter").value_or(""),
                  "receivedDateTime ge 2026-11-25T00:00:00Z");
  CAF_CHECK_EQUAL(net::find_param(*query, "$select").value_or(""),
                  "id,internetMessageId,receivedDateTime,categories,isRead");
  CAF_CHECK_EQUAL(request(0).headers[0].second, "Bearer at-1");
  CAF_CHECK_EQUAL(request(0).headers[2].second,
                  "IdType=\"ImmutableId\", odata.maxpagesize=100");
  reply(0, page({item("m1", 100, {"Blue"})}, graph + "/next-page"));
  // Held only weakly here: once the FETCHER ended, nothing else may keep its memory.
  auto fetcher =
      deref<mailbox_actor::stateful_base<mailbox_state>>(box).state.fetcher.address();
  CAF_REQUIRE(fetcher);
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK_EQUAL(request(1).url, graph + "/next-page"); // followed verbatim
  CAF_CHECK_EQUAL(asked_by(1), fetcher);
  reply(1, page({item("m2", 100)}));
  // Every page is listed before the first download.
  CAF_REQUIRE_EQUAL(exchanges(), 3u);
  CAF_CHECK_EQUAL(request(2).url, messages + "m1/$value");
  reply(2, answer(200, raw_mail("m1")));
  // Stored durably before the label: the journal has it before any label goes out.
  CAF_CHECK(journal("m1")->outcome == message_outcome::ticket);
  CAF_CHECK(!journal("m1")->labelled);
  // Its LABELER reads m1's categories while m2 downloads: labels never hold up
  // fetching.
  CAF_CHECK(find_open(categories_url("m1")));
  CAF_CHECK(find_open(messages + "m2/$value"));
  // Someone added "Red" since the listing: the label keeps it.
  categories("m1", {"Blue", "Red"});
  CAF_CHECK_EQUAL(patched("m1"), (std::vector<std::string>{"Blue", "Red", "Zendesk"}));
  reply(open(messages + "m1", "PATCH"), answer(200, "{}"));
  CAF_CHECK(journal("m1")->labelled);
  deliver_and_label("m2");
  CAF_CHECK(journal("m2")->labelled);
  CAF_REQUIRE_EQUAL(polls().size(), 1u);
  CAF_CHECK(polls()[0].ok);
  CAF_CHECK_EQUAL(exchanges(), 8u); // nothing more until the next tick
  // Idle, the mailbox has neither FETCHER nor LABELER, and keeps nothing of them (a
  // monitor left behind would keep a dead child's memory for every poll).
  const auto& st = deref<mailbox_actor::stateful_base<mailbox_state>>(box).state;
  CAF_CHECK(!st.fetcher);
  CAF_CHECK(!st.labeler);
  CAF_CHECK_EQUAL(fetcher.get()->strong_refs.load(), 0u);
  // (The mock HTTP CLIENT remembers who asked: a weak reference per exchange.)
  std::size_t asked = 0;
  for (std::size_t i = 0; i < exchanges(); ++i)
    asked += asked_by(i) == fetcher ? 1 : 0;
  CAF_CHECK_EQUAL(asked, 3u); // the second page, m1, m2
  CAF_CHECK_EQUAL(fetcher.get()->weak_refs.load(), 1u + asked);
}

CAF_TEST(an empty poll is the mailbox own listing and starts no fetcher) {
  presence here;
  present = &here;
  here.enter(fetcher_key("mbx_1")); // a FETCHER of a MAILBOX that crashed, still ending
  start();
  CAF_CHECK_EQUAL(exchanges(), 0u); // no cycle beside it
  here.leave(fetcher_key("mbx_1"));
  sched.advance_time(100ms);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 1u);
  CAF_CHECK_EQUAL(asked_by(0), box.address());
  const auto& st = deref<mailbox_actor::stateful_base<mailbox_state>>(box).state;
  CAF_CHECK(!st.fetcher);
  CAF_CHECK(!here.contains(fetcher_key("mbx_1")));
  reply(0, page({}));
  CAF_REQUIRE_EQUAL(polls().size(), 1u);
  CAF_CHECK(polls()[0].ok);
  CAF_CHECK(!st.fetcher);
  // A listing with mail starts one for the rest of the cycle; it leaves as it ends.
  sched.advance_time(cfg.poll_interval);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK_EQUAL(asked_by(1), box.address());
  reply(1, page({item("m1", 100)}));
  CAF_CHECK(st.fetcher);
  CAF_CHECK(here.contains(fetcher_key("mbx_1")));
  deliver_and_label("m1");
  CAF_REQUIRE_EQUAL(polls().size(), 2u);
  CAF_CHECK(polls()[1].ok);
  CAF_CHECK(!st.fetcher);
  CAF_CHECK(!here.contains(fetcher_key("mbx_1")));
  self->send_exit(box, caf::exit_reason::user_shutdown); // before `here` goes
  sched.run();
  box = nullptr;
  present = nullptr;
}

CAF_TEST(known mail is not downloaded again and a removed label is put back) {
  start();
  reply(0, page({item("m1", 100)}));
  deliver_and_label("m1");
  sched.advance_time(cfg.poll_interval);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 5u);
  reply(4, page({item("m1", 100)})); // someone removed the label
  categories("m1");
  CAF_REQUIRE_EQUAL(exchanges(), 7u);
  CAF_CHECK_EQUAL(patched("m1"), (std::vector<std::string>{"Zendesk"}));
  reply(open(messages + "m1", "PATCH"), answer(200, "{}"));
  sched.advance_time(cfg.poll_interval);
  sched.run();
  reply(7, page({item("m1", 100, {"Zendesk"})}));
  CAF_CHECK_EQUAL(exchanges(), 8u); // labelled and journaled: nothing to do
  CAF_CHECK_EQUAL(store->tickets("acc_1", "", "", 10)->records.size(), 1u);
  CAF_CHECK_EQUAL(polls().size(), 3u);
}

CAF_TEST(mail over the size limit is rejected without a download) {
  start();
  reply(0, page({item("big", 5000)}));
  categories("big"); // the next request: no download
  CAF_REQUIRE_EQUAL(exchanges(), 3u);
  CAF_CHECK_EQUAL(patched("big"),
                  (std::vector<std::string>{"Zendesk", "RejectedByZendesk"}));
  CAF_CHECK_EQUAL(std::string{journal("big")->reason}, "too_large");
  reply(open(messages + "big", "PATCH"), answer(200, "{}"));
  auto rejections = store->rejections("acc_1", "mbx_1", "", 10)->records;
  CAF_REQUIRE_EQUAL(rejections.size(), 1u);
  CAF_CHECK_EQUAL(rejections[0].at("detail"), "5000 bytes; the limit is 1000");
}

CAF_TEST(the fetch rate holds downloads back until the window has room) {
  start();
  reply(0, page({item("m1", 100), item("m2", 100), item("m3", 100)}));
  deliver_and_label("m1");
  deliver_and_label("m2");
  // Two downloads in the window: m3 waits, and the poll ends without a download.
  CAF_CHECK_EQUAL(exchanges(), 7u);
  CAF_REQUIRE_EQUAL(polls().size(), 1u);
  sched.advance_time(59s);
  sched.run();
  CAF_CHECK_EQUAL(exchanges(), 7u);
  // When the first download leaves the window the mailbox polls again at once, long
  // before its 600 s interval.
  sched.advance_time(1s);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 8u);
  reply(7, page({item("m1", 100, {"Zendesk"}), item("m2", 100, {"Zendesk"}),
                 item("m3", 100)}));
  deliver_and_label("m3");
}

CAF_TEST(a refused token gets one fresh token and one more try) {
  start();
  reply(0,
        answer(401, R"({"error":{"code":"InvalidAuthenticationToken","message":"x"}})"));
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK_EQUAL(request(1).url, request(0).url);
  CAF_CHECK_EQUAL(request(1).headers[0].second, "Bearer at-2");
  reply(1,
        answer(401, R"({"error":{"code":"InvalidAuthenticationToken","message":"x"}})"));
  CAF_CHECK_EQUAL(exchanges(), 2u); // no loop
  CAF_REQUIRE_EQUAL(polls().size(), 1u);
  CAF_CHECK(!polls()[0].ok);
  CAF_CHECK_EQUAL(polls()[0].code, "InvalidAuthenticationToken");
}

CAF_TEST(a fresh token in the token cache spares the token service) {
  token_cache cache;
  fresh_tokens = &cache;
  cache.put(cfg.id, std::make_shared<const std::string>("cached-1"),
            sys.clock().now() + 1200s);
  auto asked = [&] {
    return deref<exc::token_service_actor::stateful_base<test::token_mock_state>>(tokens)
        .state.asked;
  };
  start();
  CAF_REQUIRE_EQUAL(exchanges(), 1u);
  CAF_CHECK_EQUAL(request(0).headers[0].second, "Bearer cached-1");
  CAF_CHECK_EQUAL(asked(), 0);
  // Graph refuses it: the one more try asks the TOKEN SERVICE, after the invalidation.
  reply(0,
        answer(401, R"({"error":{"code":"InvalidAuthenticationToken","message":"x"}})"));
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK_EQUAL(request(1).headers[0].second, "Bearer at-2");
  CAF_CHECK_EQUAL(asked(), 1);
  reply(1, page({}));
  // The next poll takes the cached token while it is fresh, 600 s on (this mock does
  // not publish: the cache still holds it)...
  sched.advance_time(600s);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 3u);
  CAF_CHECK_EQUAL(request(2).headers[0].second, "Bearer cached-1");
  reply(2, page({}));
  // ...and asks once it is not (1,200 s on).
  sched.advance_time(600s);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 4u);
  CAF_CHECK_EQUAL(request(3).headers[0].second, "Bearer at-2");
  CAF_CHECK_EQUAL(asked(), 2);
  reply(3, page({}));
}

CAF_TEST(a tenant mailbox lists through the graph batcher and downloads directly) {
  cfg.token_key = tenant_token_key("t1");
  graph_batcher_config batching;
  batching.graph_url = graph;
  auto batcher = sys.spawn(graph_batcher, batching);
  service::put(sys, batcher);
  start();
  CAF_CHECK_EQUAL(exchanges(), 0u); // the listing waits at the batcher for others
  CAF_REQUIRE_EQUAL(exchanges_after(20ms), 1u);
  // Alone with its token, it goes as it is.
  CAF_CHECK_EQUAL(
      request(0).url.rfind(
          graph + "/users/support%40contoso.test/mailFolders/inbox/messages/delta?", 0),
      0u);
  reply(0, page({item("m1", 100)}));
  // A download never waits for a batch.
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK_EQUAL(request(1).url, messages + "m1/$value");
  self->send_exit(batcher, caf::exit_reason::user_shutdown);
}

CAF_TEST(the fetch window survives a restart) {
  windows = std::make_unique<storage::throttle_store>(*db);
  // A previous run downloaded twice 10 s ago: the window (2 per 60 s) is full.
  auto ten_ago = std::chrono::system_clock::now() - 10s;
  storage::batch earlier;
  windows->stage(earlier, "mbx_1", "fetch", {ten_ago, ten_ago});
  commit_now(*db, earlier);
  start();
  reply(0, page({item("m1", 100)}));
  CAF_CHECK_EQUAL(exchanges(), 1u); // no download yet
  sched.advance_time(49s);
  sched.run();
  CAF_CHECK_EQUAL(exchanges(), 1u);
  sched.advance_time(2s); // the old downloads have left the window
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  reply(1, page({item("m1", 100)}));
  deliver_and_label("m1");
  // This download is stored for the next run.
  auto stored = windows->load("mbx_1", "fetch");
  CAF_REQUIRE(stored);
  CAF_CHECK_EQUAL(stored->size(), 1u);
}

CAF_TEST(a stored download dated after now counts as now) {
  windows = std::make_unique<storage::throttle_store>(*db);
  // The wall clock was set back 30 s since a previous run downloaded twice.
  auto ahead = std::chrono::system_clock::now() + 30s;
  storage::batch earlier;
  windows->stage(earlier, "mbx_1", "fetch", {ahead, ahead});
  commit_now(*db, earlier);
  start();
  reply(0, page({item("m1", 100)}));
  CAF_CHECK_EQUAL(exchanges(), 1u); // the window (2 per 60 s) is full: no download
  CAF_CHECK_EQUAL(exchanges_after(59s), 1u);
  CAF_CHECK_EQUAL(exchanges_after(2s), 2u); // a minute on: the next poll
}

CAF_TEST(a download in flight when the process died counts from the restart) {
  windows = std::make_unique<storage::throttle_store>(*db);
  cfg.fetch_rate = {1, 60s};
  // The previous run sent a download 59 s ago and died before the answer: Graph may
  // have counted it any time since, so it counts as made at the restart.
  storage::batch earlier;
  windows->stage(earlier, "mbx_1", "fetch-pending",
                 {std::chrono::system_clock::now() - 59s});
  commit_now(*db, earlier);
  start();
  reply(0, page({item("m1", 100)}));
  sched.advance_time(2s);
  sched.run();
  CAF_CHECK_EQUAL(exchanges(), 1u); // still inside the window
  sched.advance_time(59s);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  reply(1, page({item("m1", 100)}));
  CAF_REQUIRE_EQUAL(exchanges(), 3u);
  CAF_CHECK_EQUAL(request(2).url, messages + "m1/$value");
  // While it is out it is marked; the answer clears the mark.
  auto marked = windows->load("mbx_1", "fetch-pending");
  CAF_REQUIRE(marked);
  CAF_CHECK_EQUAL(marked->size(), 1u);
  reply(2, answer(200, raw_mail("m1")));
  marked = windows->load("mbx_1", "fetch-pending");
  CAF_REQUIRE(marked);
  CAF_CHECK(marked->empty());
}

CAF_TEST(a 429 pauses the mailbox for its retry after) {
  start();
  auto throttled =
      answer(429, R"({"error":{"code":"ApplicationThrottled","message":"x"}})");
  throttled.headers = {{"Retry-After", "2.5"}};
  reply(0, throttled);
  CAF_REQUIRE_EQUAL(polls().size(), 1u);
  CAF_CHECK_EQUAL(polls()[0].code, "ApplicationThrottled");
  CAF_CHECK_NOT_EQUAL(polls()[0].paused_until, "");
  sched.advance_time(2400ms);
  sched.run();
  CAF_CHECK_EQUAL(exchanges(), 1u); // nothing before Retry-After
  sched.advance_time(100ms);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 2u); // then at once, not a poll interval later
  reply(1, page({}));
  CAF_REQUIRE_EQUAL(polls().size(), 2u);
  CAF_CHECK(polls()[1].ok);
  CAF_CHECK_EQUAL(polls()[1].paused_until, "");
}

CAF_TEST(fetching and sending share one pause graph asked for at the gate) {
  outbox_peers = true;
  start();
  auto& st = deref<mailbox_actor::stateful_base<mailbox_state>>(box).state;
  // A 429 on the listing pauses every request of the mailbox.
  auto throttled =
      answer(429, R"({"error":{"code":"ApplicationThrottled","message":"x"}})");
  throttled.headers = {{"Retry-After", "30"}};
  reply(0, throttled);
  // An email queued now: the SENDER's request waits at the gate.
  queue_email("e1");
  CAF_CHECK_EQUAL(exchanges(), 1u);
  CAF_CHECK_EQUAL(st.gate.waiting(), 1u);
  // Not marked as sending while it waits: its Sent Items grace has not begun.
  auto waiting = outbox->email(cfg.id, "e1");
  CAF_REQUIRE(waiting && *waiting);
  CAF_CHECK((*waiting)->state == storage::email_state::queued);
  sched.advance_time(31s); // the pause is over: the send goes, then the next listing
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 3u);
  std::size_t send = request(1).url == send_url ? 1 : 2;
  CAF_CHECK(request(send).url == send_url);
  CAF_CHECK_EQUAL(st.gate.in_flight(), 2u);
  // Graph asks the SENDER for a 700 s pause; the listing is answered meanwhile.
  auto asked = answer(429, R"({"error":{"code":"ErrorExceededMessageLimit"}})");
  asked.headers = {{"Retry-After", "700"}};
  reply(send, asked);
  CAF_CHECK_EQUAL(st.gate.in_flight(), 1u); // the listing's
  reply(3 - send, page({}));
  CAF_CHECK_EQUAL(st.gate.in_flight(), 0u);
  sched.advance_time(cfg.poll_interval); // the next poll is due, but held
  sched.run();
  CAF_CHECK_EQUAL(exchanges(), 3u);
  sched.advance_time(101s);
  sched.run();
  CAF_CHECK(exchanges() >= 4u); // the listing (and the send again) after the pause
}

CAF_TEST(a message is not tried while a pause graph asked for lasts) {
  outbox_peers = true;
  start();
  queue_email("e1");
  CAF_REQUIRE_EQUAL(exchanges(), 2u); // the listing and the send
  std::size_t send = request(0).url == send_url ? 0 : 1;
  // Graph asks the SENDER for a pause; then the listing brings a new message.
  auto asked = answer(429, R"({"error":{"code":"ErrorExceededMessageLimit"}})");
  asked.headers = {{"Retry-After", "700"}};
  reply(send, asked);
  reply(1 - send, page({item("m1", 100)}));
  // The cycle ends without counting a try (no download waits out the pause).
  CAF_CHECK(!journal("m1"));
  CAF_CHECK_EQUAL(exchanges(), 2u);
  CAF_REQUIRE_EQUAL(polls().size(), 1u);
  CAF_CHECK(polls()[0].ok);
  CAF_CHECK_NOT_EQUAL(polls()[0].paused_until, "");
  CAF_CHECK(!deref<mailbox_actor::stateful_base<mailbox_state>>(box).state.fetcher);
  sched.advance_time(699s);
  sched.run();
  CAF_CHECK_EQUAL(exchanges(), 2u); // nothing during the pause
  sched.advance_time(2s);           // the next poll once it is over (and the send again)
  sched.run();
  bool listed = false;
  for (std::size_t i = 2; i < exchanges(); ++i)
    listed = listed || request(i).url.find("/mailFolders/inbox/messages/delta?") !=
                           std::string::npos;
  CAF_CHECK(listed);
}

CAF_TEST(a listing that works ends the backoff however the cycle ends) {
  cfg.backoff_initial = 1000ms;
  cfg.fetch_rate = {100, 60s};
  start();
  auto throttled =
      answer(429, R"({"error":{"code":"ApplicationThrottled","message":"x"}})");
  for (int i = 0; i < 4; ++i) {
    reply(exchanges() - 1, page({item("m1", 100)})); // the listing works
    reply(open(messages + "m1/$value"), throttled);  // the download: no Retry-After
    auto before = exchanges();
    sched.advance_time(1250ms);
    sched.run();
    // The first step of the backoff each time (1 to 1.25 s), never a longer one.
    CAF_REQUIRE_EQUAL(exchanges(), before + 1);
  }
  auto m1 = journal("m1"); // each try given back: the mailbox's trouble
  CAF_CHECK(!m1 || m1->attempts == 0u);
}

CAF_TEST(a pause graph asked for survives a restart) {
  stopped_by_graph_pause();
  start(); // a restart 0 s later: Graph's 120 s still hold
  CAF_CHECK_EQUAL(exchanges(), 1u);
  CAF_CHECK_EQUAL(exchanges_after(118s), 1u);
  CAF_CHECK_EQUAL(exchanges_after(3s), 2u);
}

CAF_TEST(a mailbox whose every request fails settles at one try per longest backoff) {
  cfg.backoff_initial = 1000ms;
  cfg.backoff_max = 300'000ms;
  start();
  // Each failure waits in [d, 5/4 d] with d = 1 s, 2 s, 4 s, … capped at 300 s: never
  // shorter than d, so at the cap one listing per 5 minutes at most.
  std::chrono::milliseconds d = 1000ms;
  for (std::size_t i = 0; i < 14; ++i) {
    CAF_REQUIRE_EQUAL(exchanges(), i + 1);
    reply(i, answer(500, R"({"error":{"code":"InternalServerError","message":"x"}})"));
    // One poll timer, however many polls failed (none left stale to pile up).
    CAF_CHECK_EQUAL(delayed_messages(), 1u);
    sched.advance_time(d - 1ms);
    sched.run();
    CAF_CHECK_EQUAL(exchanges(), i + 1); // not before the delay
    sched.advance_time(d / 4 + 1ms);
    sched.run();
    CAF_CHECK_EQUAL(exchanges(), i + 2); // and no later than a quarter past it
    d = std::min(d * 2, cfg.backoff_max);
  }
  CAF_CHECK_EQUAL(d, 300'000ms);
  // A listing that works ends the backoff.
  reply(14, page({}));
  CAF_CHECK(polls().back().ok);
  CAF_CHECK_EQUAL(polls().back().paused_until, "");
}

CAF_TEST(a label that keeps failing does not block the next message) {
  start();
  reply(0, page({item("m1", 100), item("m2", 100)}));
  reply(open(messages + "m1/$value"), answer(200, raw_mail("m1")));
  // m1's label is under way (its LABELER waits for Graph); m2 is downloaded and
  // stored meanwhile.
  CAF_CHECK(find_open(categories_url("m1")));
  reply(open(messages + "m2/$value"), answer(200, raw_mail("m2")));
  CAF_CHECK(journal("m2")->outcome == message_outcome::ticket);
  categories("m1");
  reply(open(messages + "m1", "PATCH"),
        answer(500, R"({"error":{"code":"ErrorInternalServerError","message":"no"}})"));
  // m1's failure is counted, and the next label goes on.
  label_ok("m2");
  CAF_CHECK(journal("m2")->labelled);
  auto m1 = journal("m1");
  CAF_CHECK(m1->outcome == message_outcome::ticket); // its ticket stands
  CAF_CHECK(!m1->labelled);
  CAF_CHECK_EQUAL(m1->label_attempts, 1u);
  CAF_CHECK_EQUAL(m1->step, "labelling");
  CAF_CHECK_EQUAL(m1->error_code, "ErrorInternalServerError");
  CAF_CHECK_EQUAL(open_count(), 0u); // not tried again within the cycle
  CAF_REQUIRE_EQUAL(polls().size(), 1u);
  CAF_CHECK(polls()[0].ok); // a message's failure is not the mailbox's
  // The next poll reports it, and labels m1 again (its backoff is over).
  sched.advance_time(cfg.poll_interval);
  sched.run();
  reply(exchanges() - 1, page({item("m1", 100), item("m2", 100, {"Zendesk"})}));
  CAF_REQUIRE_EQUAL(polls().size(), 2u);
  CAF_CHECK(polls()[1].ok);
  CAF_CHECK_EQUAL(polls()[1].failed_message.step, "labelling");
  CAF_CHECK_EQUAL(polls()[1].failed_message.code, "ErrorInternalServerError");
  label_ok("m1");
  CAF_CHECK(journal("m1")->labelled);
}

CAF_TEST(a failed label waits its own backoff however often the mailbox polls) {
  cfg.poll_interval = 5s; // polls far more often than the label's first retry (30 s)
  start();
  reply(0, page({item("m1", 100)}));
  deliver_and_label_failing_once("m1");
  // Every poll lists m1 unlabelled; its label is tried again only after its backoff:
  // 30 s to 37.5 s, not at the next poll that works.
  int listings = 0;
  auto failed_at = sched.clock().now();
  std::optional<caf::timespan> retried_after;
  for (int s = 0; s < 40 && !retried_after; ++s) {
    sched.advance_time(1s);
    sched.run();
    const auto& ex = http_state().exchanges;
    for (std::size_t i = 0; i < ex.size(); ++i)
      if (!ex[i].answered &&
          ex[i].request.url.find("mailFolders/inbox") != std::string::npos) {
        ++listings;
        reply(i, page({item("m1", 100)}));
      }
    if (find_open(categories_url("m1"))) retried_after = sched.clock().now() - failed_at;
  }
  CAF_REQUIRE(retried_after);
  CAF_CHECK_GREATER_OR_EQUAL(*retried_after, caf::timespan{30s});
  CAF_CHECK_GREATER_OR_EQUAL(listings, 5); // the polls went on meanwhile
  label_ok("m1");
  CAF_CHECK(journal("m1")->labelled);
}

CAF_TEST(a labeler that fails leaves its work to the journal and the next poll) {
  start();
  reply(0, page({item("m1", 100)}));
  reply(open(messages + "m1/$value"), answer(200, raw_mail("m1")));
  auto& st = deref<mailbox_actor::stateful_base<mailbox_state>>(box).state;
  auto first = st.labeler;
  CAF_REQUIRE(first);
  CAF_CHECK_EQUAL(st.gate.in_flight(), 1u); // its read of m1's categories
  self->send_exit(first, caf::make_error(caf::sec::runtime_error, "boom"));
  sched.run();
  CAF_CHECK(!st.labeler);
  CAF_CHECK_EQUAL(st.gate.in_flight(), 0u); // its slot is back
  CAF_CHECK_EQUAL(metrics.value("exconnect_actor_restarts_total", {{"kind", "labeler"}}),
                  1.0);
  // The journal says m1 is not labelled: the next poll hands it to a new LABELER.
  sched.advance_time(cfg.poll_interval);
  sched.run();
  reply(exchanges() - 1, page({item("m1", 100)}));
  CAF_REQUIRE(st.labeler);
  CAF_CHECK_NOT_EQUAL(st.labeler.address(), first.address());
  label_ok("m1");
  CAF_CHECK(journal("m1")->labelled);
  CAF_REQUIRE_EQUAL(polls().size(), 2u);
  CAF_CHECK_EQUAL(polls()[1].restarts, 1u);
}

CAF_TEST(a fetcher that fails is counted and the next poll starts another) {
  start();
  reply(0, page({item("m1", 100), item("m2", 100)}));
  auto& st = deref<mailbox_actor::stateful_base<mailbox_state>>(box).state;
  auto first = st.fetcher;
  CAF_REQUIRE(first);
  CAF_CHECK_EQUAL(st.gate.in_flight(), 1u); // its download of m1
  CAF_CHECK_EQUAL(attempts_of("m1"), 1u);
  self->send_exit(first, caf::make_error(caf::sec::runtime_error, "boom"));
  sched.run();
  CAF_CHECK(!st.fetcher);
  CAF_CHECK_EQUAL(st.gate.in_flight(), 0u); // its slot is back
  CAF_CHECK_EQUAL(metrics.value("exconnect_actor_restarts_total", {{"kind", "fetcher"}}),
                  1.0);
  CAF_REQUIRE_EQUAL(polls().size(), 1u);
  CAF_CHECK(!polls()[0].ok);
  CAF_CHECK_EQUAL(polls()[0].code, "fetcher_failed");
  CAF_CHECK_EQUAL(polls()[0].restarts, 1u);
  // The next poll's FETCHER takes both up again; m1's unfinished try counts.
  sched.advance_time(cfg.poll_interval);
  sched.run();
  reply(exchanges() - 1, page({item("m1", 100), item("m2", 100)}));
  CAF_REQUIRE(st.fetcher);
  CAF_CHECK_NOT_EQUAL(st.fetcher.address(), first.address());
  deliver_and_label("m1");
  CAF_CHECK_EQUAL(attempts_of("m1"), 2u);
  deliver_and_label("m2");
  CAF_CHECK(journal("m1")->labelled);
  CAF_CHECK(journal("m2")->labelled);
  CAF_REQUIRE_EQUAL(polls().size(), 2u);
  CAF_CHECK(polls()[1].ok);
  CAF_CHECK(!st.fetcher);
}

CAF_TEST(a mailbox told to stop while its labeler works ends with it) {
  start();
  reply(0, page({item("m1", 100)}));
  reply(open(messages + "m1/$value"), answer(200, raw_mail("m1")));
  auto& st = deref<mailbox_actor::stateful_base<mailbox_state>>(box).state;
  auto lab = st.labeler;
  CAF_REQUIRE(lab);
  self->monitor(box);
  self->monitor(lab);
  self->send_exit(box, caf::exit_reason::user_shutdown);
  sched.run();
  std::vector<caf::actor_addr> down;
  for (int i = 0; i < 2; ++i)
    self->receive([&](const caf::down_msg& dm) { down.push_back(dm.source); });
  CAF_REQUIRE_EQUAL(down.size(), 2u);
  CAF_CHECK_EQUAL(down[0], lab.address()); // its child first
  CAF_CHECK_EQUAL(down[1], box.address());
  CAF_CHECK(!journal("m1")->labelled); // the next start labels it
  box = nullptr;
}

CAF_TEST(a message that keeps failing is quarantined and the rest goes on) {
  cfg.max_attempts = 3;
  cfg.retry_initial = 1000ms;
  cfg.poll_interval = 3600s;
  cfg.fetch_rate = {100, 60s};
  start();
  auto boom = answer(500, R"({"error":{"code":"ErrorItemCorrupt","message":"bad"}})");
  reply(0, page({item("m1", 100), item("m2", 100)}));
  reply(1, boom);          // m1's first try
  deliver_and_label("m2"); // m2 goes on meanwhile
  CAF_CHECK_EQUAL(attempts_of("m1"), 1u);
  CAF_CHECK(journal("m1")->pending());
  // m1's own backoff (1 s, then 2 s) brings the next polls forward, long before the
  // hour-long interval.
  std::size_t at = 5;
  for (auto d : {1000ms, 2000ms}) {
    sched.advance_time(d - 1ms);
    sched.run();
    CAF_CHECK_EQUAL(exchanges(), at); // not before its backoff
    sched.advance_time(d / 4 + 1ms);
    sched.run();
    CAF_REQUIRE_EQUAL(exchanges(), at + 1);
    reply(at, page({item("m1", 100), item("m2", 100, {"Zendesk"})}));
    CAF_REQUIRE_EQUAL(request(at + 1).url, messages + "m1/$value");
    reply(at + 1, boom);
    at += 2;
  }
  // The third failure quarantines it: a processing_failed rejection, labelled so.
  categories("m1");
  CAF_CHECK_EQUAL(patched("m1"),
                  (std::vector<std::string>{"Zendesk", "RejectedByZendesk"}));
  reply(open(messages + "m1", "PATCH"), answer(200, "{}"));
  auto m1 = journal("m1");
  CAF_CHECK(m1->outcome == message_outcome::rejected);
  CAF_CHECK_EQUAL(m1->reason, "processing_failed");
  CAF_CHECK_EQUAL(m1->attempts, 3u);
  CAF_CHECK(m1->labelled);
  auto rejections = store->rejections("acc_1", "mbx_1", "", 10)->records;
  CAF_REQUIRE_EQUAL(rejections.size(), 1u);
  CAF_CHECK_EQUAL(rejections[0].at("reason"), "processing_failed");
  auto detail = rejections[0].at("detail").get<std::string>();
  CAF_CHECK_NOT_EQUAL(detail.find("download failed 3 times"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(detail.find("ErrorItemCorrupt"), std::string::npos);
  auto counters = store->counters("mbx_1");
  CAF_CHECK_EQUAL(counters->at("quarantined"), 1);
  CAF_CHECK_EQUAL(counters->at("quarantined_by_step").at("download"), 1);
  CAF_CHECK_EQUAL(store->tickets("acc_1", "", "", 10)->records.size(), 1u); // m2's
}

CAF_TEST(a failing message keeps its backoff however much else succeeds) {
  cfg.retry_initial = 60'000ms;
  cfg.poll_interval = 10s;
  cfg.fetch_rate = {100, 60s};
  start();
  auto boom =
      answer(500, R"({"error":{"code":"ErrorInternalServerError","message":"x"}})");
  reply(0, page({item("m1", 100), item("m2", 100)}));
  reply(1, boom); // m1 fails
  deliver_and_label("m2");
  // Polls every 10 s succeed (listing) and other mail goes through, yet m1 waits its
  // 60 s; a second failure waits 120 s, not 60 s again.
  std::size_t at = 5;
  auto tick = [&](bool m1_due) {
    sched.advance_time(10s);
    sched.run();
    CAF_REQUIRE_EQUAL(exchanges(), at + 1);
    reply(at, page({item("m1", 100), item("m2", 100, {"Zendesk"})}));
    ++at;
    if (m1_due) {
      CAF_REQUIRE_EQUAL(exchanges(), at + 1);
      CAF_CHECK_EQUAL(request(at).url, messages + "m1/$value");
      reply(at, boom);
      ++at;
    }
    CAF_CHECK_EQUAL(exchanges(), at);
  };
  for (int i = 0; i < 5; ++i)
    tick(false); // 10 … 50 s
  // Due somewhere in [60 s, 75 s]: tried at the poll of 60 s, 70 s or 80 s.
  for (int i = 0; i < 3 && exchanges() == at; ++i) {
    sched.advance_time(10s);
    sched.run();
    CAF_REQUIRE_EQUAL(exchanges(), at + 1);
    reply(at, page({item("m1", 100), item("m2", 100, {"Zendesk"})}));
    ++at;
  }
  CAF_REQUIRE_EQUAL(exchanges(), at + 1);
  CAF_CHECK_EQUAL(request(at).url, messages + "m1/$value");
  reply(at, boom);
  ++at;
  CAF_CHECK_EQUAL(attempts_of("m1"), 2u);
  for (int i = 0; i < 11; ++i)
    tick(false); // 110 s of successful polls: still within its 120 s or more
}

CAF_TEST(a try the process did not survive counts) {
  cfg.max_attempts = 3;
  cfg.retry_initial = 1000ms;
  cfg.fetch_rate = {100, 60s};
  start();
  reply(0, page({item("m1", 100)}));
  CAF_REQUIRE_EQUAL(exchanges(), 2u); // the download is out: the try is counted
  CAF_CHECK_EQUAL(attempts_of("m1"), 1u);
  auto restart = [&] { // the process dies mid-download
    self->send_exit(box, caf::exit_reason::kill);
    sched.run();
    start();
    auto listing = exchanges() - 1;
    reply(listing, page({item("m1", 100)}));
    return listing;
  };
  // A crash during the first try is most likely not the message's doing: at once.
  auto listing = restart();
  CAF_REQUIRE_EQUAL(exchanges(), listing + 2);
  CAF_CHECK_EQUAL(request(listing + 1).url, messages + "m1/$value");
  CAF_CHECK_EQUAL(attempts_of("m1"), 2u);
  // After that the message waits out its backoff (1 s, then 2 s; counted on the wall
  // clock, which a restarted MAILBOX starts from without the virtual time before).
  for (auto wait : {2s, 5s}) {
    listing = restart();
    CAF_CHECK_EQUAL(exchanges(), listing + 1); // m1 is not touched yet
    sched.advance_time(wait);
    sched.run();
    CAF_REQUIRE_EQUAL(exchanges(), listing + 2);
    reply(listing + 1, page({item("m1", 100)}));
    if (wait == 2s) {
      CAF_REQUIRE_EQUAL(exchanges(), listing + 3);
      CAF_CHECK_EQUAL(request(listing + 2).url, messages + "m1/$value");
      CAF_CHECK_EQUAL(attempts_of("m1"), 3u);
    }
  }
  // Three tries counted and none finished: quarantined without a fourth download.
  categories("m1");
  CAF_CHECK_EQUAL(patched("m1"),
                  (std::vector<std::string>{"Zendesk", "RejectedByZendesk"}));
  auto m1 = journal("m1");
  CAF_CHECK_EQUAL(m1->reason, "processing_failed");
  CAF_CHECK_EQUAL(m1->error_code, "interrupted");
}

CAF_TEST(a graceful stop gives the try in flight back) {
  cfg.fetch_rate = {100, 60s};
  start();
  reply(0, page({item("m1", 100)}));
  CAF_REQUIRE_EQUAL(exchanges(), 2u); // the download is out: the try is counted
  CAF_CHECK_EQUAL(attempts_of("m1"), 1u);
  self->monitor(box);
  self->send_exit(box, caf::exit_reason::user_shutdown); // SIGTERM
  sched.run();
  bool down = false;
  self->receive([&](const caf::down_msg& dm) { down = dm.source == box.address(); });
  CAF_CHECK(down);
  auto parked = journal("m1"); // parked: the try does not count
  CAF_CHECK(!parked || parked->attempts == 0);
  CAF_CHECK_EQUAL(exchanges(), 2u); // and nothing new started
  // The next start takes it up at once.
  start();
  auto listing = exchanges() - 1;
  reply(listing, page({item("m1", 100)}));
  CAF_REQUIRE_EQUAL(exchanges(), listing + 2);
  CAF_CHECK_EQUAL(request(listing + 1).url, messages + "m1/$value");
  CAF_CHECK_EQUAL(attempts_of("m1"), 1u);
}

CAF_TEST(a conversion that fails is quarantined after its last try) {
  // A CONVERTER that cannot convert (as if it had thrown).
  // (The int only gives spawn an argument: CAF 0.17 trips UBSan without one.)
  conv = sys.spawn(
      [](converter_actor::pointer, int) -> converter_actor::behavior_type {
        return {[](atom::convert, const std::string&,
                   const inbound_mail&) -> caf::result<inbound_mail> {
          return caf::make_error(caf::sec::runtime_error, "boom");
        }};
      },
      0);
  quarantined_in_conversion();
  auto counters = store->counters("mbx_1");
  CAF_REQUIRE(counters);
  CAF_CHECK_EQUAL(counters->at("quarantined_by_step").at("conversion"), 1);
}

CAF_TEST(a conversion that runs past its budget is stopped and quarantined) {
  // The real CONVERTER with no time at all: it stops the conversion and answers.
  self->send_exit(conv, caf::exit_reason::user_shutdown);
  conv = sys.spawn(converter, &connected, std::chrono::milliseconds{0}, nullptr);
  CAF_CHECK_EQUAL(quarantined_in_conversion().error_code, "conversion_timeout");
}

CAF_TEST(a mail goes to the least loaded converter) {
  // Converter 0 is busy with a slow mail (and would fail this one); 1 is idle.
  converter_load load{2};
  auto slow = load.acquire();
  CAF_REQUIRE_EQUAL(slow->index(), 0u);
  pool = &load;
  auto idle = conv;
  service::put(sys, service::converter_name(1), idle);
  conv = sys.spawn(
      [](converter_actor::pointer, int) -> converter_actor::behavior_type {
        return {[](atom::convert, const std::string&,
                   const inbound_mail&) -> caf::result<inbound_mail> {
          return caf::make_error(caf::sec::runtime_error, "not this one");
        }};
      },
      0);
  start(); // registers the failing one as converter 0
  reply(0, page({item("m1", 100)}));
  reply(1, answer(200, raw_mail("m1")));
  categories("m1");
  CAF_CHECK_EQUAL(patched("m1"), (std::vector<std::string>{"Zendesk"}));
  CAF_CHECK(journal("m1")->outcome == message_outcome::ticket);
  CAF_CHECK_EQUAL(load.in_flight(1), 0u); // its lease ended with the answer
  CAF_CHECK_EQUAL(load.in_flight(0), 1u);
  sys.registry().erase(service::converter_name(1));
  self->send_exit(idle, caf::exit_reason::user_shutdown);
}

CAF_TEST(a mail waits for room in the conversion budget before its download) {
  // 900 of the process's 1000 bytes are on their way through conversion elsewhere.
  converter_load load{1, 1000};
  auto elsewhere = load.reserve(900);
  CAF_REQUIRE(elsewhere);
  pool = &load;
  start();
  reply(0, page({item("m1", 200)}));
  // No download and no try counted while there is no room, however long it lasts.
  CAF_CHECK_EQUAL(exchanges_after(5s), 1u);
  CAF_CHECK(!journal("m1"));
  CAF_CHECK_EQUAL(load.reserved(), 900u);
  elsewhere.reset();
  CAF_CHECK_EQUAL(exchanges_after(3s), 2u); // it looks again within 2.5 s
  CAF_CHECK_EQUAL(load.reserved(), 200u);   // held from the download on
  deliver_and_label("m1");
  CAF_CHECK(journal("m1")->outcome == message_outcome::ticket);
  CAF_CHECK_EQUAL(load.reserved(), 0u); // and given back once it is stored
}

CAF_TEST(a sender that ran a minute restarts after the first backoff again) {
  outbox_peers = true;
  start();
  queue_email("e1"); // its send stays unanswered: each SENDER has work
  auto& st = deref<mailbox_actor::stateful_base<mailbox_state>>(box).state;
  auto crash_and_restart_within = [&](caf::timespan wait) {
    CAF_REQUIRE(st.sender);
    self->send_exit(st.sender, caf::make_error(caf::sec::runtime_error, "boom"));
    sched.run();
    CAF_CHECK(!st.sender);
    sched.advance_time(wait);
    sched.run();
    return static_cast<bool>(st.sender);
  };
  CAF_CHECK(crash_and_restart_within(125ms));  // 100 ms + up to a quarter
  CAF_CHECK(!crash_and_restart_within(125ms)); // in a row: 200 ms to 250 ms
  sched.advance_time(130ms);
  sched.run();
  CAF_REQUIRE(st.sender);
  sched.advance_time(60s); // healthy for a minute
  sched.run();
  CAF_CHECK(crash_and_restart_within(125ms)); // the backoff starts over
}

CAF_TEST(a sender that did its work starts the restart backoff over) {
  cfg.send.rate = {1, 10s}; // one mail per 10 s: a SENDER waits without a request
  outbox_peers = true;
  start();
  auto& st = deref<mailbox_actor::stateful_base<mailbox_state>>(box).state;
  auto crash = [&] {
    CAF_REQUIRE(st.sender);
    self->send_exit(st.sender, caf::make_error(caf::sec::runtime_error, "boom"));
    sched.run();
    CAF_CHECK(!st.sender);
  };
  queue_email("e0");
  reply(open(send_url, "POST"), answer(202, ""));
  CAF_CHECK(!st.sender); // done: ended
  queue_email("e1");     // waits for the window
  crash();               // 100 ms to 125 ms
  sched.advance_time(130ms);
  sched.run();
  crash(); // in a row: 200 ms to 250 ms
  sched.advance_time(130ms);
  sched.run();
  CAF_CHECK(!st.sender);
  sched.advance_time(130ms);
  sched.run();
  CAF_REQUIRE(st.sender);
  sched.advance_time(11s); // the window has room: e1 goes, and the SENDER is done
  sched.run();
  reply(open(send_url, "POST"), answer(202, ""));
  CAF_CHECK(!st.sender);
  queue_email("e2"); // the window is full again: it waits
  crash();
  sched.advance_time(130ms);
  sched.run();
  CAF_CHECK(st.sender); // the backoff started over
}

CAF_TEST(a sender with nothing to send ends and the next email starts another) {
  outbox_peers = true;
  start();
  auto& st = deref<mailbox_actor::stateful_base<mailbox_state>>(box).state;
  CAF_CHECK(!st.sender); // the outbox was empty: it drained nothing and ended
  queue_email("e1");
  CAF_REQUIRE(st.sender);
  auto first = st.sender;
  reply(open(send_url, "POST"), answer(202, ""));
  CAF_CHECK(!st.sender); // sent, nothing left: ended again
  auto e1 = outbox->email(cfg.id, "e1");
  CAF_REQUIRE(e1 && *e1);
  CAF_CHECK((*e1)->state == storage::email_state::sent);
  queue_email("e2");
  CAF_REQUIRE(st.sender);
  CAF_CHECK_NOT_EQUAL(st.sender.address(), first.address());
  CAF_CHECK(find_open(send_url, "POST"));
  CAF_CHECK_EQUAL(st.child_restarts, 0u); // ending idle is no failure
}

CAF_TEST(the mailbox restarts its sender and stops only after it) {
  outbox_peers = true;
  start();
  queue_email("e1"); // its send stays unanswered: the SENDER has work
  auto& st = deref<mailbox_actor::stateful_base<mailbox_state>>(box).state;
  auto first = st.sender;
  CAF_REQUIRE(first);
  self->send_exit(first, caf::make_error(caf::sec::runtime_error, "boom"));
  sched.run();
  CAF_CHECK(!st.sender);         // down, restart pending
  self->send(box, atom::wake_v); // new mail meanwhile does not skip the backoff
  sched.run();
  CAF_CHECK(!st.sender);
  sched.advance_time(130ms);
  sched.run();
  CAF_REQUIRE(st.sender);
  CAF_CHECK_NOT_EQUAL(st.sender.address(), first.address());
  CAF_CHECK_EQUAL(st.child_restarts, 1u);
  // Told to stop, the MAILBOX waits for its SENDER's down message before it goes.
  auto second = st.sender;
  self->monitor(box);
  self->monitor(second);
  self->send_exit(box, caf::exit_reason::user_shutdown);
  std::vector<caf::actor_addr> order;
  sched.run();
  for (int i = 0; i < 2; ++i)
    self->receive([&](const caf::down_msg& dm) { order.push_back(dm.source); });
  CAF_REQUIRE_EQUAL(order.size(), 2u);
  CAF_CHECK_EQUAL(order[0], second.address());
  CAF_CHECK_EQUAL(order[1], box.address());
}

CAF_TEST(a sender starts once the previous one is gone and ends with its mailbox) {
  presence here;
  present = &here;
  outbox_peers = true;
  here.enter(sender_key("mbx_1")); // a SENDER of a MAILBOX that crashed, still ending
  queue_email("e1");               // work for the new one
  start();
  auto& st = deref<mailbox_actor::stateful_base<mailbox_state>>(box).state;
  CAF_CHECK(!st.sender);
  CAF_CHECK(here.contains(mailbox_key("mbx_1")) == false); // entered by its REGISTRY
  sched.advance_time(100ms);
  sched.run();
  CAF_CHECK(!st.sender);
  here.leave(sender_key("mbx_1"));
  sched.advance_time(100ms);
  sched.run();
  auto snd = st.sender;
  CAF_REQUIRE(snd);
  CAF_CHECK(here.contains(sender_key("mbx_1")));
  // A MAILBOX that dies without a word (kill: no exit handler runs) takes its SENDER
  // with it; the SENDER leaves as it ends.
  self->monitor(snd);
  self->send_exit(box, caf::exit_reason::kill);
  sched.run();
  bool down = false;
  self->receive([&](const caf::down_msg& dm) { down = dm.source == snd.address(); });
  CAF_CHECK(down);
  CAF_CHECK(!here.contains(sender_key("mbx_1")));
  box = nullptr;
  present = nullptr;
}

CAF_TEST(a mailbox starts its sender only once its outbox has mail to send) {
  windows = std::make_unique<storage::throttle_store>(*db);
  outbox_peers = true;
  // A send pause left by the run before: a SENDER that starts reports it.
  storage::batch changes;
  windows->stage_pause(changes, cfg.id, "send-pause",
                       std::chrono::system_clock::now() + 60s);
  commit_now(*db, changes);
  start();
  auto& st = deref<mailbox_actor::stateful_base<mailbox_state>>(box).state;
  CAF_CHECK(!st.sender);
  CAF_CHECK_EQUAL(st.sending.paused_until, ""); // no SENDER has reported
  CAF_CHECK_EQUAL(exchanges(), 1u);             // the listing only
  queue_email("e1");
  CAF_CHECK(st.sender);
  CAF_CHECK(!st.sending.paused_until.empty()); // it read the stored pause
  CAF_CHECK(!find_open(send_url));             // and keeps it
}

CAF_TEST(a mailbox with mail queued from before starts its sender at once) {
  outbox_peers = true;
  queue_email("e1"); // before the MAILBOX runs
  start();
  CAF_CHECK(deref<mailbox_actor::stateful_base<mailbox_state>>(box).state.sender);
  CAF_CHECK(find_open(send_url, "POST"));
}

CAF_TEST(a mailbox that may have a predecessor reads after its writes) {
  sched.run(); // the fixture's HELPDESK has had its own barrier answered
  auto held = sys.spawn(barrier_holder, 0);
  service::put(sys, held);
  start(); // after_predecessor: the default
  CAF_CHECK_EQUAL(exchanges(), 0u);
  auto& barriers =
      deref<storage_writer_actor::stateful_base<held_barriers>>(held).state.barriers;
  CAF_REQUIRE_EQUAL(barriers.size(), 1u);
  self->send(held, atom::sync_v); // answers it
  sched.run();
  CAF_CHECK_EQUAL(exchanges(), 1u); // the listing, once the writes were applied
  self->send_exit(held, caf::exit_reason::user_shutdown);
}

CAF_TEST(a mailbox without a predecessor in the process does not wait for writes) {
  sched.run(); // the fixture's HELPDESK has had its own barrier answered
  auto held = sys.spawn(barrier_holder, 0);
  service::put(sys, held);
  cfg.after_predecessor = false; // the process's first start of it
  start();
  CAF_CHECK_EQUAL(exchanges(), 1u);
  CAF_CHECK(deref<storage_writer_actor::stateful_base<held_barriers>>(held)
                .state.barriers.empty());
  self->send_exit(held, caf::exit_reason::user_shutdown);
}

CAF_TEST(a first poll that waits for its turn answers once graph answered) {
  cfg.first_poll_waits_turn = true;
  start();
  CAF_CHECK_EQUAL(exchanges_after(600s), 0u); // no poll, no timer, until its turn
  auto turn = self->request(box, caf::infinite, atom::poll_v);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 1u); // its listing
  CAF_CHECK(!received_turn(turn));    // not before Graph answered
  reply(0, page({}));
  CAF_CHECK_EQUAL(received_turn(turn), std::optional<bool>{true});
  // A second turn is no poll.
  auto again = self->request(box, caf::infinite, atom::poll_v);
  sched.run();
  CAF_CHECK_EQUAL(received_turn(again), std::optional<bool>{false});
  CAF_CHECK_EQUAL(exchanges(), 1u);
}

CAF_TEST(a first poll whose mailbox is paused gives its turn back at once) {
  stopped_by_graph_pause();
  cfg.first_poll_waits_turn = true;
  start(); // Graph's 120 s still hold
  auto turn = self->request(box, caf::infinite, atom::poll_v);
  sched.run();
  CAF_CHECK_EQUAL(received_turn(turn), std::optional<bool>{false});
  CAF_CHECK_EQUAL(exchanges(), 1u);
  CAF_CHECK_EQUAL(exchanges_after(121s), 2u); // it polls when the pause ends
}

CAF_TEST(a mailbox with a phase comes back to it after its first poll) {
  cfg.phase = 123'456ms; // within the fixture's interval of 600 s
  start();
  auto first = sched.clock().now();
  CAF_REQUIRE_EQUAL(exchanges(), 1u); // the first poll comes at once
  reply(0, page({}));
  // The second comes on the phase, at least half an interval after the first.
  auto second = next_on_phase(first + 300s, 600'000ms, *cfg.phase);
  CAF_CHECK_EQUAL(std::chrono::duration_cast<std::chrono::milliseconds>(
                      second.time_since_epoch() % 600s),
                  *cfg.phase);
  CAF_REQUIRE(second - first >= 300s && second - first < 900s);
  auto wait = second - sched.clock().now();
  CAF_CHECK_EQUAL(exchanges_after(wait - 1ms), 1u);
  CAF_CHECK_EQUAL(exchanges_after(1ms), 2u);
  reply(1, page({}));
  // From there on, an interval apart: the phase holds.
  CAF_CHECK_EQUAL(exchanges_after(600s - 1ms), 2u);
  CAF_CHECK_EQUAL(exchanges_after(1ms), 3u);
}

CAF_TEST(a retry after of zero backs off instead of looping) {
  cfg.backoff_initial = 1000ms;
  start();
  auto throttled =
      answer(429, R"({"error":{"code":"ApplicationThrottled","message":"x"}})");
  throttled.headers = {{"Retry-After", "0"}};
  reply(0, throttled);
  sched.run();
  CAF_CHECK_EQUAL(exchanges(), 1u); // not at once
  sched.advance_time(1250ms);       // the first backoff: 1 s to 1.25 s
  sched.run();
  CAF_CHECK_EQUAL(exchanges(), 2u);
}

CAF_TEST(a dropped connection is retried after a backoff) {
  cfg.backoff_initial = 1000ms;
  start();
  net::client_response dropped;
  dropped.error = net::transport_error::io;
  dropped.error_message = "connection reset";
  reply(0, dropped);
  CAF_CHECK_NOT_EQUAL(polls().back().paused_until, "");
  sched.advance_time(1250ms); // the first backoff: 1 s to 1.25 s
  sched.run();
  CAF_CHECK_EQUAL(exchanges(), 2u);
}

namespace {

const std::string inbox_delta =
    graph + "/users/support%40contoso.test/mailFolders/inbox/messages/delta";

std::string link_of(const std::string& token) {
  return inbox_delta + "?%24deltatoken=" + token;
}

bool full_round(const std::string& url) {
  return url.rfind(inbox_delta + "?%24select=", 0) == 0;
}

} // namespace

CAF_TEST(the next round starts from the deltaLink of the last round taken in full) {
  start();
  reply(0, page({item("m1", 100)}, {}, link_of("a")));
  deliver_and_label("m1");
  CAF_CHECK_EQUAL(store->delta_link("mbx_1")->value_or(""), link_of("a"));
  CAF_CHECK(store->open_messages("mbx_1", 10)->empty()); // taken and labelled
  auto before = exchanges();
  sched.advance_time(cfg.poll_interval);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), before + 1);
  CAF_CHECK_EQUAL(request(before).url, link_of("a")); // followed verbatim
  CAF_CHECK_EQUAL(request(before).headers[2].second,
                  "IdType=\"ImmutableId\", odata.maxpagesize=100");
  // Our own label comes back as a change: known and labelled, nothing to do.
  reply(before, page({item("m1", 100, {"Zendesk"})}, {}, link_of("b")));
  CAF_CHECK_EQUAL(exchanges(), before + 1);
  CAF_CHECK_EQUAL(store->delta_link("mbx_1")->value_or(""), link_of("b"));
  // A round with nothing new: no FETCHER, and the same link is not written again.
  sched.advance_time(cfg.poll_interval);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), before + 2);
  CAF_CHECK_EQUAL(request(before + 1).url, link_of("b"));
  reply(before + 1, page({}, {}, link_of("b")));
  CAF_CHECK(!deref<mailbox_actor::stateful_base<mailbox_state>>(box).state.fetcher);
  CAF_CHECK_EQUAL(polls().size(), 3u);
  CAF_CHECK(polls().back().ok);
}

CAF_TEST(removed and read messages in a round are not taken) {
  start();
  auto read = item("r1", 100);
  read["isRead"] = true;
  json removed = {{"id", "x1"}, {"@removed", {{"reason", "deleted"}}}};
  reply(0, page({read, removed}, {}, link_of("a")));
  CAF_CHECK(!deref<mailbox_actor::stateful_base<mailbox_state>>(box).state.fetcher);
  CAF_CHECK_EQUAL(exchanges(), 1u);
  CAF_CHECK_EQUAL(store->delta_link("mbx_1")->value_or(""), link_of("a"));
}

CAF_TEST(a round cut short by the fetch rate is listed again from where it started) {
  cfg.fetch_rate = {1, 60s};
  start();
  reply(0, page({item("m1", 100), item("m2", 100)}, {}, link_of("a")));
  deliver_and_label("m1");
  // m2 waits for the window: the round is not over, its link is not kept.
  CAF_CHECK(!store->delta_link("mbx_1")->has_value());
  auto before = exchanges();
  sched.advance_time(60s);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), before + 1);
  CAF_CHECK(full_round(request(before).url));
  reply(before, page({item("m1", 100, {"Zendesk"}), item("m2", 100)}, {}, link_of("b")));
  deliver_and_label("m2");
  CAF_CHECK_EQUAL(store->delta_link("mbx_1")->value_or(""), link_of("b"));
}

CAF_TEST(a link graph no longer knows starts a full round at once) {
  start();
  reply(0, page({}, {}, link_of("a")));
  sched.advance_time(cfg.poll_interval);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK_EQUAL(request(1).url, link_of("a"));
  reply(1, answer(410, R"({"error":{"code":"syncStateNotFound","message":"gone"}})"));
  // In the same cycle: the link is forgotten and a full round starts.
  CAF_REQUIRE_EQUAL(exchanges(), 3u);
  CAF_CHECK(full_round(request(2).url));
  CAF_CHECK(!store->delta_link("mbx_1")->has_value());
  // Known mail in it is skipped by the journal; new mail is taken.
  reply(2, page({item("m1", 100)}, {}, link_of("b")));
  deliver_and_label("m1");
  CAF_CHECK_EQUAL(store->delta_link("mbx_1")->value_or(""), link_of("b"));
  // A full round that is refused too is a failed listing (no loop).
  sched.advance_time(cfg.poll_interval);
  sched.run();
  auto at = exchanges() - 1;
  CAF_CHECK_EQUAL(request(at).url, link_of("b"));
  reply(at, answer(410, R"({"error":{"code":"syncStateNotFound","message":"gone"}})"));
  CAF_REQUIRE_EQUAL(exchanges(), at + 2);
  reply(at + 1,
        answer(410, R"({"error":{"code":"syncStateNotFound","message":"gone"}})"));
  CAF_CHECK_EQUAL(exchanges(), at + 2);
  CAF_CHECK(!polls().back().ok);
}

CAF_TEST(a message that failed is looked at again from the journal though no round reports
             it) {
  cfg.retry_initial = 1000ms;
  cfg.poll_interval = 3600s;
  start();
  reply(0, page({item("m1", 100)}, {}, link_of("a")));
  reply(1, answer(500, R"({"error":{"code":"ErrorItemCorrupt","message":"bad"}})"));
  // The round was taken (m1 has its backoff in the journal): its link is kept.
  CAF_CHECK_EQUAL(store->delta_link("mbx_1")->value_or(""), link_of("a"));
  auto open = store->open_messages("mbx_1", 10);
  CAF_REQUIRE(open && open->size() == 1u);
  CAF_CHECK_EQUAL((*open)[0].graph_id, "m1");
  // Its backoff brings the next poll forward; the round has nothing new, the index
  // has m1: one GET of it, then its download.
  sched.advance_time(1250ms + 1ms);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 3u);
  CAF_CHECK_EQUAL(request(2).url, link_of("a"));
  reply(2, page({}, {}, link_of("a")));
  CAF_REQUIRE_EQUAL(exchanges(), 4u);
  CAF_CHECK_EQUAL(request(3).url.rfind(messages + "m1?%24select=", 0), 0u);
  reply(3, answer(200, item("m1", 100).dump()));
  deliver_and_label("m1");
  CAF_CHECK(journal("m1")->labelled);
  CAF_CHECK(store->open_messages("mbx_1", 10)->empty());
}

CAF_TEST(an open message gone from exchange leaves the index) {
  cfg.retry_initial = 1000ms;
  cfg.poll_interval = 3600s;
  start();
  reply(0, page({item("m1", 100)}, {}, link_of("a")));
  reply(1, answer(500, R"({"error":{"code":"ErrorItemCorrupt","message":"bad"}})"));
  sched.advance_time(1250ms + 1ms);
  sched.run();
  reply(2, page({}, {}, link_of("a")));
  CAF_REQUIRE_EQUAL(exchanges(), 4u);
  reply(3, answer(404, R"({"error":{"code":"ErrorItemNotFound","message":"gone"}})"));
  CAF_CHECK(store->open_messages("mbx_1", 10)->empty());
  CAF_CHECK(journal("m1")->pending()); // the entry itself stays
  // The next poll comes an interval on, not sooner.
  sched.advance_time(60s);
  sched.run();
  CAF_CHECK_EQUAL(exchanges(), 4u);
}

CAF_TEST(a notification of its subscription brings a round and many bring one more) {
  cfg.push.notification_url = "https://exc.test/graph/notifications?mailbox=mbx_1";
  cfg.push.lifecycle_url = "https://exc.test/graph/lifecycle?mailbox=mbx_1";
  cfg.push.poll_interval = 900s;
  start();
  // Its first listing, and its SUBSCRIBER's subscription.
  auto listing =
      find_open(graph + "/users/support%40contoso.test/mailFolders/inbox/"
                        "messages/delta?%24select=id%2CinternetMessageId%2C"
                        "receivedDateTime%2Ccategories%2CisRead&%24filter="
                        "receivedDateTime%20ge%202026-11-25T00%3A00%3A00Z&"
                        "%24expand=singleValueExtendedProperties%28%24filter%3Did"
                        "%20eq%20%27Integer%200x0E08%27%29");
  CAF_REQUIRE(listing);
  reply(*listing, page({}, {}, link_of("a")));
  auto created = open(graph + "/subscriptions", "POST");
  auto secret = json::parse(request(created).body).at("clientState").get<std::string>();
  reply(
      created,
      answer(201,
             json{{"id", "s1"}, {"expirationDateTime", "2099-01-01T00:00:00Z"}}.dump()));
  auto notify = [&](const std::string& sub, const std::string& state) {
    auto h = self->request(box, caf::infinite, atom::notify_v,
                           std::vector<push_item>{{sub, state, ""}});
    sched.run();
    std::optional<push_outcome> out;
    std::optional<caf::error> err;
    if (!self->mailbox().empty())
      h.receive([&](push_outcome& o) { out = o; }, [&](caf::error& e) { err = e; });
    return std::make_pair(out, err);
  };
  // Not its subscription, or not its secret: refused, and no round.
  auto before = exchanges();
  auto [none, wrong] = notify("s1", "not-the-secret");
  CAF_CHECK(!none);
  CAF_REQUIRE(wrong);
  CAF_CHECK(is(*wrong, ec::forbidden));
  auto other = notify("s2", secret).second;
  CAF_CHECK(other && is(*other, ec::forbidden));
  CAF_CHECK_EQUAL(exchanges(), before);
  // Its own: recorded, answered, a round from the kept link at once.
  auto [taken, no_error] = notify("s1", secret);
  CAF_REQUIRE(taken);
  CAF_CHECK_EQUAL(taken->accepted, 1u);
  auto pushed = store->last_pushed("mbx_1");
  CAF_REQUIRE(pushed);
  std::int64_t pushed_ms = *pushed;
  CAF_CHECK_GREATER(pushed_ms, 0);
  CAF_REQUIRE_EQUAL(exchanges(), before + 1);
  CAF_CHECK_EQUAL(request(before).url, link_of("a"));
  // Two more while that round runs: one more round after it, not two.
  CAF_CHECK(notify("s1", secret).first);
  CAF_CHECK(notify("s1", secret).first);
  CAF_CHECK_EQUAL(exchanges(), before + 1);
  reply(before, page({}, {}, link_of("a")));
  CAF_REQUIRE_EQUAL(exchanges(), before + 2);
  CAF_CHECK_EQUAL(request(before + 1).url, link_of("a"));
  reply(before + 1, page({}, {}, link_of("a")));
  CAF_CHECK_EQUAL(exchanges(), before + 2);
  // Subscribed, it polls only every 900 s, not at its 600 s interval.
  CAF_CHECK_EQUAL(exchanges_after(700s), before + 2);
  CAF_CHECK_EQUAL(exchanges_after(250s), before + 3);
}

CAF_TEST(a link outside graph is never followed with the token) {
  start();
  reply(0, page({item("m1", 100)}, {}, "https://elsewhere.test/v1.0/delta?t=1"));
  CAF_CHECK(!store->delta_link("mbx_1")->has_value());
  CAF_CHECK_EQUAL(exchanges(), 1u); // no FETCHER, no download
  CAF_REQUIRE(!polls().empty());
  CAF_CHECK(!polls().back().ok);
  CAF_CHECK_EQUAL(polls().back().code, "graph_failure");
  // A link kept under another Graph URL is forgotten: a full round instead.
  storage::batch changes;
  store->stage_delta_link(changes, "mbx_1", "https://old-graph.test/v1.0/users/x/delta");
  commit_now(*db, changes);
  sched.advance_time(600s);
  sched.run();
  auto last = exchanges() - 1;
  CAF_CHECK(full_round(request(last).url));
}

CAF_TEST_FIXTURE_SCOPE_END()

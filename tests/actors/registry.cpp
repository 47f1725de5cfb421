#define CAF_SUITE registry
// 0.17.6's dsl.hpp uses an undefined FAIL macro.
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "mock_http.hpp"
#include "mock_peers.hpp"
#include "temp_db.hpp"
#include "temp_dir.hpp"

#include "actors/mailbox.hpp"
#include "actors/registry.hpp"
#include "messages/error.hpp"
#include "messages/services.hpp"
#include "net/limits/poll_phase.hpp"
#include "storage/vault.hpp"

#include <optional>
#include <set>
#include <string>

using namespace exc;
using namespace std::chrono_literals;

namespace {

struct fixture : test_coordinator_fixture<> {
  test::temp_dir dir;
  std::unique_ptr<storage::db> db;
  std::unique_ptr<storage::helpdesk_store> helpdesk;
  std::unique_ptr<storage::throttle_store> throttle;
  std::unique_ptr<storage::outbox_store> outbox;
  storage::vault vault{*storage::master_key::from_hex(std::string(64, 'a'))};
  net::metrics metrics;
  address_book connected;
  presence present;
  token_service_actor tokens;
  test::mock_http_actor http;
  registry_actor aut;
  registry_config cfg;

  storage_writer_actor writer;

  fixture() {
    db = open_temp_db(dir);
    writer = start_storage_writer(sys, *db);
    helpdesk = std::make_unique<storage::helpdesk_store>(*db);
    throttle = std::make_unique<storage::throttle_store>(*db);
    outbox = std::make_unique<storage::outbox_store>(*db);
    tokens = sys.spawn(test::token_mock, 0);
    http = sys.spawn(test::mock_http, 0);
    service::put(sys, tokens);
    service::put(sys, caf::actor_cast<http_actor>(http));
    cfg.public_url = "https://connector.test";
    cfg.authorize_url = "https://login.test/common/oauth2/v2.0/authorize";
    cfg.graph_url = "https://graph.test/v1.0";
    cfg.client_id = "app";
    cfg.scope = "offline_access Mail.ReadWrite";
    cfg.state_lifetime = 600s;
    // Its MAILBOXes wait a day for their first poll: these tests only start and stop
    // them.
    cfg.poll_interval = 86'400s;
  }

  ~fixture() {
    for (const caf::actor& a :
         {caf::actor_cast<caf::actor>(aut), caf::actor_cast<caf::actor>(tokens),
          caf::actor_cast<caf::actor>(http), caf::actor_cast<caf::actor>(writer)})
      if (a) self->send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
    service::forget_all(sys, 0);
  }

  void start() {
    aut = sys.spawn(registry, cfg,
                    registry_stores{db.get(), &vault, &metrics, helpdesk.get(),
                                    throttle.get(), outbox.get(), &connected, nullptr,
                                    &present});
    service::put(sys, aut);
    sched.run();
  }

  /// A connected mailbox in storage, as an earlier run left it.
  void store_connected(const std::string& id, const std::string& address) {
    storage::mailbox_record mb;
    mb.id = id;
    mb.account_id = "acc_1";
    mb.address = address;
    mb.status = storage::mailbox_status::connected;
    mb.created_at = "2026-12-01T00:00:00Z";
    mb.connected_at = "2026-12-01T00:00:00Z";
    storage::batch changes;
    changes.put(storage::family::mailboxes, id, storage::to_json(mb).dump());
    changes.put(storage::family::meta, storage::address_key(address), id);
    CAF_REQUIRE(!db->commit(changes, storage::durability::durable));
  }

  /// Asks the REGISTRY; the answer, or the error.
  template <class T, class... Ts>
  std::variant<T, caf::error> ask(Ts&&... xs) {
    std::optional<std::variant<T, caf::error>> out;
    auto answer = self->request(aut, caf::infinite, std::forward<Ts>(xs)...);
    sched.run();
    answer.receive([&](T& x) { out = std::move(x); },
                   [&](caf::error& err) { out = std::move(err); });
    CAF_REQUIRE(out);
    return std::move(*out);
  }

  mailbox_entry connect(const std::string& account, const std::string& address) {
    storage::mailbox_record draft;
    draft.account_id = account;
    draft.address = address;
    auto out = ask<mailbox_entry>(atom::connect_v, draft);
    if (auto* err = std::get_if<caf::error>(&out))
      CAF_FAIL("connect failed: " << render(*err));
    return std::get<mailbox_entry>(out);
  }

  mailbox_runtime& runtime(const std::string& id) {
    return deref<registry_actor::stateful_base<registry_state>>(aut).state.runtime[id];
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(registry_tests, fixture)

CAF_TEST(a pending mailbox holds its address until its sign - in link expires) {
  start();
  auto first = connect("acc_1", "support@contoso.test");
  CAF_CHECK(first.record.status == storage::mailbox_status::pending_authorization);
  CAF_CHECK(first.authorize_url.find("login_hint=support%40contoso.test") !=
            std::string::npos);
  // Another account (any case of the address) is refused while the link lives.
  storage::mailbox_record draft;
  draft.account_id = "acc_2";
  draft.address = "Support@Contoso.test";
  auto refused = ask<mailbox_entry>(atom::connect_v, draft);
  CAF_REQUIRE(std::holds_alternative<caf::error>(refused));
  CAF_CHECK(is(std::get<caf::error>(refused), ec::address_in_use));
  // Past the link's lifetime the address is free, and the first mailbox says why it
  // lost it.
  sched.advance_time(601s);
  auto second = connect("acc_2", "Support@Contoso.test");
  CAF_CHECK(second.record.status == storage::mailbox_status::pending_authorization);
  auto lost = ask<mailbox_entry>(atom::mailbox_v, std::string{"acc_1"}, first.record.id);
  CAF_REQUIRE(std::holds_alternative<mailbox_entry>(lost));
  const auto& record = std::get<mailbox_entry>(lost).record;
  CAF_REQUIRE(record.last_error);
  CAF_CHECK_EQUAL(record.last_error->code, "authorization_expired");
  // Another account does not see the mailbox at all.
  auto hidden =
      ask<mailbox_entry>(atom::mailbox_v, std::string{"acc_2"}, first.record.id);
  CAF_REQUIRE(std::holds_alternative<caf::error>(hidden));
  CAF_CHECK(is(std::get<caf::error>(hidden), ec::not_found));
}

CAF_TEST(an account cannot renew its hold on an address it never connected) {
  cfg.sign_in_attempts = 3;
  start();
  auto first = connect("acc_1", "support@contoso.test");
  auto id = first.record.id;
  auto reauthorize = [&] {
    return ask<std::string>(atom::reauthorize_v, std::string{"acc_1"}, id);
  };
  CAF_CHECK(std::holds_alternative<std::string>(reauthorize())); // link 2
  sched.advance_time(300s);
  CAF_CHECK(std::holds_alternative<std::string>(reauthorize())); // link 3
  sched.advance_time(300s);
  // A fourth link within the hour is refused, with the wait until the first ages out.
  auto refused = reauthorize();
  CAF_REQUIRE(std::holds_alternative<caf::error>(refused));
  const auto& err = std::get<caf::error>(refused);
  CAF_CHECK(is(err, ec::too_many_sign_ins));
  CAF_CHECK(context_of(err).find("try again in 3000 s") != std::string::npos);
  // Deleting the mailbox and connecting the address anew does not start a new count.
  CAF_CHECK(
      std::holds_alternative<bool>(ask<bool>(atom::remove_v, std::string{"acc_1"}, id)));
  storage::mailbox_record draft;
  draft.account_id = "acc_1";
  draft.address = "Support@Contoso.test";
  auto again = ask<mailbox_entry>(atom::connect_v, draft);
  CAF_REQUIRE(std::holds_alternative<caf::error>(again));
  CAF_CHECK(is(std::get<caf::error>(again), ec::too_many_sign_ins));
  // Meanwhile the address is free for the account that owns it.
  auto owner = connect("acc_2", "support@contoso.test");
  CAF_CHECK(owner.record.status == storage::mailbox_status::pending_authorization);
  // An hour after its first link, acc_1 may ask again (for another address here: the
  // owner's link holds this one).
  sched.advance_time(3000s);
  connect("acc_1", "sales@contoso.test");
}

CAF_TEST(a connected mailbox asks for new sign - in links without a count) {
  cfg.sign_in_attempts = 1;
  store_connected("mbx_1", "support@contoso.test");
  start();
  for (int i = 0; i < 5; ++i)
    CAF_CHECK(std::holds_alternative<std::string>(ask<std::string>(
        atom::reauthorize_v, std::string{"acc_1"}, std::string{"mbx_1"})));
}

CAF_TEST(an account has at most max_pending mailboxes waiting for a sign - in) {
  cfg.max_pending = 2;
  start();
  auto a = connect("acc_1", "a@contoso.test");
  connect("acc_1", "b@contoso.test");
  storage::mailbox_record draft;
  draft.account_id = "acc_1";
  draft.address = "c@contoso.test";
  auto refused = ask<mailbox_entry>(atom::connect_v, draft);
  CAF_REQUIRE(std::holds_alternative<caf::error>(refused));
  CAF_CHECK(is(std::get<caf::error>(refused), ec::too_many_pending));
  // Other accounts are not affected; a deleted pending mailbox frees a place.
  connect("acc_2", "c@contoso.test");
  CAF_CHECK(std::holds_alternative<bool>(
      ask<bool>(atom::remove_v, std::string{"acc_1"}, a.record.id)));
  connect("acc_1", "d@contoso.test");
}

CAF_TEST(the mailbox gauges follow every status change) {
  store_connected("mbx_1", "one@contoso.test");
  store_connected("mbx_2", "two@contoso.test");
  store_connected("mbx_3", "three@contoso.test");
  start();
  auto gauge = [&](const char* status) {
    return metrics.value("exconnect_mailboxes", {{"status", status}});
  };
  CAF_CHECK_EQUAL(gauge("connected"), 3);
  auto pending = connect("acc_1", "new@contoso.test");
  CAF_CHECK_EQUAL(gauge("pending_authorization"), 1);
  ask<mailbox_entry>(atom::pause_v, std::string{"acc_1"}, std::string{"mbx_1"});
  self->send(aut, atom::reauth_v, std::string{"mbx_2"}, std::string{"revoked"});
  poll_result denied;
  denied.code = "ErrorAccessDenied";
  denied.step = "listing";
  self->send(aut, atom::polled_v, std::string{"mbx_3"}, denied);
  sched.run();
  CAF_CHECK_EQUAL(gauge("connected"), 0);
  CAF_CHECK_EQUAL(gauge("paused"), 1);
  CAF_CHECK_EQUAL(gauge("reauthorization_required"), 1);
  CAF_CHECK_EQUAL(gauge("error"), 1);
  poll_result fine;
  fine.ok = true;
  self->send(aut, atom::polled_v, std::string{"mbx_3"}, fine);
  sched.run();
  CAF_CHECK_EQUAL(gauge("error"), 0);
  CAF_CHECK_EQUAL(gauge("connected"), 1);
  ask<bool>(atom::remove_v, std::string{"acc_1"}, pending.record.id);
  ask<bool>(atom::remove_v, std::string{"acc_1"}, std::string{"mbx_1"});
  CAF_CHECK_EQUAL(gauge("pending_authorization"), 0);
  CAF_CHECK_EQUAL(gauge("paused"), 0);
  CAF_CHECK_EQUAL(gauge("connected"), 1);
}

CAF_TEST(an account lists its own mailboxes in pages) {
  for (auto id : {"mbx_4", "mbx_1", "mbx_3", "mbx_2"})
    store_connected(id, std::string{id} + "@contoso.test");
  start();
  connect("acc_2", "other@fabrikam.test");
  auto page = [&](const std::string& account, const std::string& after,
                  std::uint32_t limit) {
    auto out = ask<mailbox_page>(atom::mailboxes_v, account, after, limit);
    CAF_REQUIRE(std::holds_alternative<mailbox_page>(out));
    auto& p = std::get<mailbox_page>(out);
    std::string ids;
    for (const auto& e : p.entries)
      ids += e.record.id + " ";
    return ids + "next=" + p.next;
  };
  CAF_CHECK_EQUAL(page("acc_1", "", 3), "mbx_1 mbx_2 mbx_3 next=mbx_3");
  CAF_CHECK_EQUAL(page("acc_1", "mbx_3", 3), "mbx_4 next=");
  CAF_CHECK_EQUAL(page("acc_1", "", 4), "mbx_1 mbx_2 mbx_3 mbx_4 next=");
  CAF_CHECK_EQUAL(page("acc_1", "mbx_2x", 1), "mbx_3 next=mbx_3");
  CAF_CHECK_EQUAL(page("acc_3", "", 10), "next=");
  auto ids = ask<std::vector<std::string>>(atom::mailboxes_v, std::string{"acc_2"});
  CAF_REQUIRE(std::holds_alternative<std::vector<std::string>>(ids));
  CAF_CHECK_EQUAL(std::get<std::vector<std::string>>(ids).size(), 1u);
}

CAF_TEST(
    a mailbox paused and resumed at once is replaced only after the old one is down) {
  store_connected("mbx_1", "support@contoso.test");
  start();
  auto old = runtime("mbx_1").actor;
  CAF_REQUIRE(old);
  // Both requests reach the REGISTRY before the old MAILBOX has handled its exit.
  self->send(aut, atom::pause_v, std::string{"acc_1"}, std::string{"mbx_1"});
  self->send(aut, atom::resume_v, std::string{"acc_1"}, std::string{"mbx_1"});
  // The REGISTRY (pause, resume) and the STORAGE WRITER (their statuses) run; the old
  // MAILBOX does not.
  while (sched.prioritize(aut) || sched.prioritize(writer))
    sched.run_once();
  auto& rt = runtime("mbx_1");
  CAF_CHECK(!rt.actor);          // no second MAILBOX yet
  CAF_CHECK(rt.stopping == old); // the old one is still on its way out
  CAF_CHECK(rt.start_when_down); // and the replacement waits for it
  sched.run();                   // the old one ends; its down message arrives
  CAF_REQUIRE(rt.actor);
  CAF_CHECK(rt.actor != old);
  CAF_CHECK(!rt.stopping);
  auto entry =
      ask<mailbox_entry>(atom::mailbox_v, std::string{"acc_1"}, std::string{"mbx_1"});
  CAF_REQUIRE(std::holds_alternative<mailbox_entry>(entry));
  CAF_CHECK(std::get<mailbox_entry>(entry).record.status ==
            storage::mailbox_status::connected);
}

CAF_TEST(a failed mailbox is restarted after a backoff and counted) {
  store_connected("mbx_1", "support@contoso.test");
  start();
  auto old = runtime("mbx_1").actor;
  CAF_REQUIRE(old);
  self->send_exit(old, caf::make_error(caf::sec::runtime_error, "boom"));
  sched.run();
  CAF_CHECK(!runtime("mbx_1").actor); // waits for its backoff
  sched.advance_time(100ms);
  sched.run();
  CAF_REQUIRE(runtime("mbx_1").actor);
  CAF_CHECK(runtime("mbx_1").actor != old);
  CAF_CHECK_EQUAL(runtime("mbx_1").restarts, 1u);
  CAF_CHECK_EQUAL(metrics.value("exconnect_actor_restarts_total", {{"kind", "mailbox"}}),
                  1.0);
}

CAF_TEST(only the first start of a mailbox in the process skips waiting for writes) {
  store_connected("mbx_1", "support@contoso.test");
  auto waits = [&] {
    auto box = runtime("mbx_1").actor;
    CAF_REQUIRE(box);
    return deref<mailbox_actor::stateful_base<mailbox_state>>(box)
        .state.cfg.after_predecessor;
  };
  cfg.first_in_process = true;
  start();
  CAF_CHECK(!waits()); // nothing of it ran in this process before
  self->send_exit(runtime("mbx_1").actor,
                  caf::make_error(caf::sec::runtime_error, "boom"));
  sched.run();
  sched.advance_time(100ms);
  sched.run();
  CAF_CHECK(waits()); // its failed MAILBOX may have left writes
  // A REGISTRY that replaces a failed one: its MAILBOXes had predecessors.
  self->send_exit(aut, caf::exit_reason::user_shutdown);
  sched.run();
  cfg.first_in_process = false;
  start();
  CAF_CHECK(waits());
}

CAF_TEST(after a start the first polls run a window at a time) {
  cfg.poll_interval = 60s;
  cfg.first_polls_at_once = 2;
  for (int i = 0; i < 5; ++i)
    store_connected("mbx_" + std::to_string(i),
                    "box" + std::to_string(i) + "@contoso.test");
  start();
  auto& graph = deref<test::mock_http_actor::stateful_base<test::mock_http_state>>(http)
                    .state.exchanges;
  auto waiting = [&] {
    int n = 0;
    for (int i = 0; i < 5; ++i) {
      auto box = runtime("mbx_" + std::to_string(i)).actor;
      if (box)
        n += deref<mailbox_actor::stateful_base<mailbox_state>>(box).state.awaits_turn;
    }
    return n;
  };
  // Two listings went out; three mailboxes wait for their turn, however long that takes
  // (within the listings' deadline).
  CAF_CHECK_EQUAL(graph.size(), 2u);
  CAF_CHECK_EQUAL(waiting(), 3);
  sched.advance_time(50s);
  sched.run();
  CAF_CHECK_EQUAL(graph.size(), 2u);
  // One listing answered: the next mailbox's turn.
  net::client_response empty;
  empty.status = 200;
  empty.body = R"({"value":[]})";
  self->send(http, atom::internal_v, std::uint64_t{0}, empty);
  sched.run();
  CAF_CHECK_EQUAL(graph.size(), 3u);
  CAF_CHECK_EQUAL(waiting(), 2);
  // A MAILBOX that ends during its turn gives its place back too (its listing is never
  // answered).
  std::string failing;
  for (int i = 0; i < 5; ++i) {
    auto id = "mbx_" + std::to_string(i);
    auto box = runtime(id).actor;
    auto& mst = deref<mailbox_actor::stateful_base<mailbox_state>>(box).state;
    if (!mst.awaits_turn && mst.listing) failing = id;
  }
  CAF_REQUIRE(!failing.empty());
  self->send_exit(runtime(failing).actor,
                  caf::make_error(caf::sec::runtime_error, "boom"));
  sched.run();
  CAF_CHECK_EQUAL(graph.size(), 4u);
  CAF_CHECK_EQUAL(waiting(), 1);
  auto& st = deref<registry_actor::stateful_base<registry_state>>(aut).state;
  CAF_CHECK_EQUAL(st.first_polls.under_way(), 2u);
  CAF_CHECK_EQUAL(st.first_polls.waiting(), 1u);
}

CAF_TEST(a start spawns its MAILBOXes a few hundred at a time) {
  auto n = registry_state::actors_at_once + 10;
  for (std::size_t i = 0; i < n; ++i)
    store_connected("mbx_" + std::to_string(i),
                    "box" + std::to_string(i) + "@contoso.test");
  start();
  auto& st = deref<registry_actor::stateful_base<registry_state>>(aut).state;
  auto running = [&] {
    std::size_t k = 0;
    for (auto& [id, rt] : st.runtime)
      k += static_cast<bool>(rt.actor);
    return k;
  };
  // The first ones ran before the rest were spawned.
  CAF_CHECK_EQUAL(running(), registry_state::actors_at_once);
  CAF_CHECK_EQUAL(st.to_start.size(), 10u);
  sched.advance_time(1ms);
  sched.run();
  CAF_CHECK_EQUAL(running(), n);
  CAF_CHECK(st.to_start.empty());
  // Its stop tells them the same way.
  self->send_exit(aut, caf::exit_reason::user_shutdown);
  while (sched.prioritize(aut))
    sched.run_once();
  CAF_CHECK_EQUAL(st.to_stop.size(), 10u);
  sched.run();
  sched.advance_time(1ms);
  sched.run();
  auto ended = false;
  self->monitor(aut);
  self->receive([&](const caf::down_msg&) { ended = true; });
  CAF_CHECK(ended);
}

CAF_TEST(a mailbox whose previous MAILBOX still exists starts once it is gone) {
  store_connected("mbx_1", "support@contoso.test");
  // The MAILBOX of a REGISTRY that crashed is still ending.
  present.enter(mailbox_key("mbx_1"));
  start();
  CAF_CHECK(!runtime("mbx_1").actor);
  sched.advance_time(100ms);
  sched.run();
  CAF_CHECK(!runtime("mbx_1").actor); // still there: still waiting
  present.leave(mailbox_key("mbx_1"));
  sched.advance_time(100ms);
  sched.run();
  auto box = runtime("mbx_1").actor;
  CAF_REQUIRE(box);
  CAF_CHECK(present.contains(mailbox_key("mbx_1"))); // the new one
  // A REGISTRY that dies without a word (kill: no exit handler runs) takes its
  // MAILBOXes with it; each leaves as it ends.
  self->monitor(box);
  self->send_exit(aut, caf::exit_reason::kill);
  sched.run();
  bool down = false;
  self->receive([&](const caf::down_msg& dm) { down = dm.source == box.address(); });
  CAF_CHECK(down);
  CAF_CHECK(!present.contains(mailbox_key("mbx_1")));
  aut = nullptr;
}

CAF_TEST(settings changed meanwhile are not overwritten) {
  start();
  auto created = ask<new_account>(atom::create_v, std::string{"Contoso"});
  CAF_REQUIRE(std::holds_alternative<new_account>(created));
  auto account = std::get<new_account>(created).account;
  auto read = account.settings;
  auto first = read;
  first.mark_as_read = true;
  auto stored = ask<storage::account_record>(atom::settings_v, account.id, read, first);
  CAF_REQUIRE(std::holds_alternative<storage::account_record>(stored));
  // A second writer that read before the first one wrote must read again.
  auto second = read;
  second.processed_label = "Helpdesk";
  auto stale = ask<storage::account_record>(atom::settings_v, account.id, read, second);
  CAF_REQUIRE(std::holds_alternative<caf::error>(stale));
  CAF_CHECK(is(std::get<caf::error>(stale), ec::conflict));
  auto now = ask<storage::account_record>(atom::account_v, account.id);
  CAF_REQUIRE(std::holds_alternative<storage::account_record>(now));
  CAF_CHECK(std::get<storage::account_record>(now).settings.mark_as_read);
  CAF_CHECK_EQUAL(std::get<storage::account_record>(now).settings.processed_label,
                  "Zendesk");
}

CAF_TEST(a tenant whose consent is gone stops its own mailboxes and no others) {
  const std::string tenant = "9188040d-6c67-4c5b-b112-36a304b66dad";
  storage::tenant_record t;
  t.tenant_id = tenant;
  t.account_id = "acc_1";
  t.consented_at = "2026-12-01T00:00:00Z";
  storage::batch changes;
  changes.put(storage::family::accounts, storage::tenant_key(tenant),
              storage::to_json(t).dump());
  CAF_REQUIRE(!db->commit(changes, storage::durability::durable));
  store_connected("mbx_own", "own@contoso.test");
  for (auto id : {"mbx_t1", "mbx_t2"}) {
    store_connected(id, std::string{id} + "@contoso.test");
    auto stored = db->get(storage::family::mailboxes, id);
    auto mb = storage::mailbox_from_json(**stored);
    mb->tenant_id = tenant;
    storage::batch update;
    update.put(storage::family::mailboxes, id, storage::to_json(*mb).dump());
    CAF_REQUIRE(!db->commit(update, storage::durability::durable));
  }
  start();
  auto tenants = ask<std::vector<storage::tenant_record>>(atom::tenants_v, "acc_1");
  CAF_REQUIRE_EQUAL(std::get<0>(tenants).size(), 1u);
  CAF_CHECK(std::get<0>(tenants)[0].consented);
  // Another account does not see it.
  auto other = ask<std::vector<storage::tenant_record>>(atom::tenants_v, "acc_2");
  CAF_CHECK_EQUAL(std::get<0>(other).size(), 0u);
  self->send(aut, atom::reauth_v, tenant_token_key(tenant),
             std::string{"the tenant's administrator consent is gone: AADSTS700016"});
  sched.run();
  auto status = [&](const std::string& id) {
    auto e = ask<mailbox_entry>(atom::mailbox_v, "acc_1", id);
    return std::string{to_string(std::get<mailbox_entry>(e).record.status)};
  };
  CAF_CHECK_EQUAL(status("mbx_t1"), "reauthorization_required");
  CAF_CHECK_EQUAL(status("mbx_t2"), "reauthorization_required");
  CAF_CHECK_EQUAL(status("mbx_own"), "connected");
  CAF_CHECK(!runtime("mbx_t1").actor);
  CAF_CHECK(runtime("mbx_own").actor);
  tenants = ask<std::vector<storage::tenant_record>>(atom::tenants_v, "acc_1");
  CAF_REQUIRE_EQUAL(std::get<0>(tenants).size(), 1u);
  CAF_CHECK(!std::get<0>(tenants)[0].consented);
  CAF_CHECK_EQUAL(std::get<0>(tenants)[0].last_error->code, "consent_lost");
  // The tenant's mailboxes need the administrator, not a sign-in; the tenant cannot be
  // given up while they use it, and no new mailbox is added through it.
  auto re = ask<std::string>(atom::reauthorize_v, "acc_1", "mbx_t1");
  CAF_CHECK(is(std::get<caf::error>(re), ec::invalid_state));
  auto gone = ask<bool>(atom::tenants_v, atom::remove_v, "acc_1", tenant);
  CAF_CHECK(is(std::get<caf::error>(gone), ec::invalid_state));
  storage::mailbox_record draft;
  draft.account_id = "acc_1";
  draft.address = "new@contoso.test";
  draft.tenant_id = tenant;
  auto added = ask<mailbox_entry>(atom::connect_v, draft);
  CAF_CHECK(is(std::get<caf::error>(added), ec::invalid_state));
  draft.account_id = "acc_2"; // not its tenant
  added = ask<mailbox_entry>(atom::connect_v, draft);
  CAF_CHECK(is(std::get<caf::error>(added), ec::invalid_argument));
}

CAF_TEST_FIXTURE_SCOPE_END()

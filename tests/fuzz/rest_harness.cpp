#include "rest_harness.hpp"

#include "actors/rest_front.hpp"
#include "messages/error.hpp"
#include "messages/registry_types.hpp"
#include "messages/services.hpp"
#include "storage/db.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace fuzz {

namespace {

using namespace exc;

/// For writing seeds: each request and its answer printed, and the handlers' logging.
bool verbose() {
  static const bool on = std::getenv("EXC_FUZZ_VERBOSE") != nullptr;
  return on;
}

/// The account every API key belongs to, and its one ticket and mailbox.
const std::string account_id = "acc_fuzz";
const std::string ticket_id = "t_fuzz";
const std::string mailbox_id = "mb_fuzz";

storage::account_record account(std::string name = "Fuzz") {
  storage::account_record a;
  a.id = account_id;
  a.name = std::move(name);
  a.created_at = "2026-11-25T10:00:00Z";
  return a;
}

mailbox_entry mailbox(storage::mailbox_record mb = {}) {
  mb.id = mailbox_id;
  mb.account_id = account_id;
  if (mb.address.empty()) mb.address = "support@example.test";
  mb.created_at = "2026-11-25T10:00:00Z";
  mailbox_entry e;
  e.record = std::move(mb);
  e.authorize_url = "https://login.example.test/authorize?state=s";
  return e;
}

/// The REGISTRY as the REST front sees it: every API key is the one account's, every
/// mailbox id is its mailbox, and a change is stored as asked. (The int: CAF 0.17.6
/// spawns a function-based actor without arguments through a null pointer.)
caf::behavior registry_stand_in(caf::event_based_actor* self, int) {
  // Not the REST front's requests: answered with an error, without printing.
  self->set_default_handler(caf::drop);
  return {
      [](atom::authenticate, const std::string&) { return account_id; },
      [](atom::create, const std::string& name) {
        return new_account{account(name), "key_fuzz"};
      },
      [](atom::accounts) { return std::vector<storage::account_record>{account()}; },
      [](atom::account, const std::string&) { return account(); },
      [](atom::settings, const std::string&, const storage::account_settings&,
         const storage::account_settings& updated) {
        auto a = account();
        a.settings = updated;
        return a;
      },
      [](atom::connect, storage::mailbox_record mb) { return mailbox(std::move(mb)); },
      [](atom::mailboxes, const std::string&, const std::string& after, std::uint32_t) {
        mailbox_page page;
        if (after.empty()) page.entries.push_back(mailbox());
        return page;
      },
      [](atom::mailboxes, const std::string&) {
        return std::vector<std::string>{mailbox().record.id};
      },
      [](atom::mailbox, const std::string&, const std::string&) { return mailbox(); },
      [](atom::reauthorize, const std::string&, const std::string&) {
        return std::string{"https://login.example.test/authorize?state=s"};
      },
      [](atom::pause, const std::string&, const std::string&) { return mailbox(); },
      [](atom::resume, const std::string&, const std::string&) { return mailbox(); },
      [](atom::remove, const std::string&, const std::string&) { return true; },
      [](atom::callback, const sign_in_return&) -> caf::result<mailbox_entry> {
        return make_error(ec::sign_in_unknown, "no such sign-in");
      },
      [](atom::consent, const std::string&) {
        return std::string{"https://login.test/organizations/adminconsent?state=s"};
      },
      [](atom::consent,
         const admin_consent_return&) -> caf::result<storage::tenant_record> {
        return make_error(ec::sign_in_unknown, "unknown");
      },
      [](atom::tenants, const std::string&) {
        storage::tenant_record t;
        t.tenant_id = "9188040d-6c67-4c5b-b112-36a304b66dad";
        t.account_id = account_id;
        return std::vector<storage::tenant_record>{t};
      },
      [](atom::tenants, atom::remove, const std::string&, const std::string&) {
        return true;
      },
      [](atom::origin, const std::string&, const std::string&) {
        return outbound_origin{account_id, mailbox_id, "support@example.test", {}};
      },
      [](atom::wake, const std::string&) {},
      [](atom::health) { return storage::error_record{}; },
  };
}

/// Keeps the answer.
struct captured : net::responder {
  std::optional<net::response> answer;
  void send(net::response res) override {
    if (!answer) answer = std::move(res);
  }
  void close() override {}
};

/// A database in a fresh temp dir, removed at once: RocksDB keeps its open files, and
/// nothing is left behind when a crash ends the process.
std::unique_ptr<storage::db> scratch_db() {
  auto dir = (std::filesystem::temp_directory_path() / "exc-fuzz-XXXXXX").string();
  if (!mkdtemp(dir.data())) {
    std::perror("mkdtemp");
    std::abort();
  }
  auto opened = storage::db::open(dir + "/db");
  if (!opened) {
    std::fprintf(stderr, "cannot open a database: %s\n", render(opened.error()).c_str());
    std::abort();
  }
  auto db = std::move(*opened);
  // One ticket, so that a comment gets past the ticket's lookup.
  storage::helpdesk_store desk{*db};
  storage::batch changes;
  desk.stage_ticket(changes, {{"id", ticket_id},
                              {"account_id", account_id},
                              {"mailbox_id", mailbox_id},
                              {"subject", "Printer"}});
  if (auto err = db->commit(changes, storage::durability::relaxed)) {
    std::fprintf(stderr, "cannot store the ticket: %s\n", render(err).c_str());
    std::abort();
  }
  std::filesystem::remove_all(dir);
  return db;
}

caf::actor_system_config& testing_config(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  return cfg;
}

/// Everything the REST front needs, made once per process.
struct harness {
  caf::actor_system_config cfg;
  caf::actor_system sys{testing_config(cfg)};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::unique_ptr<storage::db> db = scratch_db();
  storage::helpdesk_store helpdesk{*db};
  storage::outbox_store outbox{*db};
  storage::webhook_store webhooks{*db};
  address_book connected;
  net::metrics metrics;
  rest_actor rest;

  harness() {
    // The handlers log what fails on the server's side (the HELPDESK that is missing).
    if (!verbose()) spdlog::set_level(spdlog::level::off);
    connected.add("support@example.test");
    service::put(sys, caf::actor_cast<registry_actor>(sys.spawn(registry_stand_in, 0)));
    rest_config rc;
    rc.admin_token = admin_token;
    rest = sys.spawn(rest_front, rc,
                     rest_stores{&metrics, &helpdesk, &outbox, &connected, &webhooks});
    sched.run();
  }
};

} // namespace

net::response rest_answer(exc::http_request req) {
  // Never destroyed: the actor system would wait for actors at exit, and LeakSanitizer
  // sees it reachable.
  static auto* h = new harness;
  auto line = verbose() ? req.method + " " + req.target : std::string{};
  auto out = std::make_shared<captured>();
  caf::anon_send(h->rest, std::move(req), net::responder_ptr{out});
  h->sched.run();
  // A request that waits for an answer that never comes times out (a 503); the others'
  // timers are dropped, so they do not pile up across inputs.
  while (h->sched.trigger_timeouts() > 0)
    h->sched.run();
  if (!out->answer) {
    std::fprintf(stderr, "the REST front did not answer\n");
    std::abort();
  }
  // For writing seeds: does the request get as far as meant?
  if (verbose())
    std::fprintf(stderr, "%s -> %u %s\n", line.c_str(), out->answer->result_int(),
                 out->answer->body().c_str());
  return std::move(*out->answer);
}

} // namespace fuzz

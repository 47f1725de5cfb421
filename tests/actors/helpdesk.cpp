#define CAF_SUITE helpdesk
// 0.17.6's dsl.hpp uses an undefined FAIL macro.
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "temp_db.hpp"
#include "temp_dir.hpp"

#include "actors/helpdesk.hpp"
#include "mail/ticket_token.hpp"
#include "messages/error.hpp"
#include "storage/db.hpp"

#include <variant>

using namespace exc;
using namespace std::chrono_literals;
using mail::ticket_token;
using nlohmann::json;

namespace {

struct fixture : test_coordinator_fixture<> {
  test::temp_dir dir;
  std::unique_ptr<storage::db> db;
  std::unique_ptr<storage::helpdesk_store> store;
  std::unique_ptr<storage::outbox_store> outbox;
  address_book connected;
  net::metrics metrics;
  helpdesk_actor desk;
  storage_writer_actor writer;
  /// One 5-byte attachment fits a ticket; four comments, two attachments per mail,
  /// 64-byte bodies.
  ticket_limits limits{8, 2, 4, 16 * 1024, 64};

  fixture() {
    db = open_temp_db(dir);
    writer = start_storage_writer(sys, *db);
    store = std::make_unique<storage::helpdesk_store>(*db);
    outbox = std::make_unique<storage::outbox_store>(*db);
    desk = caf::actor_cast<helpdesk_actor>(sys.spawn(helpdesk, store.get(), outbox.get(),
                                                     &connected, &metrics,
                                                     std::string{"token-key"}, limits));
  }

  ~fixture() {
    self->send_exit(desk, caf::exit_reason::user_shutdown);
    self->send_exit(writer, caf::exit_reason::user_shutdown);
    sched.run();
  }

  static inbound_mail mail(const std::string& mailbox, const std::string& graph_id,
                           const std::string& message_id) {
    inbound_mail m;
    m.account_id = "acc_1";
    m.mailbox_id = mailbox;
    m.graph_id = graph_id;
    m.message_id = message_id;
    m.received_at = "2026-11-25T10:00:00Z";
    m.subject = "Printer";
    m.from = {"jana@customer.test", "Jana"};
    m.to = {{"tom@customer.test", "Tom"}};
    m.text_body = "It is jammed.";
    m.attachments.push_back({"log.txt", "text/plain", 5, false, "hello"});
    return m;
  }

  ingest_outcome ingest(inbound_mail m) {
    std::optional<ingest_outcome> out;
    auto answer = self->request(desk, caf::infinite, atom::ingest_v, std::move(m));
    sched.run(); // the test coordinator runs the HELPDESK only here
    answer.receive(
        [&](const ingest_outcome& o) { out = o; },
        [&](const caf::error& err) { CAF_FAIL("ingest failed: " << render(err)); });
    CAF_REQUIRE(out);
    return *out;
  }

  storage::journal_entry journal(const std::string& mailbox, const std::string& id) {
    auto e = store->journal(mailbox, id);
    CAF_REQUIRE(e && *e);
    return **e;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(helpdesk_tests, fixture)

CAF_TEST(a new mail is a ticket and asking again changes nothing) {
  auto first = ingest(mail("mbx_1", "g1", "m1@customer.test"));
  CAF_CHECK(first.outcome == message_outcome::ticket);
  CAF_CHECK(!first.rejected());
  auto e = journal("mbx_1", "g1");
  CAF_CHECK(e.outcome == message_outcome::ticket);
  CAF_CHECK_EQUAL(e.ticket_id, first.ticket_id);
  CAF_CHECK(!e.labelled);
  auto ticket = store->ticket("acc_1", first.ticket_id);
  CAF_REQUIRE(ticket && *ticket);
  CAF_CHECK_EQUAL((**ticket).at("requester").at("email"), "jana@customer.test");
  CAF_CHECK_EQUAL((**ticket).at("token"), ticket_token("token-key", first.ticket_id));
  CAF_CHECK_EQUAL((**ticket).at("comments")[0].at("attachments")[0].at("size"), 5);
  auto content =
      db->get(storage::family::tickets,
              storage::attachment_key("acc_1", first.ticket_id,
                                      (**ticket).at("comments")[0].at("id"), 0));
  CAF_REQUIRE(content && *content);
  CAF_CHECK_EQUAL(**content, "hello");
  // The same Graph message again (a retry after a crash): the journal answers.
  auto again = ingest(mail("mbx_1", "g1", "m1@customer.test"));
  CAF_CHECK(again.outcome == message_outcome::ticket);
  CAF_CHECK_EQUAL(again.ticket_id, first.ticket_id);
  auto page = store->tickets("acc_1", "", "", 10);
  CAF_REQUIRE(page);
  CAF_CHECK_EQUAL(page->records.size(), 1u);
  CAF_CHECK_EQUAL(json(store->counters("mbx_1")->at("fetched")), 1);
}

CAF_TEST(the journal moves from converted to labelled) {
  auto out = ingest(mail("mbx_1", "g1", "m1@customer.test"));
  bool done = false;
  auto answer = self->request(desk, caf::infinite, atom::labelled_v, std::string{"mbx_1"},
                              std::string{"g1"});
  sched.run();
  answer.receive([&](bool ok) { done = ok; },
                 [&](const caf::error& err) { CAF_FAIL(render(err)); });
  CAF_CHECK(done);
  auto e = journal("mbx_1", "g1");
  CAF_CHECK(e.labelled);
  CAF_CHECK_EQUAL(e.ticket_id, out.ticket_id);
}

CAF_TEST(a full ticket goes on in a linked follow up) {
  auto first = ingest(mail("mbx_1", "g1", "m1@customer.test"));
  std::string previous = "m1@customer.test";
  for (int i = 2; i <= 4; ++i) { // comments 2 to 4 fit
    auto reply = mail("mbx_1", "g" + std::to_string(i),
                      "m" + std::to_string(i) + "@customer.test");
    reply.thread_ids = {previous};
    previous = reply.message_id;
    CAF_CHECK(ingest(reply).outcome == message_outcome::comment);
  }
  // The fifth would take the ticket past 4 comments: a new ticket that points back.
  auto fifth = mail("mbx_1", "g5", "m5@customer.test");
  fifth.thread_ids = {"m1@customer.test"};
  auto follow = ingest(fifth);
  CAF_CHECK(follow.outcome == message_outcome::ticket);
  CAF_REQUIRE_NOT_EQUAL(follow.ticket_id, first.ticket_id);
  auto old_ticket = **store->ticket("acc_1", first.ticket_id);
  auto new_ticket = **store->ticket("acc_1", follow.ticket_id);
  CAF_CHECK_EQUAL(old_ticket.at("comments").size(), 4u);
  CAF_CHECK_EQUAL(old_ticket.at("followed_up_by"), follow.ticket_id);
  CAF_CHECK_EQUAL(new_ticket.at("follow_up_of"), first.ticket_id);
  CAF_CHECK_EQUAL(new_ticket.at("comments").size(), 1u);
  // A later reply to the full ticket lands in the follow-up.
  auto later = mail("mbx_1", "g6", "m6@customer.test");
  later.thread_ids = {"m2@customer.test"};
  auto r = ingest(later);
  CAF_CHECK(r.outcome == message_outcome::comment);
  CAF_CHECK_EQUAL(r.ticket_id, follow.ticket_id);
  // An agent cannot grow the full ticket either.
  agent_comment c;
  c.origin.account_id = "acc_1";
  c.origin.mailbox_id = "mbx_1";
  c.ticket_id = first.ticket_id;
  c.author = {"agent@contoso.test", "Agent"};
  c.body_text = "Anything else?";
  c.is_public = false;
  auto answer = self->request(desk, caf::infinite, atom::comment_v, c);
  sched.run();
  caf::error refused;
  answer.receive([](const queued_reply&) {},
                 [&](const caf::error& err) { refused = err; });
  CAF_CHECK_EQUAL(refused.code(), static_cast<std::uint8_t>(ec::ticket_full));
  // Nothing was stored for the comment the full ticket did not take: only the
  // attachment of its first comment (the budget of 8 bytes took one).
  std::size_t attachments = 0;
  db->scan(storage::family::tickets, "acc_1/a/" + first.ticket_id + "/",
           [&](std::string_view, std::string_view) {
             ++attachments;
             return true;
           });
  CAF_CHECK_EQUAL(attachments, 1u);
}

CAF_TEST(bodies and attachments beyond their caps are cut and listed) {
  auto m = mail("mbx_1", "g1", "m1@customer.test");
  m.text_body = std::string(60, 'a') + "\xc3\xa4\xc3\xa4\xc3\xa4"; // 66 bytes
  m.html_body = "<p>" + std::string(100, 'b') + "</p>";
  m.attachments.clear();
  for (int i = 0; i < 3; ++i)
    m.attachments.push_back({"a" + std::to_string(i), "text/plain", 1, false, "x"});
  auto out = ingest(m);
  auto comment = (**store->ticket("acc_1", out.ticket_id)).at("comments")[0];
  CAF_CHECK_EQUAL(comment.at("body_text"), std::string(60, 'a') + "\xc3\xa4\xc3\xa4");
  CAF_CHECK(comment.at("body_html").is_null());
  CAF_CHECK_EQUAL(comment.at("body_truncated"), true);
  CAF_CHECK_EQUAL(comment.at("attachments")[1].at("stored"), true);
  CAF_CHECK_EQUAL(comment.at("attachments")[2].at("stored"), false); // 2 per mail
}

CAF_TEST(the next mail reads what the last one wrote before the writer confirmed it) {
  sched.run(); // the HELPDESK's start-up barrier
  // Two messages of one mailbox and a copy in another one, all handled by the HELPDESK
  // before the STORAGE WRITER applied anything.
  auto reply = mail("mbx_1", "g2", "m2@customer.test");
  reply.thread_ids = {"m1@customer.test"};
  std::vector<decltype(self->request(desk, caf::infinite, atom::ingest_v,
                                     inbound_mail{}))>
      asked;
  for (auto m : {mail("mbx_1", "g1", "m1@customer.test"), reply,
                 mail("mbx_2", "h1", "m1@customer.test")})
    asked.push_back(self->request(desk, caf::infinite, atom::ingest_v, m));
  while (sched.prioritize(desk))
    sched.run_once();
  CAF_REQUIRE(store->ticket_of_message("acc_1", "m1@customer.test"));
  CAF_CHECK(!*store->ticket_of_message("acc_1", "m1@customer.test")); // nothing applied
  sched.run();
  std::vector<ingest_outcome> out;
  for (auto& a : asked)
    a.receive([&](const ingest_outcome& o) { out.push_back(o); },
              [&](const caf::error& err) { CAF_FAIL("ingest failed: " << render(err)); });
  CAF_REQUIRE_EQUAL(out.size(), 3u);
  CAF_CHECK(out[0].outcome == message_outcome::ticket);
  CAF_CHECK(out[1].outcome == message_outcome::comment);
  CAF_CHECK_EQUAL(out[1].ticket_id, out[0].ticket_id);
  CAF_CHECK(out[2].outcome == message_outcome::duplicate);
  CAF_CHECK_EQUAL(out[2].ticket_id, out[0].ticket_id);
  CAF_CHECK_EQUAL(json(store->counters("mbx_1")->at("fetched")), 2);
  CAF_CHECK_EQUAL(json(store->counters("mbx_2")->at("duplicates")), 1);
  CAF_CHECK_EQUAL(
      json((**store->ticket("acc_1", out[0].ticket_id)).at("comments").size()), 2);
}

CAF_TEST(replies thread duplicates count and rejections are recorded) {
  auto first = ingest(mail("mbx_1", "g1", "m1@customer.test"));
  // A reply naming the first message in References.
  auto reply = mail("mbx_1", "g2", "m2@customer.test");
  reply.thread_ids = {"unknown@x.test", "m1@customer.test"};
  auto r = ingest(reply);
  CAF_CHECK(r.outcome == message_outcome::comment);
  CAF_CHECK_EQUAL(r.ticket_id, first.ticket_id);
  CAF_CHECK_EQUAL(json((**store->ticket("acc_1", first.ticket_id)).at("comments").size()),
                  2);
  // A reply to the reply threads too: every message of the ticket is indexed.
  auto deeper = mail("mbx_1", "g3", "m3@customer.test");
  deeper.thread_ids = {"m2@customer.test"};
  CAF_CHECK_EQUAL(ingest(deeper).ticket_id, first.ticket_id);
  // The same Message-ID through another mailbox of the account.
  auto copy = ingest(mail("mbx_2", "h1", "m1@customer.test"));
  CAF_CHECK(copy.outcome == message_outcome::duplicate);
  CAF_CHECK_EQUAL(copy.ticket_id, first.ticket_id);
  CAF_CHECK_EQUAL(json(store->counters("mbx_2")->at("duplicates")), 1);
  // Another account's ticket is not threaded into.
  auto foreign = mail("mbx_9", "f1", "f1@customer.test");
  foreign.account_id = "acc_2";
  foreign.thread_ids = {"m1@customer.test"};
  CAF_CHECK(ingest(foreign).outcome == message_outcome::ticket);
  // An automatic reply: a comment when it threads, else rejected.
  auto ooo = mail("mbx_1", "g4", "ooo1@customer.test");
  ooo.auto_generated = true;
  ooo.thread_ids = {"m1@customer.test"};
  CAF_CHECK(ingest(ooo).outcome == message_outcome::comment);
  auto stray = mail("mbx_1", "g5", "ooo2@customer.test");
  stray.auto_generated = true;
  auto s = ingest(stray);
  CAF_CHECK(s.outcome == message_outcome::rejected);
  CAF_CHECK_EQUAL(s.reason, "auto_submitted");
  // Mailing-list mail: a ticket unless the account rejects it, a comment when it
  // threads either way.
  auto group = mail("mbx_1", "g7", "group1@customer.test");
  group.list_mail = "List-Id: <team.customer.test>";
  CAF_CHECK(ingest(group).outcome == message_outcome::ticket);
  auto listed = mail("mbx_1", "g8", "group2@customer.test");
  listed.list_mail = "Precedence: list";
  listed.reject_list_mail = true;
  auto l = ingest(listed);
  CAF_CHECK(l.outcome == message_outcome::rejected);
  CAF_CHECK_EQUAL(l.reason, "mailing_list");
  auto threaded = mail("mbx_1", "g9", "group3@customer.test");
  threaded.list_mail = "Precedence: list";
  threaded.reject_list_mail = true;
  threaded.thread_ids = {"group1@customer.test"};
  CAF_CHECK(ingest(threaded).outcome == message_outcome::comment);
  // A rejection from the converter.
  auto bad = mail("mbx_1", "g6", "");
  bad.rejection = "missing_to";
  bad.detail = "the message has no To address";
  CAF_CHECK_EQUAL(ingest(bad).reason, "missing_to");
  auto page = store->rejections("acc_1", "mbx_1", "", 10);
  CAF_REQUIRE(page);
  const auto& rejections = page->records;
  CAF_REQUIRE_EQUAL(rejections.size(), 3u);
  CAF_CHECK_EQUAL(rejections[1].at("reason"), "mailing_list");
  CAF_CHECK_EQUAL(rejections[2].at("reason"), "missing_to");
  CAF_CHECK_EQUAL(rejections[2].at("message_id"), "g6");
  auto counters = *store->counters("mbx_1");
  CAF_CHECK_EQUAL(counters.at("fetched"), 9);
  CAF_CHECK_EQUAL(counters.at("converted"), 6);
  CAF_CHECK_EQUAL(counters.at("rejected"), 3);
  CAF_CHECK_EQUAL(counters.at("rejected_by_reason").at("auto_submitted"), 1);
  CAF_CHECK_EQUAL(counters.at("rejected_by_reason").at("mailing_list"), 1);
  CAF_CHECK_EQUAL(metrics.value("exconnect_messages_total", {{"outcome", "rejected"}}),
                  3);
}

CAF_TEST(a subject token threads only with a valid hmac in the same account) {
  auto first = ingest(mail("mbx_1", "g1", "m1@customer.test"));
  auto token = ticket_token("token-key", first.ticket_id);
  // A fresh mail (no In-Reply-To) that carries the token in its subject.
  auto fresh = mail("mbx_1", "g2", "m2@customer.test");
  fresh.subject = "Re: Printer " + token + " still broken";
  auto r = ingest(fresh);
  CAF_CHECK(r.outcome == message_outcome::comment);
  CAF_CHECK_EQUAL(r.ticket_id, first.ticket_id);
  // A guessed id with a made-up HMAC opens a ticket of its own.
  auto forged = mail("mbx_1", "g3", "m3@customer.test");
  forged.subject = "[#" + first.ticket_id + "-000000] let me in";
  if (token.find("-000000]") == std::string::npos)
    CAF_CHECK(ingest(forged).outcome == message_outcome::ticket);
  // The right token in another account's mail does not reach the ticket.
  auto foreign = mail("mbx_9", "f1", "f1@customer.test");
  foreign.account_id = "acc_2";
  foreign.subject = "Re: " + token;
  CAF_CHECK(ingest(foreign).outcome == message_outcome::ticket);
}

CAF_TEST(attachments are stored up to the cap per ticket and listed beyond it) {
  auto first = ingest(mail("mbx_1", "g1", "m1@customer.test"));
  auto reply = mail("mbx_1", "g2", "m2@customer.test");
  reply.thread_ids = {"m1@customer.test"};
  ingest(reply);
  auto ticket = **store->ticket("acc_1", first.ticket_id);
  auto a1 = ticket.at("comments")[0].at("attachments")[0];
  auto a2 = ticket.at("comments")[1].at("attachments")[0];
  CAF_CHECK_EQUAL(a1.at("stored"), true);
  CAF_CHECK_EQUAL(a1.at("inline"), false);
  CAF_CHECK_EQUAL(a2.at("stored"), false); // 5 + 5 bytes > the cap of 8
  CAF_CHECK_EQUAL(a2.at("size"), 5);
  auto content = db->get(storage::family::tickets,
                         storage::attachment_key("acc_1", first.ticket_id,
                                                 ticket.at("comments")[1].at("id"), 0));
  CAF_REQUIRE(content);
  CAF_CHECK(!*content);
}

CAF_TEST(tickets page oldest first by cursor) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(ingest(mail("mbx_1", "g" + std::to_string(i),
                              "m" + std::to_string(i) + "@customer.test"))
                      .ticket_id);
  auto first = store->tickets("acc_1", "", "", 2);
  CAF_REQUIRE(first);
  CAF_REQUIRE_EQUAL(first->records.size(), 2u);
  CAF_CHECK_EQUAL(first->records[0].at("id"), ids[0]);
  CAF_CHECK_EQUAL(first->next, ids[1]);
  auto rest = store->tickets("acc_1", "", first->next, 10);
  CAF_REQUIRE(rest);
  CAF_CHECK_EQUAL(rest->records.size(), 3u);
  CAF_CHECK_EQUAL(rest->next, "");
  CAF_CHECK_EQUAL(store->tickets("acc_1", "mbx_other", "", 10)->records.size(), 0u);
}

CAF_TEST(a write that may still land later ends the helpdesk) {
  // A STORAGE WRITER that takes the batch and never answers (a stalled disk).
  struct silent_state {
    std::vector<caf::typed_response_promise<bool>> held;
  };
  auto silent = sys.spawn(
      [](storage_writer_actor::stateful_pointer<silent_state> w,
         int) -> storage_writer_actor::behavior_type {
        auto hold = [w] {
          w->state.held.push_back(w->make_response_promise<bool>());
          return w->state.held.back();
        };
        return {
            [=](atom::commit, const storage::batch&,
                storage::durability) -> caf::result<bool> { return hold(); },
            [=](atom::commit, const storage::batch&, const std::string&) {},
            [=](atom::sync) -> caf::result<bool> { return hold(); },
            [=](atom::barrier) -> caf::result<bool> { return hold(); },
        };
      },
      0);
  service::put(sys, silent);
  self->monitor(desk);
  auto answer =
      self->request(desk, caf::infinite, atom::ingest_v, mail("mbx_1", "g1", "a@x"));
  sched.run();
  sched.advance_time(61s); // past the write's timeout: it may land later, or not
  sched.run();
  bool failed = false;
  answer.receive([](const ingest_outcome&) {}, [&](const caf::error&) { failed = true; });
  CAF_CHECK(failed);
  caf::error reason;
  self->receive([&](const caf::down_msg& dm) { reason = dm.reason; });
  CAF_CHECK(reason == caf::make_error(caf::sec::request_timeout));
  self->send_exit(silent, caf::exit_reason::user_shutdown);
  desk = nullptr;
}

CAF_TEST(an ingest is one durable commit answered once the writer made it durable) {
  // A STORAGE WRITER that applies every batch and holds the answer to a durable commit
  // until the test lets it go (its group's fsync; a barrier here, as the stub cannot
  // have a message of its own).
  struct holding_state {
    std::vector<storage::durability> commits;
    std::vector<caf::typed_response_promise<bool>> held;
    int syncs = 0;
  };
  auto* target = db.get();
  auto holding = sys.spawn(
      [target](storage_writer_actor::stateful_pointer<holding_state> w,
               int) -> storage_writer_actor::behavior_type {
        return {
            [=](atom::commit, const storage::batch& changes,
                storage::durability d) -> caf::result<bool> {
              w->state.commits.push_back(d);
              if (auto err = target->commit(changes, storage::durability::relaxed))
                return err;
              if (d == storage::durability::relaxed) return true;
              w->state.held.push_back(w->make_response_promise<bool>());
              return w->state.held.back();
            },
            [=](atom::commit, const storage::batch& changes, const std::string&) {
              target->commit(changes, storage::durability::relaxed);
            },
            [=](atom::sync) -> caf::result<bool> {
              ++w->state.syncs;
              return true;
            },
            [=](atom::barrier) -> caf::result<bool> { // here: the group's fsync
              for (auto& rp : w->state.held)
                rp.deliver(true);
              return true;
            },
        };
      },
      0);
  service::put(sys, holding);
  auto answered = std::make_shared<bool>(false);
  auto client = sys.spawn(
      [=](caf::event_based_actor* c, helpdesk_actor hd) -> caf::behavior {
        c->request(hd, caf::infinite, atom::ingest_v, mail("mbx_1", "g1", "m1@x.test"))
            .then([=](const ingest_outcome&) { *answered = true; },
                  [](const caf::error&) {});
        return {[](int) {}};
      },
      desk);
  sched.run();
  auto& st = deref<storage_writer_actor::stateful_base<holding_state>>(holding).state;
  CAF_REQUIRE_EQUAL(st.commits.size(), 1u);
  CAF_CHECK(st.commits[0] == storage::durability::durable);
  CAF_CHECK_EQUAL(st.syncs, 0);
  CAF_CHECK(!*answered); // applied, not yet durable
  CAF_REQUIRE_EQUAL(st.held.size(), 1u);
  self->send(holding, atom::barrier_v); // the fsync is done
  sched.run();
  CAF_CHECK(*answered);
  CAF_CHECK_EQUAL(st.syncs, 0);
  self->send_exit(client, caf::exit_reason::user_shutdown);
  self->send_exit(holding, caf::exit_reason::user_shutdown);
}

CAF_TEST(a rejection is recovered once into a ticket) {
  auto stray = mail("mbx_1", "g1", "ooo@customer.test");
  stray.auto_generated = true;
  CAF_REQUIRE_EQUAL(ingest(stray).reason, "auto_submitted");
  auto big = mail("mbx_1", "g2", "big@customer.test");
  big.rejection = "too_large";
  CAF_REQUIRE_EQUAL(ingest(big).reason, "too_large");
  auto rejections = store->rejections("acc_1", "mbx_1", "", 10)->records;
  CAF_REQUIRE_EQUAL(rejections.size(), 2u);
  auto id = rejections[0].at("id").get<std::string>();
  auto recover = [&](inbound_mail m) -> std::variant<ingest_outcome, caf::error> {
    std::optional<std::variant<ingest_outcome, caf::error>> out;
    auto answer = self->request(desk, caf::infinite, atom::recover_v, std::move(m));
    sched.run();
    answer.receive([&](ingest_outcome& x) { out = x; },
                   [&](caf::error& err) { out = err; });
    CAF_REQUIRE(out);
    return *out;
  };
  // The same mail again, recovered: a ticket (automatic or not), the rejection names it.
  stray.recovering = id;
  auto first = recover(stray);
  CAF_REQUIRE(std::holds_alternative<ingest_outcome>(first));
  auto out = std::get<ingest_outcome>(first);
  CAF_CHECK(out.outcome == message_outcome::ticket);
  auto record = **store->rejection("acc_1", id);
  CAF_CHECK_EQUAL(record.at("ticket_id"), out.ticket_id);
  CAF_CHECK_EQUAL(record.at("recovered_as"), "ticket");
  CAF_CHECK(record.contains("recovered_at"));
  auto entry = *store->journal("mbx_1", "g1");
  CAF_REQUIRE(entry);
  CAF_CHECK(entry->outcome == message_outcome::ticket);
  CAF_CHECK_EQUAL(entry->reason, "");
  CAF_CHECK(!entry->labelled); // labelled anew: the rejected label goes
  CAF_CHECK_EQUAL(json(store->counters("mbx_1")->at("recovered")), 1);
  // Once only.
  auto again = recover(stray);
  CAF_REQUIRE(std::holds_alternative<caf::error>(again));
  CAF_CHECK(is(std::get<caf::error>(again), ec::already_recovered));
  // too_large was never downloaded; an unknown id is not found.
  big.recovering = rejections[1].at("id").get<std::string>();
  auto refused = recover(big);
  CAF_REQUIRE(std::holds_alternative<caf::error>(refused));
  CAF_CHECK(is(std::get<caf::error>(refused), ec::not_recoverable));
  big.recovering = "rej_unknown";
  auto unknown = recover(big);
  CAF_REQUIRE(std::holds_alternative<caf::error>(unknown));
  CAF_CHECK(is(std::get<caf::error>(unknown), ec::not_found));
}

CAF_TEST_FIXTURE_SCOPE_END()

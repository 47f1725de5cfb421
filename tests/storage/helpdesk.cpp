#define CAF_SUITE storage_helpdesk
#include <caf/test/unit_test.hpp>

#include "db_fixture.hpp"

#include "messages/error.hpp"
#include "storage/db.hpp"
#include "storage/helpdesk.hpp"
#include "storage/records.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

using nlohmann::json;
using storage::durability;
using storage::family;

namespace {

struct fixture : db_fixture {
  static json ticket(const std::string& account, const std::string& mailbox,
                     const std::string& id) {
    return {{"id", id}, {"account_id", account}, {"mailbox_id", mailbox}};
  }

  static json rejection(const std::string& mailbox, const std::string& id) {
    return {{"id", id}, {"mailbox_id", mailbox}, {"reason", "auto_reply"}};
  }

  /// Every id listed by `list(after)`, page by page; also the number of pages.
  template <class List>
  static std::pair<std::vector<std::string>, int> walk(List list) {
    std::vector<std::string> ids;
    std::string after;
    for (int pages = 1;; ++pages) {
      caf::expected<storage::record_page> page = list(after);
      if (!page) CAF_FAIL("listing failed: " << exc::render(page.error()));
      for (const auto& r : page->records)
        ids.push_back(r.at("id").get<std::string>());
      if (page->next.empty()) return {ids, pages};
      if (pages > 100) CAF_FAIL("the pages never end");
      after = page->next;
    }
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(storage_helpdesk_tests, fixture)

CAF_TEST(tickets of one mailbox are listed in pages through its index) {
  auto db = open();
  storage::helpdesk_store store{*db};
  storage::batch changes;
  // Seven tickets, mailboxes a, b, c in turn; one of another account in mailbox b.
  for (int i = 1; i <= 7; ++i)
    store.stage_ticket(changes, ticket("acc_1", std::string{"mbx_"} + "abc"[i % 3],
                                       "t0" + std::to_string(i)));
  store.stage_ticket(changes, ticket("acc_2", "mbx_b", "t05x"));
  // A ticket staged again (a new comment) is listed once.
  store.stage_ticket(changes, ticket("acc_1", "mbx_b", "t04"));
  CAF_REQUIRE_EQUAL(db->commit(changes, durability::durable), caf::none);
  auto [of_b, pages] = walk([&](const std::string& after) {
    return store.tickets("acc_1", "mbx_b", after, 2);
  });
  CAF_CHECK_EQUAL(of_b, (std::vector<std::string>{"t01", "t04", "t07"}));
  CAF_CHECK_EQUAL(pages, 2);
  auto [all, all_pages] = walk(
      [&](const std::string& after) { return store.tickets("acc_1", "", after, 3); });
  CAF_CHECK_EQUAL(all.size(), 7u);
  CAF_CHECK_EQUAL(all_pages, 3);
  CAF_CHECK_EQUAL(walk([&](const std::string& after) {
                    return store.tickets("acc_1", "mbx_none", after, 5);
                  }).first.size(),
                  0u);
  // Exactly a page: no empty page follows.
  auto exact = store.tickets("acc_1", "mbx_b", "", 3);
  CAF_REQUIRE(exact);
  CAF_CHECK_EQUAL(exact->records.size(), 3u);
  CAF_CHECK_EQUAL(exact->next, "");
}

CAF_TEST(rejections are listed in pages of the account or of one mailbox) {
  auto db = open();
  storage::helpdesk_store store{*db};
  storage::batch changes;
  for (int i = 1; i <= 5; ++i)
    store.stage_rejection(
        changes, "acc_1",
        rejection(i % 2 ? "mbx_a" : "mbx_b", "rej_0" + std::to_string(i)));
  store.stage_rejection(changes, "acc_2", rejection("mbx_a", "rej_09"));
  CAF_REQUIRE_EQUAL(db->commit(changes, durability::durable), caf::none);
  auto [all, pages] = walk(
      [&](const std::string& after) { return store.rejections("acc_1", "", after, 2); });
  CAF_CHECK_EQUAL(
      all, (std::vector<std::string>{"rej_01", "rej_02", "rej_03", "rej_04", "rej_05"}));
  CAF_CHECK_EQUAL(pages, 3);
  auto of_a = walk([&](const std::string& after) {
                return store.rejections("acc_1", "mbx_a", after, 2);
              }).first;
  CAF_CHECK_EQUAL(of_a, (std::vector<std::string>{"rej_01", "rej_03", "rej_05"}));
}

CAF_TEST(a version 1 data dir gains the mailbox indexes once on open) {
  {
    auto db = open();
    // What a version 1 build wrote: records without index entries.
    CAF_REQUIRE_EQUAL(db->put(family::meta, "schema_version", "1"), caf::none);
    storage::batch old;
    old.put(family::accounts, storage::account_key("acc_1"), R"({"id":"acc_1"})");
    for (int i = 1; i <= 4; ++i)
      old.put(
          family::tickets, storage::ticket_key("acc_1", "t0" + std::to_string(i)),
          ticket("acc_1", i % 2 ? "mbx_a" : "mbx_b", "t0" + std::to_string(i)).dump());
    old.put(family::tickets, storage::rejection_key("acc_1", "rej_01"),
            rejection("mbx_b", "rej_01").dump());
    old.put(family::tickets, storage::message_index_key("acc_1", "<x@y>"), "t01");
    old.put(family::tickets, storage::idempotency_key("acc_1", "key/with/slash"), "{}");
    CAF_REQUIRE_EQUAL(db->commit(old, durability::durable), caf::none);
    storage::helpdesk_store store{*db};
    auto before = store.tickets("acc_1", "mbx_a", "", 10);
    CAF_REQUIRE(before);
    CAF_CHECK_EQUAL(before->records.size(), 0u); // the index is missing
  }
  auto db = open();
  CAF_CHECK_EQUAL(db->get(family::meta, "schema_version")->value_or(""),
                  std::to_string(storage::db::schema_version));
  storage::helpdesk_store store{*db};
  auto a = store.tickets("acc_1", "mbx_a", "", 10);
  CAF_REQUIRE(a);
  CAF_REQUIRE_EQUAL(a->records.size(), 2u);
  CAF_CHECK_EQUAL(a->records[0].at("id").get<std::string>(), "t01");
  CAF_CHECK_EQUAL(a->records[1].at("id").get<std::string>(), "t03");
  auto b = store.rejections("acc_1", "mbx_b", "", 10);
  CAF_REQUIRE(b);
  CAF_REQUIRE_EQUAL(b->records.size(), 1u);
  CAF_CHECK_EQUAL(b->records[0].at("id").get<std::string>(), "rej_01");
  // The other records are as they were.
  CAF_CHECK_EQUAL(store.ticket_of_message("acc_1", "<x@y>")->value_or(""), "t01");
}

CAF_TEST(the journal keeps its open entries apart until they are done) {
  auto db = open();
  storage::helpdesk_store store{*db};
  auto stage = [&](const std::string& id, const storage::journal_entry& e) {
    storage::batch b;
    store.stage_journal(b, "mbx_a", id, e);
    CAF_REQUIRE_EQUAL(db->commit(b, durability::durable), caf::none);
  };
  storage::journal_entry pending;
  pending.attempts = 1;
  pending.retry_at_ms = 1234;
  stage("g1", pending);
  storage::journal_entry stored; // an outcome, not labelled yet
  stored.outcome = exc::message_outcome::ticket;
  stage("g2", stored);
  storage::journal_entry done = stored;
  done.labelled = true;
  stage("g3", done);
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  auto open = store.open_messages("mbx_a", 10);
  CAF_REQUIRE(open);
  CAF_REQUIRE_EQUAL(open->size(), 2u);
  CAF_CHECK_EQUAL((*open)[0].graph_id, "g1");
  CAF_CHECK_EQUAL((*open)[0].due_ms, 1234);
  CAF_CHECK_EQUAL((*open)[1].graph_id, "g2");
  // Not labelled yet: due after the LABELER's grace.
  CAF_CHECK_GREATER_OR_EQUAL((*open)[1].due_ms,
                             now_ms + storage::open_label_grace.count() - 1000);
  CAF_CHECK_EQUAL(store.open_messages("mbx_a", 1)->size(), 1u); // bounded
  CAF_CHECK_EQUAL(store.open_messages("mbx_b", 10)->size(), 0u);
  // A failed label is due at its own retry time, not after the grace.
  storage::journal_entry failed_label = stored;
  failed_label.label_attempts = 1;
  failed_label.retry_at_ms = 5678;
  stage("g2", failed_label);
  auto after_failure = store.open_messages("mbx_a", 10);
  CAF_REQUIRE(after_failure && after_failure->size() == 2u);
  CAF_CHECK_EQUAL((*after_failure)[1].due_ms, 5678);
  stage("g2", done); // labelled now
  stage("g1", done);
  CAF_CHECK_EQUAL(store.open_messages("mbx_a", 10)->size(), 0u);
  // One the FETCHER found gone.
  stage("g4", pending);
  storage::batch b;
  store.stage_not_open(b, "mbx_a", "g4");
  CAF_REQUIRE_EQUAL(db->commit(b, durability::durable), caf::none);
  CAF_CHECK_EQUAL(store.open_messages("mbx_a", 10)->size(), 0u);
  CAF_CHECK(store.journal("mbx_a", "g4")->has_value()); // the entry stays
}

CAF_TEST(the delta link is kept per mailbox and forgotten on request) {
  auto db = open();
  storage::helpdesk_store store{*db};
  CAF_CHECK(!store.delta_link("mbx_a")->has_value());
  storage::batch b;
  store.stage_delta_link(b, "mbx_a", "https://graph/delta?$deltatoken=x");
  CAF_REQUIRE_EQUAL(db->commit(b, durability::relaxed), caf::none);
  CAF_CHECK_EQUAL(store.delta_link("mbx_a")->value_or(""),
                  "https://graph/delta?$deltatoken=x");
  CAF_CHECK(!store.delta_link("mbx_b")->has_value());
  storage::batch forget;
  store.stage_delta_link(forget, "mbx_a", "");
  CAF_REQUIRE_EQUAL(db->commit(forget, durability::relaxed), caf::none);
  CAF_CHECK(!store.delta_link("mbx_a")->has_value());
}

CAF_TEST(a version 2 data dir files its open journal entries once on open) {
  {
    auto db = open();
    CAF_REQUIRE_EQUAL(db->put(family::meta, "schema_version", "2"), caf::none);
    storage::batch old; // entries as version 2 wrote them: no index
    storage::journal_entry open_one;
    open_one.attempts = 2;
    open_one.retry_at_ms = 99;
    storage::journal_entry done;
    done.outcome = exc::message_outcome::rejected;
    done.labelled = true;
    old.put(family::journal, storage::journal_key("mbx_a", "g1"),
            storage::to_json(open_one).dump());
    old.put(family::journal, storage::journal_key("mbx_a", "g2"),
            storage::to_json(done).dump());
    old.put(family::journal, storage::counters_key("mbx_a"), R"({"fetched":2})");
    CAF_REQUIRE_EQUAL(db->commit(old, durability::durable), caf::none);
  }
  auto db = open();
  CAF_CHECK_EQUAL(db->get(family::meta, "schema_version")->value_or(""), "3");
  storage::helpdesk_store store{*db};
  auto open = store.open_messages("mbx_a", 10);
  CAF_REQUIRE(open);
  CAF_REQUIRE_EQUAL(open->size(), 1u);
  CAF_CHECK_EQUAL((*open)[0].graph_id, "g1");
  CAF_CHECK_EQUAL((*open)[0].due_ms, 99);
  auto entry = store.journal("mbx_a", "g1");
  CAF_REQUIRE(entry && entry->has_value());
  auto attempts = (*entry)->attempts;
  CAF_CHECK_EQUAL(attempts, 2u);
}

CAF_TEST(a schema version that is no number is refused) {
  int n = 0;
  for (const char* version : {"0", "abc", "", "2x", "99999999999"}) {
    path = dir.file("data" + std::to_string(++n));
    {
      auto db = open();
      CAF_CHECK_EQUAL(db->put(family::meta, "schema_version", version), caf::none);
    }
    auto again = storage::db::open(path);
    CAF_REQUIRE(!again);
    CAF_CHECK_EQUAL(again.error(), exc::make_error(exc::ec::schema_mismatch));
  }
}

CAF_TEST_FIXTURE_SCOPE_END()

#define CAF_SUITE storage_pending_writes
#include <caf/test/unit_test.hpp>

#include "db_fixture.hpp"

#include "storage/db.hpp"
#include "storage/helpdesk.hpp"
#include "storage/pending_writes.hpp"
#include "storage/records.hpp"

#include <nlohmann/json.hpp>

#include <string>

using nlohmann::json;
using storage::durability;
using storage::family;

namespace {

/// The value of the `fetched` counter `store` reads for mailbox m1.
long fetched(const storage::helpdesk_store& store) {
  auto c = store.counters("m1");
  if (!c) CAF_FAIL("counters failed: " << exc::render(c.error()));
  return c->at("fetched").get<long>();
}

storage::batch counters_batch(const storage::helpdesk_store& store, long n) {
  storage::batch b;
  store.stage_counters(b, "m1", json{{"fetched", n}});
  return b;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(pending_writes_tests, db_fixture)

CAF_TEST(a pending value is read until the commit that wrote it last is applied) {
  storage::pending_writes pending;
  storage::batch first;
  first.put(family::tickets, "k", "1");
  first.put(family::tickets, "gone", "x");
  storage::batch second;
  second.put(family::tickets, "k", "2");
  second.erase(family::tickets, "gone");
  CAF_CHECK_EQUAL(pending.add(first), 1u);
  CAF_CHECK_EQUAL(pending.add(second), 2u);
  CAF_REQUIRE(pending.find(family::tickets, "k") != nullptr);
  CAF_CHECK_EQUAL(pending.find(family::tickets, "k")->value_or(""), "2");
  CAF_REQUIRE(pending.find(family::tickets, "gone") != nullptr);
  CAF_CHECK(!pending.find(family::tickets, "gone")->has_value()); // erased
  CAF_CHECK(pending.find(family::journal, "k") == nullptr);       // another family
  // The first commit applied: the second one's values stay pending.
  pending.applied(1);
  CAF_REQUIRE(pending.find(family::tickets, "k") != nullptr);
  CAF_CHECK_EQUAL(pending.find(family::tickets, "k")->value_or(""), "2");
  CAF_CHECK_EQUAL(pending.size(), 2u);
  pending.applied(2);
  CAF_CHECK(pending.find(family::tickets, "k") == nullptr);
  CAF_CHECK_EQUAL(pending.size(), 0u);
}

CAF_TEST(a helpdesk store reads its own unconfirmed commits and then the database) {
  auto db = open();
  storage::helpdesk_store committed{*db};
  storage::pending_writes pending;
  storage::helpdesk_store own{committed, &pending};
  CAF_REQUIRE(!db->commit(counters_batch(committed, 1), durability::relaxed));
  // Handed to the writer, not applied yet: only the store reading through them sees it.
  auto next = counters_batch(committed, 2);
  CAF_REQUIRE_EQUAL(pending.add(next), 1u);
  CAF_CHECK_EQUAL(fetched(own), 2);
  CAF_CHECK_EQUAL(fetched(committed), 1);
  CAF_REQUIRE(!db->commit(next, durability::relaxed));
  pending.applied(1);
  CAF_CHECK_EQUAL(fetched(own), 2);
  CAF_CHECK_EQUAL(pending.size(), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()

#define CAF_SUITE storage_records
#include <caf/test/unit_test.hpp>

#include "storage/records.hpp"

#include <nlohmann/json.hpp>

#include <string>

using nlohmann::json;
using storage::mailbox_from_json;

namespace {

storage::mailbox_record full_record() {
  storage::mailbox_record x;
  x.id = "mbx_1";
  x.account_id = "acc_1";
  x.address = "desk@contoso.test";
  x.status = storage::mailbox_status::connected;
  x.created_at = "2026-12-01T10:00:00Z";
  x.poll_interval_s = 30;
  x.backfill_days = 2;
  x.connected_at = "2026-12-01T10:01:00Z";
  x.state_hash = "hash";
  x.state_expires_at = "2026-12-01T10:11:00Z";
  x.last_error = storage::error_record{"ErrorItemNotFound", "gone \"quoted\"",
                                       "2026-12-01T11:00:00Z", "listing"};
  x.tenant_id = "tenant-1";
  return x;
}

/// The stored text of the full record with `change` applied to its document.
std::string edited(void (*change)(json&)) {
  auto j = storage::to_json(full_record());
  change(j);
  return j.dump();
}

} // namespace

CAF_TEST(a stored mailbox record reads back as it was written) {
  auto x = full_record();
  auto back = mailbox_from_json(storage::to_json(x).dump());
  CAF_REQUIRE(back);
  CAF_CHECK_EQUAL(back->id, x.id);
  CAF_CHECK_EQUAL(back->account_id, x.account_id);
  CAF_CHECK_EQUAL(back->address, x.address);
  CAF_CHECK(back->status == x.status);
  CAF_CHECK_EQUAL(back->created_at, x.created_at);
  CAF_CHECK_EQUAL(back->poll_interval_s, 30);
  CAF_CHECK_EQUAL(back->backfill_days, 2);
  CAF_CHECK_EQUAL(back->connected_at, x.connected_at);
  CAF_CHECK_EQUAL(back->state_hash, x.state_hash);
  CAF_CHECK_EQUAL(back->state_expires_at, x.state_expires_at);
  CAF_CHECK_EQUAL(back->tenant_id, x.tenant_id);
  CAF_REQUIRE(back->last_error);
  CAF_CHECK_EQUAL(back->last_error->code, "ErrorItemNotFound");
  CAF_CHECK_EQUAL(back->last_error->message, "gone \"quoted\"");
  CAF_CHECK_EQUAL(back->last_error->at, "2026-12-01T11:00:00Z");
  CAF_CHECK_EQUAL(back->last_error->step, "listing");
  x.last_error.reset();
  x.tenant_id.clear();
  back = mailbox_from_json(storage::to_json(x).dump());
  CAF_REQUIRE(back);
  CAF_CHECK(!back->last_error);
  CAF_CHECK(back->tenant_id.empty());
}

CAF_TEST(a mailbox record reads leniently field by field) {
  // Mistyped fields read as empty, unknown ones (nested too) are skipped.
  auto x = mailbox_from_json(edited([](json& j) {
    j["address"] = 42;
    j["poll_interval_s"] = "30";
    j["backfill_days"] = 1.5;
    j["extra"] = {{"id", "not-this"}, {"list", {1, {{"status", "x"}}, "y"}}};
    j["last_error"]["code"] = json::array({"a"});
    j["last_error"]["nested"] = {{"message", "not-this"}};
  }));
  CAF_REQUIRE(x);
  CAF_CHECK_EQUAL(x->id, "mbx_1");
  CAF_CHECK(x->address.empty());
  CAF_CHECK_EQUAL(x->poll_interval_s, 0);
  CAF_CHECK_EQUAL(x->backfill_days, 0);
  CAF_CHECK(x->status == storage::mailbox_status::connected);
  CAF_REQUIRE(x->last_error);
  CAF_CHECK(x->last_error->code.empty());
  CAF_CHECK_EQUAL(x->last_error->message, "gone \"quoted\"");
  // An error that is not an object is none.
  x = mailbox_from_json(edited([](json& j) { j["last_error"] = "broken"; }));
  CAF_REQUIRE(x);
  CAF_CHECK(!x->last_error);
  // A field given twice keeps its last value, whatever it holds.
  auto text = storage::to_json(full_record()).dump();
  text.insert(text.size() - 1, R"(,"address":"late@contoso.test","tenant_id":7,)"
                               R"("last_error":null,"poll_interval_s":5)");
  x = mailbox_from_json(text);
  CAF_REQUIRE(x);
  CAF_CHECK_EQUAL(x->address, "late@contoso.test");
  CAF_CHECK(x->tenant_id.empty());
  CAF_CHECK(!x->last_error);
  CAF_CHECK_EQUAL(x->poll_interval_s, 5);
}

CAF_TEST(a plain mailbox record reads as the full parser reads it) {
  // No error object, no escapes, integers only: read without nlohmann's lexer.
  auto x = mailbox_from_json(edited([](json& j) {
    j["last_error"] = nullptr;
    j["address"] = 42;
    j["tenant_id"] = true;
    j["poll_interval_s"] = "30";
    j["backfill_days"] = -3;
    j["unknown"] = 12;
  }));
  CAF_REQUIRE(x);
  CAF_CHECK_EQUAL(x->id, "mbx_1");
  CAF_CHECK_EQUAL(x->connected_at, "2026-12-01T10:01:00Z");
  CAF_CHECK(x->address.empty());
  CAF_CHECK(x->tenant_id.empty());
  CAF_CHECK_EQUAL(x->poll_interval_s, 0);
  CAF_CHECK_EQUAL(x->backfill_days, -3);
  CAF_CHECK(!x->last_error);
  // Whitespace anywhere, a field given twice: its last value.
  x = mailbox_from_json(" {\n \"id\" : \"mbx_2\" ,\"account_id\":\"acc_1\",\t"
                        "\"status\":\"connected\",\"id\":\"mbx_3\", "
                        "\"poll_interval_s\":15,\"poll_interval_s\":null}\r\n");
  CAF_REQUIRE(x);
  CAF_CHECK_EQUAL(x->id, "mbx_3");
  CAF_CHECK_EQUAL(x->poll_interval_s, 0);
  // An error object of plain strings, an unknown member of it skipped.
  x = mailbox_from_json(edited([](json& j) {
    j["last_error"] = {{"code", "Throttled"}, {"message", "later"}, {"retry", 5}};
  }));
  CAF_REQUIRE(x);
  CAF_REQUIRE(x->last_error);
  CAF_CHECK_EQUAL(x->last_error->code, "Throttled");
  CAF_CHECK_EQUAL(x->last_error->message, "later");
  CAF_CHECK(x->last_error->step.empty());
  // What the plain reader leaves to the full one reads the same.
  x = mailbox_from_json(edited([](json& j) {
    j["last_error"] = nullptr;
    j["address"] = "d\u00e9sk@contoso.test"; // beyond ASCII
    j["created_at"] = "a\"b";                // an escape
    j["poll_interval_s"] = 12345678901234567890u;
    j["backfill_days"] = 2.0;
  }));
  CAF_REQUIRE(x);
  CAF_CHECK_EQUAL(x->address, "d\u00e9sk@contoso.test");
  CAF_CHECK_EQUAL(x->created_at, "a\"b");
  CAF_CHECK_EQUAL(x->poll_interval_s, static_cast<std::int64_t>(12345678901234567890u));
  CAF_CHECK_EQUAL(x->backfill_days, 0);
  CAF_CHECK(!mailbox_from_json(R"({"id":"mbx_1","account_id":"acc_1",)"
                               R"("status":"connected",})")); // a trailing comma
  CAF_CHECK(!mailbox_from_json(R"({"id":"mbx_1","account_id":"acc_1",)"
                               R"("status":"connected","n":012})")); // a leading zero
  CAF_CHECK(!mailbox_from_json(R"({"id":"mbx_1","account_id":"acc_1",)"
                               R"("status":"connected","n":nul})"));
}

CAF_TEST(what is not a mailbox record reads as none) {
  CAF_CHECK(!mailbox_from_json(""));
  CAF_CHECK(!mailbox_from_json("null"));
  CAF_CHECK(!mailbox_from_json("\"mbx_1\""));
  CAF_CHECK(!mailbox_from_json(R"([{"id":"mbx_1","account_id":"acc_1"}])"));
  auto whole = storage::to_json(full_record()).dump();
  CAF_CHECK(mailbox_from_json(whole));
  CAF_CHECK(!mailbox_from_json(whole.substr(0, whole.size() - 1))); // cut short
  CAF_CHECK(!mailbox_from_json(whole + "{}"));                      // two documents
  CAF_CHECK(!mailbox_from_json(edited([](json& j) { j.erase("id"); })));
  CAF_CHECK(!mailbox_from_json(edited([](json& j) { j["account_id"] = ""; })));
  CAF_CHECK(!mailbox_from_json(edited([](json& j) { j["status"] = "sleeping"; })));
  CAF_CHECK(!mailbox_from_json(edited([](json& j) { j.erase("status"); })));
}

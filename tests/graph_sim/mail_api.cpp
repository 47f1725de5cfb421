#define CAF_SUITE graph_sim_mail
#include <caf/test/unit_test.hpp>

#include "fixture.hpp"

using nlohmann::json;

CAF_TEST_FIXTURE_SCOPE(graph_sim_mail_tests, sim_fixture)

CAF_TEST(delivered mail is listed in the inbox) {
  auto id = sim.deliver(mailbox, test::sample_mail("m1"));
  auto res = sim.graph("GET", "/users/" + mailbox + "/mailFolders/inbox/messages", token);
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(res.status, 200u);
  auto j = body(res);
  CAF_REQUIRE(j["value"].size() == 1u);
  CAF_CHECK_EQUAL(j["value"][0]["id"], id);
  CAF_CHECK_EQUAL(j["value"][0]["subject"], "Printer on floor 3 is jammed");
  CAF_CHECK_EQUAL(j["value"][0]["internetMessageId"], "<m1@customer.test>");
  CAF_CHECK_EQUAL(j["value"][0]["from"]["emailAddress"]["address"], "alice@customer.test");
  CAF_CHECK_EQUAL(j["value"][0]["isRead"], false);
  CAF_CHECK(!res.header("Date").empty());
}

CAF_TEST_FIXTURE_SCOPE_END()

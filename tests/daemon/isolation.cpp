#define CAF_SUITE daemon_isolation
#include <caf/test/unit_test.hpp>

#include "hostile_mail.hpp"
#include "ingest_fixture.hpp"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

using nlohmann::json;

namespace {

/// A mail whose every conversion runs past the 0.2 s budget (hostile_mail.hpp).
std::string unconvertible_mime(const std::string& address) {
  return test::slow_html_mime("Mallory <mallory@customer.test>", address,
                              "hostile@customer.test", 40 * 1024 * 1024);
}

struct isolation_fixture : ingest_daemon_fixture {
  isolation_fixture() {
    // Quick quarantines: three tries, the first retry after 0.2 s; a conversion is
    // stopped after 0.2 s.
    start_daemon(
        {"--max-attempts", "3", "--retry-initial", "0.2", "--conversion-timeout", "0.2"});
  }

  std::vector<std::string> deliver(const std::string& address, int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      auto tag = address.substr(0, address.find('@')) + "-" + std::to_string(i);
      ids.push_back(sim.deliver(address, mime("Jana <jana@customer.test>", address,
                                              "About " + tag, tag + "@customer.test")));
    }
    return ids;
  }

  std::size_t tickets_of(const std::string& key, const std::string& mailbox_id) {
    return call_json("GET", "/api/v1/tickets?limit=100&mailbox_id=" + mailbox_id, key)
        .at("tickets")
        .size();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(daemon_isolation_tests, isolation_fixture)

CAF_TEST(a mailbox whose labels or requests all fail or whose grant is gone or
         whose mail never converts holds up nobody) {
  auto key = create_account("A").at("api_key").get<std::string>();
  auto good = connect(key, "good@contoso.test").at("id").get<std::string>();
  auto labels = connect(key, "labels@contoso.test").at("id").get<std::string>();
  auto down = connect(key, "down@contoso.test").at("id").get<std::string>();
  auto gone = connect(key, "gone@contoso.test").at("id").get<std::string>();
  auto hostile = connect(key, "hostile@contoso.test").at("id").get<std::string>();
  // labels@: every PATCH fails; down@: every request fails; gone@: its grant is revoked.
  sim.control("PUT", "/mailboxes/labels@contoso.test/faults",
              {{"rules", {{{"method", "PATCH"}, {"status", 500}}}}});
  sim.control(
      "PUT", "/mailboxes/down@contoso.test/faults",
      {{"rules", {{{"method", "*"}, {"status", 503}, {"code", "ServiceUnavailable"}}}}});
  sim.control("POST", "/grants/revoke",
              {{"user", "gone@contoso.test"}, {"aadsts", 70008}});
  sim.control("POST", "/tokens/expire");
  auto good_mail = deliver("good@contoso.test", 5);
  deliver("labels@contoso.test", 4);
  deliver("down@contoso.test", 3);
  deliver("gone@contoso.test", 2);
  // hostile@: a mail whose conversion always runs past its budget, then two ordinary.
  auto poison =
      sim.deliver("hostile@contoso.test", unconvertible_mime("hostile@contoso.test"));
  auto behind = deliver("hostile@contoso.test", 2);

  // The healthy mailbox's mail goes through as if nothing happened.
  wait_labelled("good@contoso.test", good_mail, std::chrono::seconds(20));
  CAF_CHECK_EQUAL(tickets_of(key, good), 5u);

  // labels@: each message becomes a ticket though its label never sticks; a failed
  // label does not block the next message, and after three tries each is quarantined.
  auto view = wait_mailbox(key, labels, [](const json& v) {
    return v.at("counters").at("converted") == 4 &&
           v.at("counters").at("quarantined_by_step").value("labelling", 0) == 4;
  });
  CAF_CHECK_EQUAL(view.at("counters").at("converted"), 4);
  CAF_CHECK_EQUAL(view.at("counters").at("quarantined"), 4);
  CAF_CHECK_EQUAL(view.at("status"),
                  "connected"); // a message's trouble, not the mailbox's
  CAF_CHECK_EQUAL(tickets_of(key, labels), 4u);
  for (const auto& [id, m] : sim_messages("labels@contoso.test"))
    CAF_CHECK(!has(m, "Zendesk"));

  // down@: the listing fails; the mailbox backs off and says so.
  view = wait_mailbox(key, down, [](const json& v) {
    return v.at("last_error").is_object() && v.at("last_error").at("step") == "listing";
  });
  CAF_CHECK_EQUAL(view.at("last_error").at("code"), "ServiceUnavailable");
  CAF_CHECK(!view.at("throttle").at("paused_until").is_null());
  CAF_CHECK_EQUAL(tickets_of(key, down), 0u);

  // gone@: needs a new consent; its mail waits untouched.
  view = wait_mailbox(key, gone, [](const json& v) {
    return v.at("status") == "reauthorization_required";
  });
  CAF_CHECK_EQUAL(view.at("status"), "reauthorization_required");
  CAF_CHECK_EQUAL(tickets_of(key, gone), 0u);

  // hostile@: the mail behind the unconvertible one goes on; that one is tried three
  // times, each stopped at the budget, then quarantined as a labelled rejection.
  wait_labelled("hostile@contoso.test", behind, std::chrono::seconds(20));
  CAF_CHECK_EQUAL(tickets_of(key, hostile), 2u);
  wait_labelled("hostile@contoso.test", {poison}, std::chrono::seconds(20));
  auto m = sim_messages("hostile@contoso.test").at(poison);
  CAF_CHECK(has(m, "Zendesk") && has(m, "RejectedByZendesk"));
  view = call_json("GET", "/api/v1/mailboxes/" + hostile, key);
  CAF_CHECK_EQUAL(view.at("counters").at("quarantined_by_step").value("conversion", 0),
                  1);
  std::string reason, detail;
  for (const auto& r : rejections(key))
    if (r.at("internet_message_id") == "hostile@customer.test") {
      reason = r.at("reason");
      detail = r.at("detail");
    }
  CAF_CHECK_EQUAL(reason, "processing_failed");
  CAF_CHECK_EQUAL(detail.rfind("conversion failed 3 times", 0), 0u);
  CAF_CHECK_NOT_EQUAL(detail.find("conversion_timeout"), std::string::npos);

  // Once Graph works again for labels@, nothing more is needed for the tickets: they
  // stand, and their labels are tried again only rarely (every 5 minutes).
  auto metrics = call("GET", "/metrics", "").body;
  CAF_CHECK_NOT_EQUAL(metrics.find("exconnect_quarantined_total{step=\"labelling\"} 4"),
                      std::string::npos);
}

CAF_TEST(a mailbox whose every request fails settles into a long backoff) {
  auto key = create_account("A").at("api_key").get<std::string>();
  auto down = connect(key, "down@contoso.test").at("id").get<std::string>();
  sim.control("PUT", "/mailboxes/down@contoso.test/faults",
              {{"rules", {{{"method", "*"}, {"status", 500}}}}});
  auto requests = [&] {
    auto stats = sim.control("GET", "/stats");
    return stats.at("faults").at("errors").get<std::uint64_t>();
  };
  // Failures in a row wait 1, 2, 4, 8 s (each up to a quarter more): at most 4
  // listings in the first 8 s, though the poll interval is 1 s.
  wait_mailbox(key, down, [](const json& v) { return v.at("last_error").is_object(); });
  auto first = requests();
  CAF_REQUIRE_GREATER_OR_EQUAL(first, 1u);
  std::this_thread::sleep_for(std::chrono::seconds(8)); // a span to count requests in
  auto later = requests();
  CAF_CHECK_LESS_OR_EQUAL(later - first, 4u);
  CAF_CHECK_GREATER_OR_EQUAL(later - first, 2u); // and it does keep trying
}

CAF_TEST_FIXTURE_SCOPE_END()

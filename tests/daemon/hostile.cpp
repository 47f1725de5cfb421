#define CAF_SUITE daemon_hostile
#include <caf/test/unit_test.hpp>

#include "ingest_fixture.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using nlohmann::json;
using std::chrono::steady_clock;

namespace {

/// HTML-only mail of 2 MB built to hurt HTML-to-text (issue 13: each used to keep a
/// CONVERTER busy for minutes).
std::string hostile_html(const std::string& to, int n) {
  static const char* const units[] = {"<title></title>", "&", "<script>x</scrip",
                                      "&#x41;&amp;<br>"};
  std::string html;
  while (html.size() < 2 * 1024 * 1024)
    html += units[n % 4];
  return "From: Mallory <mallory@customer.test>\r\nTo: " + to + "\r\nSubject: Hostile " +
         std::to_string(n) + "\r\nMessage-ID: <hostile-" + std::to_string(n) +
         "@customer.test>\r\nMIME-Version: 1.0\r\n"
         "Content-Type: text/html; charset=utf-8\r\n\r\n" +
         html + "\r\n";
}

struct hostile_fixture : ingest_daemon_fixture {
  hostile_fixture() { start_daemon({"--max-attempts", "3", "--retry-initial", "0.2"}); }

  std::size_t tickets_of(const std::string& key, const std::string& mailbox_id) {
    return call_json("GET", "/api/v1/tickets?limit=100&mailbox_id=" + mailbox_id, key)
        .at("tickets")
        .size();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(daemon_hostile_tests, hostile_fixture)

CAF_TEST(hostile HTML in one mailbox does not delay ordinary mail in four others) {
  auto key = create_account("A").at("api_key").get<std::string>();
  connect(key, "hostile@contoso.test");
  std::vector<std::string> ordinary;
  for (int i = 0; i < 4; ++i)
    ordinary.push_back(connect(key, "ok" + std::to_string(i) + "@contoso.test")
                           .at("id")
                           .get<std::string>());
  std::vector<std::string> hostile;
  for (int n = 0; n < 6; ++n)
    hostile.push_back(
        sim.deliver("hostile@contoso.test", hostile_html("hostile@contoso.test", n)));
  // A round of ordinary mail every second while the hostile mail is taken in; each must
  // be a ticket within the poll interval (1 s) plus 2 s.
  double worst = 0;
  for (std::size_t round = 1; round <= 8; ++round) {
    auto sent = steady_clock::now();
    for (int i = 0; i < 4; ++i) {
      auto address = "ok" + std::to_string(i) + "@contoso.test";
      auto tag = "ok" + std::to_string(i) + "-" + std::to_string(round);
      sim.deliver(address, mime("Jana <jana@customer.test>", address, "About " + tag,
                                tag + "@customer.test"));
    }
    std::vector<bool> done(4, false);
    while (steady_clock::now() - sent < std::chrono::seconds(10)) {
      for (std::size_t i = 0; i < 4; ++i)
        done[i] = done[i] || tickets_of(key, ordinary[i]) >= round;
      if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    double took = std::chrono::duration<double>(steady_clock::now() - sent).count();
    worst = std::max(worst, took);
    CAF_MESSAGE("round " << round << ": ordinary mail ticketed after " << took << " s");
  }
  CAF_CHECK_LESS_OR_EQUAL(worst, 3.0);
  // The hostile mail ends: each a ticket, or a processing_failed rejection.
  wait_labelled("hostile@contoso.test", hostile, std::chrono::seconds(60));
  std::size_t ended = 0;
  for (const auto& t : tickets(key))
    if (t.at("subject").get<std::string>().rfind("Hostile", 0) == 0) ++ended;
  for (const auto& r : rejections(key))
    if (r.at("reason") == "processing_failed" &&
        r.at("internet_message_id").get<std::string>().rfind("hostile-", 0) == 0)
      ++ended;
  CAF_CHECK_EQUAL(ended, hostile.size());
}

CAF_TEST_FIXTURE_SCOPE_END()

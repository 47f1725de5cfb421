#define CAF_SUITE daemon_corpus
#include <caf/test/unit_test.hpp>

#include "ingest_fixture.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

using nlohmann::json;

// Real mail nobody here wrote (tools/corpus/fetch.sh, run by ctest's corpus_fetch into
// the build tree) through graph-sim to exconnectd: each message in an account and
// mailbox of its own, so that what it became is all that account holds.

namespace {

struct corpus_fixture : ingest_daemon_fixture {
  corpus_fixture() { start_daemon(); }
};

std::vector<std::filesystem::path> corpus_files() {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator{std::string{EXC_CORPUS_DIR} + "/mail", ec})
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(daemon_corpus_tests, corpus_fixture)

CAF_TEST(every real world message ends as one ticket or one labelled rejection) {
  auto files = corpus_files();
  CAF_REQUIRE_GREATER(files.size(), 200u); // what fetch.sh collects: about 240
  struct delivered {
    std::string file, key, address, graph_id;
  };
  std::vector<delivered> all;
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto key = create_account("corpus " + std::to_string(i)).at("api_key");
    auto address = "m" + std::to_string(i) + "@contoso.test";
    connect(key, address);
    all.push_back({files[i].filename().string(), key, address, ""});
  }
  for (auto& d : all)
    d.graph_id = sim.deliver(d.address,
                             read_file(std::string{EXC_CORPUS_DIR} + "/mail/" + d.file));
  std::size_t tickets_made = 0, rejected = 0;
  std::map<std::string, int> reasons;
  for (const auto& d : all) {
    CAF_MESSAGE(d.file);
    wait_labelled(d.address, {d.graph_id}, std::chrono::seconds(60)); // none stuck
    auto made = tickets(d.key);
    auto refused = rejections(d.key);
    auto labels = sim_messages(d.address).at(d.graph_id);
    if (made.size() == 1) {
      CAF_CHECK_EQUAL(made[0].at("comments").size(), 1u);
      CAF_CHECK_EQUAL(refused.size(), 0u);
      CAF_CHECK(!has(labels, "RejectedByZendesk"));
      ++tickets_made;
    } else {
      CAF_CHECK_EQUAL(made.size(), 0u);
      CAF_REQUIRE_EQUAL(refused.size(), 1u);
      CAF_CHECK_EQUAL(refused[0].at("message_id").get<std::string>(), d.graph_id);
      CAF_CHECK(has(labels, "RejectedByZendesk"));
      ++rejected;
      ++reasons[refused[0].at("reason").get<std::string>()];
    }
  }
  std::string by_reason;
  for (const auto& [reason, n] : reasons)
    by_reason += " " + reason + ":" + std::to_string(n);
  CAF_MESSAGE(all.size() << " messages: " << tickets_made << " tickets, " << rejected
                         << " rejections (" << by_reason << " )");
  CAF_CHECK_EQUAL(tickets_made + rejected, all.size());
  // The daemon is alive and well: no crash, no restarted actor.
  CAF_CHECK_EQUAL(call("GET", "/healthz", "").status, 200u);
  auto metrics = call("GET", "/metrics", "").body;
  CAF_CHECK(metrics.find("exconnect_actor_restarts_total{") == std::string::npos);
  CAF_CHECK(daemon->running());
}

CAF_TEST_FIXTURE_SCOPE_END()

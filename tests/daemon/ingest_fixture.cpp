#include "ingest_fixture.hpp"

#include <caf/test/unit_test.hpp>

using nlohmann::json;

std::string mime(const std::string& from, const std::string& to,
                 const std::string& subject, const std::string& message_id,
                 const std::string& extra) {
  std::string out;
  if (!from.empty()) out += "From: " + from + "\r\n";
  if (!to.empty()) out += "To: " + to + "\r\n";
  out += "Subject: " + subject + "\r\nDate: Tue, 24 Nov 2026 09:15:00 +0000\r\n";
  if (!message_id.empty()) out += "Message-ID: <" + message_id + ">\r\n";
  out += extra;
  out += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
  out += "Body of " + subject + "\r\n";
  return out;
}

std::map<std::string, json>
ingest_daemon_fixture::sim_messages(const std::string& address) {
  std::map<std::string, json> out;
  auto all = sim.control("GET", "/mailboxes/" + address + "/messages");
  for (const auto& m : all.at("messages"))
    out[m.at("id").get<std::string>()] = m;
  return out;
}

bool ingest_daemon_fixture::has(const json& message, const std::string& category) {
  for (const auto& c : message.at("categories"))
    if (c == category) return true;
  return false;
}

void ingest_daemon_fixture::wait_labelled(const std::string& address,
                                          const std::vector<std::string>& ids,
                                          std::chrono::seconds timeout) {
  std::vector<std::string> missing;
  auto done = test::eventually(
      [&] {
        auto now = sim_messages(address);
        missing.clear();
        for (const auto& id : ids)
          if (!has(now.at(id), "Zendesk")) missing.push_back(id);
        return missing.empty();
      },
      timeout, std::chrono::milliseconds(100));
  if (!done) {
    // Say what is missing and what the daemon did last, for the CI log.
    auto logs = daemon_logs();
    auto tail = logs.substr(logs.size() > 4000 ? logs.size() - 4000 : 0);
    CAF_MESSAGE(address << ": " << missing.size() << " of " << ids.size()
                        << " not labelled, e.g. " << missing.front()
                        << "; daemon log tail:\n"
                        << tail);
  }
  CAF_CHECK(done);
}

json ingest_daemon_fixture::every_page(const std::string& path, const char* field,
                                       const std::string& key) {
  auto out = json::array();
  std::string after;
  auto separator = path.find('?') == std::string::npos ? "?" : "&";
  // Pages of 7: the paging itself is part of what every test reads through.
  for (;;) {
    auto page = call_json(
        "GET", path + separator + "limit=7" + (after.empty() ? "" : "&after=" + after),
        key);
    for (const auto& t : page.at(field))
      out.push_back(t);
    if (page.at("next").is_null()) return out;
    after = page.at("next").get<std::string>();
  }
}

std::vector<json> ingest_daemon_fixture::tickets(const std::string& key) {
  return every_page("/api/v1/tickets", "tickets", key).get<std::vector<json>>();
}

void ingest_daemon_fixture::check_graph_sim_clean() {
  auto stats = sim.control("GET", "/stats");
  CAF_CHECK_EQUAL(stats.at("fetch_rate").at("violations"), 0);
  CAF_CHECK_EQUAL(stats.at("throttled").at("concurrency"), 0);
  CAF_CHECK_EQUAL(stats.at("throttled").at("request_rate"), 0);
}

json ingest_daemon_fixture::rejections(const std::string& key) {
  return every_page("/api/v1/rejections", "rejections", key);
}

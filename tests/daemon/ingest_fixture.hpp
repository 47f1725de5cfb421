#pragma once

// What the ingest tests share: a mail builder and a view of graph-sim's mailboxes and
// exconnectd's tickets.

#include "daemon_fixture.hpp"

#include <map>
#include <string>
#include <vector>

/// A mail with the given headers ("" leaves a header out), `extra` header lines, and a
/// text body.
std::string mime(const std::string& from, const std::string& to,
                 const std::string& subject, const std::string& message_id,
                 const std::string& extra = {});

struct ingest_daemon_fixture : daemon_fixture {
  using daemon_fixture::daemon_fixture;

  /// graph-sim's view of a mailbox's messages: Graph id -> message.
  std::map<std::string, nlohmann::json> sim_messages(const std::string& address);

  static bool has(const nlohmann::json& message, const std::string& category);

  /// Waits (30 s unless told) until every listed message carries the processed label.
  void wait_labelled(const std::string& address, const std::vector<std::string>& ids,
                     std::chrono::seconds timeout = std::chrono::seconds(30));

  /// Every item (`field` of each page) of a paged listing, in pages of 7.
  nlohmann::json every_page(const std::string& path, const char* field,
                            const std::string& key);

  /// Every ticket of the account, through the cursor pages.
  std::vector<nlohmann::json> tickets(const std::string& key);

  /// Every rejection of the account (a JSON array), through the cursor pages.
  nlohmann::json rejections(const std::string& key);

  /// graph-sim counted no fetch-rate violation and sent no concurrency or request-rate
  /// 429.
  void check_graph_sim_clean();
};

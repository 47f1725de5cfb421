#pragma once

#include "child_process.hpp"
#include "eventually.hpp"
#include "graph_sim_process.hpp"
#include "temp_dir.hpp"
#include "test_ca.hpp"

#include "net/http_client.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

/// graph-sim over TLS and exconnectd as real processes on loopback ports chosen at
/// runtime. exconnectd trusts graph-sim's test CA and uses its registered app.
struct daemon_fixture {
  test::temp_dir dir;
  test::test_ca ca = test::test_ca::create(dir.path());
  test::graph_sim_process sim;
  test::graph_sim_process::app app;
  std::string data = dir.file("data");
  net::http_client client; ///< to exconnectd (plain HTTP)
  std::unique_ptr<test::child_process> daemon;
  std::uint16_t port = 0;
  std::string admin_token;
  int starts = 0;
  std::vector<std::string> daemon_args; ///< extra options for every start

  explicit daemon_fixture(const std::vector<std::string>& sim_args = {});
  ~daemon_fixture();

  /// Starts exconnectd (poll interval 1 s) and waits until it listens.
  void start_daemon(const std::vector<std::string>& extra = {});
  /// SIGTERM (checks exit 0), then starts it again on the same data dir.
  void restart_daemon();
  /// Every log the daemon wrote so far, across restarts.
  std::string daemon_logs() const;

  net::client_response call(const std::string& method, const std::string& path,
                            const std::string& token, const std::string& body = {},
                            net::header_list headers = {});
  nlohmann::json call_json(const std::string& method, const std::string& path,
                           const std::string& token, const nlohmann::json& body = nullptr,
                           unsigned expected_status = 200);

  /// POST /api/v1/accounts: {"id","name","api_key",…}.
  nlohmann::json create_account(const std::string& name);
  /// POST /api/v1/mailboxes: {"id","authorize_url",…}; the mailbox exists at graph-sim.
  nlohmann::json create_mailbox(const std::string& key, const std::string& address);
  /// Follows an authorize URL: graph-sim consents and redirects; the redirect goes to
  /// the daemon's callback. Returns the callback's answer.
  net::client_response follow(const std::string& authorize_url,
                              const std::string& accept = "application/json");
  /// Account, mailbox at graph-sim, consent: the connected mailbox's view.
  nlohmann::json connect(const std::string& key, const std::string& address);
  nlohmann::json mailbox(const std::string& key, const std::string& id);
  /// Waits until the mailbox's view satisfies `pred` (20 s); returns the last view.
  template <class Pred>
  nlohmann::json wait_mailbox(const std::string& key, const std::string& id, Pred pred) {
    nlohmann::json view;
    test::eventually(
        [&] {
          view = mailbox(key, id);
          return pred(view);
        },
        std::chrono::seconds(20), std::chrono::milliseconds(50));
    return view;
  }

  static std::string error_code(const net::client_response& res);
};

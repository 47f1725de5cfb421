#pragma once

#include "net/http_client.hpp"
#include "sim_client.hpp"

#include <nlohmann/json.hpp>

#include <string>

/// exconnectd's REST API as the demo and the benchmarks use it.
class api_client {
public:
  /// `base` is exconnectd's URL ("http://127.0.0.1:PORT").
  api_client(std::string base, net::http_client& http)
      : base_{std::move(base)}, http_{http} {}

  /// `method` `path` (below /api/v1) with the token; throws unless the answer is
  /// `expected`. Returns the JSON body (null if empty).
  nlohmann::json call(const std::string& method, const std::string& path,
                      const std::string& token, const nlohmann::json& body = nullptr,
                      unsigned expected = 200);

  /// Creates the mailbox (`extra` fields such as backfill_days too) and follows its
  /// authorize URL through graph-sim's consent to the callback. Returns the mailbox.
  nlohmann::json connect(graph_sim::sim_client& sim, const std::string& key,
                         const std::string& address,
                         const nlohmann::json& extra = nlohmann::json::object());

  /// An administrator's consent for the whole tenant: follows the account's consent
  /// link through graph-sim to the callback. Returns the tenant's id.
  std::string consent_tenant(graph_sim::sim_client& sim, const std::string& key);

private:
  std::string base_;
  net::http_client& http_;
};

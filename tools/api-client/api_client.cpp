#include "api_client.hpp"

#include <stdexcept>

using nlohmann::json;

json api_client::call(const std::string& method, const std::string& path,
                      const std::string& token, const json& body, unsigned expected) {
  net::client_request req;
  req.method = method;
  req.url = base_ + "/api/v1" + path;
  req.headers = {{"Authorization", "Bearer " + token},
                 {"Content-Type", "application/json"}};
  if (!body.is_null()) req.body = body.dump();
  auto res = http_.request(std::move(req));
  if (!res.ok() || res.status != expected)
    throw std::runtime_error(
        method + " " + path + ": " +
        (res.ok() ? std::to_string(res.status) + " " + res.body : res.error_message));
  return res.body.empty() ? json{} : json::parse(res.body);
}

namespace {

/// Follows a link of the login service (graph-sim) to exconnectd's callback; the
/// callback's JSON answer.
json follow_to_callback(net::http_client& http, graph_sim::sim_client& sim,
                        const std::string& link) {
  auto consent = sim.call("GET", link);
  auto callback = std::string{consent.header("Location")};
  if (consent.status != 302 || callback.empty())
    throw std::runtime_error("consent failed: " + consent.body);
  net::client_request req;
  req.url = callback;
  req.headers = {{"Accept", "application/json"}};
  auto done = http.request(std::move(req));
  if (!done.ok() || done.status != 200)
    throw std::runtime_error("callback: " + done.body + done.error_message);
  return json::parse(done.body);
}

} // namespace

std::string api_client::consent_tenant(graph_sim::sim_client& sim,
                                       const std::string& key) {
  auto link = call("POST", "/tenants/consent", key)["consent_url"].get<std::string>();
  return follow_to_callback(http_, sim, link)["tenant_id"].get<std::string>();
}

json api_client::connect(graph_sim::sim_client& sim, const std::string& key,
                         const std::string& address, const json& extra) {
  json body = extra;
  body["address"] = address;
  auto mb = call("POST", "/mailboxes", key, body, 201);
  return follow_to_callback(http_, sim, mb["authorize_url"]);
}

#include "actors/graph.hpp"

#include "net/url.hpp"

#include <nlohmann/json.hpp>

namespace exc::graph {

net::client_request get(const std::string& graph_url, const std::string& access_token,
                        const std::string& path_and_query) {
  net::client_request req;
  req.method = "GET";
  req.url = graph_url + path_and_query;
  req.headers = {{"Authorization", "Bearer " + access_token},
                 {"Accept", "application/json"},
                 {"Prefer", "IdType=\"ImmutableId\""}};
  return req;
}

net::client_request inbox_probe(const std::string& graph_url,
                                const std::string& access_token,
                                const std::string& address) {
  return get(graph_url, access_token,
             "/users/" + net::percent_encode(address) +
                 "/mailFolders/inbox/messages?%24top=1&%24select=id");
}

error_info read_error(const net::client_response& res) {
  if (!res.ok()) return {net::to_string(res.error), res.error_message};
  auto body = nlohmann::json::parse(res.body, nullptr, false);
  error_info out;
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    const auto& e = body["error"];
    if (e.value("code", nlohmann::json{}).is_string()) out.code = e["code"];
    if (e.value("message", nlohmann::json{}).is_string()) out.message = e["message"];
  }
  if (out.code.empty()) out.code = "http_" + std::to_string(res.status);
  if (out.message.empty()) out.message = "Graph answered " + std::to_string(res.status);
  return out;
}

bool token_refused(const net::client_response& res) {
  return res.ok() && res.status == 401;
}

} // namespace exc::graph

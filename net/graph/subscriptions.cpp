#include "net/graph/subscriptions.hpp"

#include "net/graph/requests.hpp"
#include "net/time_format.hpp"
#include "net/url.hpp"

#include <nlohmann/json.hpp>

namespace exc::graph {

namespace {

net::client_request with_json(net::client_request req, const char* method,
                              const nlohmann::json& body) {
  req.method = method;
  req.body = body.dump();
  req.headers.emplace_back("Content-Type", "application/json");
  return req;
}

} // namespace

net::client_request create_subscription(const std::string& graph_url,
                                        const std::string& access_token,
                                        const subscription_request& what) {
  return with_json(
      get(graph_url, access_token, "/subscriptions"), "POST",
      {{"changeType", "created"},
       {"notificationUrl", what.notification_url},
       {"lifecycleNotificationUrl", what.lifecycle_url},
       {"resource", "users/" + what.address + "/mailFolders('inbox')/messages"},
       {"expirationDateTime", what.expires},
       {"clientState", what.client_state}});
}

net::client_request renew_subscription(const std::string& graph_url,
                                       const std::string& access_token,
                                       const std::string& id,
                                       const std::string& expires) {
  return with_json(
      get(graph_url, access_token, "/subscriptions/" + net::percent_encode(id)), "PATCH",
      {{"expirationDateTime", expires}});
}

net::client_request delete_subscription(const std::string& graph_url,
                                        const std::string& access_token,
                                        const std::string& id) {
  auto req = get(graph_url, access_token, "/subscriptions/" + net::percent_encode(id));
  req.method = "DELETE";
  return req;
}

std::optional<subscription_answer> read_subscription(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto id = j.find("id");
  auto expires = j.find("expirationDateTime");
  if (id == j.end() || !id->is_string() || id->get<std::string>().empty() ||
      expires == j.end() || !expires->is_string())
    return std::nullopt;
  auto at = net::parse_rfc3339(expires->get<std::string>());
  if (!at) return std::nullopt;
  return subscription_answer{id->get<std::string>(), *at};
}

} // namespace exc::graph

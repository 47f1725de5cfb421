#include "sim_client.hpp"

#include "net/pkce.hpp"
#include "net/url.hpp"

#include <algorithm>
#include <stdexcept>

namespace graph_sim {

using nlohmann::json;

const std::string sim_client::default_scope =
    "offline_access https://graph.microsoft.com/Mail.ReadWrite.Shared "
    "https://graph.microsoft.com/Mail.Send.Shared";
const std::string sim_client::default_redirect_uri =
    "http://127.0.0.1:8025/oauth/callback";

net::client_response sim_client::call(const std::string& method, const std::string& path,
                                      net::header_list headers, std::string body) {
  net::client_request req;
  req.method = method;
  req.url = path.rfind("http", 0) == 0 ? path : base_ + path;
  req.headers = std::move(headers);
  req.body = std::move(body);
  return http_.request(std::move(req));
}

net::params sim_client::redirect_query(const net::client_response& res) {
  auto location = net::parse_url(std::string{res.header("Location")});
  if (!location) return {};
  auto params = net::parse_query(net::split_target(location->target).second);
  return params ? *params : net::params{};
}

json sim_client::control(const std::string& method, const std::string& path,
                         const json& body) {
  net::header_list headers;
  std::string text;
  if (!body.is_null()) {
    headers.emplace_back("Content-Type", "application/json");
    text = body.dump();
  }
  auto res = call(method, "/_sim" + path, std::move(headers), std::move(text));
  if (!res.ok())
    throw std::runtime_error("graph-sim control " + method + " " + path + ": " +
                             res.error_message);
  if (res.status >= 300)
    throw std::runtime_error("graph-sim control " + method + " " + path + " answered " +
                             std::to_string(res.status) + ": " + res.body);
  return res.body.empty() ? json{} : json::parse(res.body);
}

net::client_response sim_client::graph(const std::string& method, const std::string& path,
                                       const std::string& token, std::string body,
                                       net::header_list headers) {
  bool typed = std::any_of(headers.begin(), headers.end(), [](const auto& h) {
    return net::iequals(h.first, "Content-Type");
  });
  headers.emplace_back("Authorization", "Bearer " + token);
  if (!body.empty() && !typed) headers.emplace_back("Content-Type", "application/json");
  return call(method, path.rfind("http", 0) == 0 ? path : "/v1.0" + path,
              std::move(headers), std::move(body));
}

sim_client::app sim_client::register_app(const json& options) {
  auto res = control("POST", "/apps", options.is_object() ? options : json::object());
  return {res.at("client_id"), res.at("client_secret")};
}

std::string sim_client::create_mailbox(const std::string& address, const json& options) {
  json body = options.is_object() ? options : json::object();
  body["address"] = address;
  return control("POST", "/mailboxes", body).at("id");
}

json sim_client::deliver(const std::string& address, const std::string& mime,
                         const json& options) {
  json body = options.is_object() ? options : json::object();
  body["mime_base64"] = net::base64_encode(mime);
  return control("POST", "/mailboxes/" + net::percent_encode(address) + "/messages",
                 body);
}

json sim_client::sent(const std::string& address) {
  return control("GET", "/mailboxes/" + net::percent_encode(address) + "/sent")
      .at("sent");
}

net::client_response sim_client::token_request(const std::string& form,
                                               net::header_list headers) {
  headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  return call("POST", "/organizations/oauth2/v2.0/token", std::move(headers), form);
}

json sim_client::sign_in(const app& a, const std::string& login_hint,
                         const std::string& scope, const std::string& redirect_uri) {
  auto verifier = net::make_code_verifier();
  net::params query{{"client_id", a.client_id},
                    {"response_type", "code"},
                    {"redirect_uri", redirect_uri},
                    {"scope", scope},
                    {"state", "sim-client"},
                    {"code_challenge", net::code_challenge_s256(verifier)},
                    {"code_challenge_method", "S256"},
                    {"login_hint", login_hint}};
  auto res =
      call("GET", "/organizations/oauth2/v2.0/authorize?" + net::encode_query(query));
  auto code = net::find_param(redirect_query(res), "code");
  if (res.status != 302 || !code)
    throw std::runtime_error("authorize gave no code (" + std::to_string(res.status) +
                             "): " + std::string{res.header("Location")} + res.body);
  net::params form{
      {"grant_type", "authorization_code"}, {"code", *code},
      {"redirect_uri", redirect_uri},       {"code_verifier", verifier},
      {"client_id", a.client_id},           {"client_secret", a.client_secret}};
  auto token = token_request(net::encode_query(form));
  if (!token.ok() || token.status != 200)
    throw std::runtime_error("token answered " + std::to_string(token.status) + ": " +
                             token.body);
  return json::parse(token.body);
}

} // namespace graph_sim

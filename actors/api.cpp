#include "actors/api.hpp"

#include "net/url.hpp"

#include <nlohmann/json.hpp>

namespace exc {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

net::response json_response(unsigned status, const json& body) {
  net::response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return res;
}

net::response route(api_actor::stateful_pointer<api_state> self,
                    const http_request& req) {
  auto [path, query] = net::split_target(req.target);
  if (path == "/healthz") {
    if (req.method != "GET") return error_response(405, "method_not_allowed", "use GET");
    auto up = std::chrono::steady_clock::now() - self->state.started;
    return json_response(
        200,
        {{"status", "ok"},
         {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(up).count()}});
  }
  return error_response(404, "not_found", "no route for " + std::string{path});
}

} // namespace

net::response error_response(unsigned status, const std::string& code,
                             const std::string& message, const std::string& field) {
  json error = {{"code", code}, {"message", message}};
  if (!field.empty()) error["field"] = field;
  return json_response(status, {{"error", error}});
}

api_actor::behavior_type api(api_actor::stateful_pointer<api_state> self,
                             storage::db* db) {
  self->state.db = db;
  return {
      [=](const http_request& req, const net::responder_ptr& out) {
        ++self->state.requests;
        out->send(route(self, req));
      },
  };
}

} // namespace exc

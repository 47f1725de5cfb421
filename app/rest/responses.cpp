#include "app/rest/responses.hpp"

#include "mail/html_text.hpp"

#include "net/url.hpp"

#include <algorithm>

namespace exc::rest {

namespace http = boost::beast::http;
using nlohmann::json;

http_request to_message(net::request req) {
  http_request out;
  out.method = std::string{req.method_string()};
  out.target = std::string{req.target()};
  for (const auto& field : req)
    out.headers.emplace_back(field.name_string(), field.value());
  out.body = std::move(req.body());
  return out;
}

net::response json_response(unsigned status, const json& body) {
  net::response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return res;
}

net::response error_response(unsigned status, const std::string& code,
                             const std::string& message, const std::string& field) {
  json error = {{"code", code}, {"message", message}};
  if (!field.empty()) error["field"] = field;
  return json_response(status, {{"error", error}});
}

net::response html_response(unsigned status, const std::string& title,
                            const std::string& text) {
  net::response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.body() = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" +
               mail::html_escape(title) + "</title></head><body><h1>" +
               mail::html_escape(title) + "</h1><p>" + mail::html_escape(text) +
               "</p></body></html>\n";
  return res;
}

net::response no_content() {
  net::response res{http::status::no_content, 11};
  return res;
}

std::string_view header(const http_request& req, std::string_view name) {
  for (const auto& [k, v] : req.headers)
    if (net::iequals(k, name)) return v;
  return {};
}

std::variant<json, net::response> read_object(const http_request& req) {
  auto type = net::to_lower(header(req, "Content-Type"));
  if (!req.body.empty() && !type.empty() && type.find("application/json") != 0)
    return error_response(415, "unsupported_media_type",
                          "send the body as application/json");
  auto body =
      json::parse(req.body.empty() ? std::string{"{}"} : req.body, nullptr, false);
  if (body.is_discarded())
    return error_response(400, "invalid_json", "the body is not valid JSON");
  if (!body.is_object())
    return error_response(400, "invalid_json", "the body must be a JSON object");
  return body;
}

std::optional<net::response>
reject_unknown_fields(const json& body, std::initializer_list<const char*> allowed,
                      const std::string& prefix) {
  for (const auto& item : body.items()) {
    bool known = std::any_of(allowed.begin(), allowed.end(),
                             [&](const char* a) { return item.key() == a; });
    if (!known)
      return error_response(400, "unknown_field", "unknown field " + prefix + item.key(),
                            prefix + item.key());
  }
  return std::nullopt;
}

} // namespace exc::rest

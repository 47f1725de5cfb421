#pragma once

#include "messages/types.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>

/// The REST API's answers and request reading: JSON bodies, the contract's error shape
/// and small HTML pages for the browser side of the OAuth flow.
namespace exc::rest {

/// A request as the HTTP server parsed it, as the REST front's message.
http_request to_message(net::request req);

net::response json_response(unsigned status, const nlohmann::json& body);

/// The contract's error body {"error":{"code","message","field"?}} with `status`.
net::response error_response(unsigned status, const std::string& code,
                             const std::string& message, const std::string& field = {});

/// A minimal HTML page (title and one paragraph, both escaped).
net::response html_response(unsigned status, const std::string& title,
                            const std::string& text);

/// 204 without a body.
net::response no_content();

/// The first header named `name` (case-insensitive), or "".
std::string_view header(const http_request& req, std::string_view name);

/// The body as a JSON object, or a 400 answer saying why not (malformed JSON, not an
/// object, wrong Content-Type).
std::variant<nlohmann::json, net::response> read_object(const http_request& req);

/// A 400 for `field` if `body` has a member outside `allowed`, else nullopt.
std::optional<net::response>
reject_unknown_fields(const nlohmann::json& body,
                      std::initializer_list<const char*> allowed,
                      const std::string& prefix = {});

} // namespace exc::rest

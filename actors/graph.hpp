#pragma once

#include "net/http_client.hpp"

#include <string>

/// Building Graph requests and reading Graph's answers; shared by the actors that call
/// Graph.
namespace exc::graph {

/// A GET of `path_and_query` below `graph_url` (e.g. "/users/a@b/messages") with the
/// bearer token and the headers every Graph call sends (ImmutableId).
net::client_request get(const std::string& graph_url, const std::string& access_token,
                        const std::string& path_and_query);

/// The smallest call that proves a token opens a mailbox's inbox:
/// GET /users/{address}/mailFolders/inbox/messages?$top=1&$select=id.
net::client_request inbox_probe(const std::string& graph_url,
                                const std::string& access_token,
                                const std::string& address);

/// Graph's error code and message from an answer that is not 2xx ("ErrorAccessDenied",
/// "…"), or the transport error.
struct error_info {
  std::string code;
  std::string message;
};
error_info read_error(const net::client_response& res);

/// True for 401 InvalidAuthenticationToken: the access token expired or was revoked.
bool token_refused(const net::client_response& res);

} // namespace exc::graph

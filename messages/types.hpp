#pragma once

#include "net/http_client.hpp"
#include "net/http_server.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

/// Plain message types the actors exchange. Every type has a free inspect().
namespace exc {

/// An HTTP request as the REST API actor sees it (no Beast types inside actors).
struct http_request {
  std::string method;
  std::string target; ///< path and query, as received
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_request& x) {
  return f(caf::meta::type_name("http_request"), x.method, x.target, x.headers, x.body);
}

/// What the login service grants: an access token and (with offline_access) a refresh
/// token. Process-local only; never logged.
struct token_grant {
  std::string access_token;
  std::string refresh_token;
  std::int64_t expires_in = 0; ///< seconds
  std::string scope;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_grant& x) {
  return f(caf::meta::type_name("token_grant"), x.access_token, x.refresh_token,
           x.expires_in, x.scope);
}

/// The outcome of one poll of a mailbox, reported by the MAILBOX to the API.
struct poll_result {
  bool ok = false;
  std::string at;          ///< RFC 3339, when the poll ended
  std::string code;        ///< error code when !ok (e.g. "ErrorAccessDenied")
  std::string message;     ///< error detail when !ok
  bool grant_gone = false; ///< the token service says the mailbox needs a new consent
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, poll_result& x) {
  return f(caf::meta::type_name("poll_result"), x.ok, x.at, x.code, x.message,
           x.grant_gone);
}

} // namespace exc

// The way back to an HTTP connection: a process-local pointer that never leaves the
// process, and whose send() is safe from any thread.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::net::responder_ptr)

// HTTP exchanges handed to and from the HTTP client actor: they never leave the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::net::client_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::net::client_response)

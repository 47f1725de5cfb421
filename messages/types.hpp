#pragma once

#include "net/http_server.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

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

} // namespace exc

// The way back to an HTTP connection: a process-local pointer that never leaves the
// process, and whose send() is safe from any thread.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(net::responder_ptr)

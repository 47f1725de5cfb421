#pragma once

#include "messages/types.hpp"
#include "net/http_server.hpp"

/// exconnectd's REST front as the fuzz targets drive it: in an actor system with the
/// deterministic scheduler (one thread, the same run for the same input), with a
/// stand-in REGISTRY that accepts every API key and answers like the real one, and an
/// empty database. No HELPDESK runs: a request that passed its checks ends at it with a
/// 500, as in a daemon whose HELPDESK is down.
namespace fuzz {

/// The operator's token: the admin routes need exactly this.
constexpr const char* admin_token = "fuzz-admin-token";

/// The REST front's answer to `req`, after every message it caused was handled. With
/// EXC_FUZZ_VERBOSE set, each request and its answer are printed (for writing seeds).
net::response rest_answer(exc::http_request req);

} // namespace fuzz

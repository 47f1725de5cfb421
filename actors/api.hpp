#pragma once

#include "messages/interfaces.hpp"
#include "storage/db.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>

/// The API: the REST front of exconnectd. The HTTP server hands each request in as a
/// message; the answer goes back through the connection's responder.
namespace exc {

struct api_state {
  static inline const char* name = "api";
  storage::db* db = nullptr; ///< owned by main, outlives the actor system
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::uint64_t requests = 0;
};

/// @param self the actor
/// @param db the database (accounts, mailboxes, …); must outlive the actor
api_actor::behavior_type api(api_actor::stateful_pointer<api_state> self,
                             storage::db* db);

/// The contract's error body: {"error":{"code","message","field"?}} with `status`.
net::response error_response(unsigned status, const std::string& code,
                             const std::string& message, const std::string& field = {});

} // namespace exc

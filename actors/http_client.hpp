#pragma once

#include "messages/interfaces.hpp"
#include "net/http_client.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <cstdint>
#include <unordered_map>

/// The HTTP CLIENT: adapts net::http_client (Asio threads) to actors. Requests come in
/// as messages; each answer comes back to this actor as a message and is delivered
/// here, because response promises must not be delivered from an Asio thread.
namespace exc {

using http_client_actor = http_actor::extend<
    /// INTERNAL: the exchange `id` finished on an I/O thread.
    caf::reacts_to<atom::internal, std::uint64_t, net::client_response>>;

struct http_client_state {
  static inline const char* name = "http-client";
  net::http_client* client = nullptr;
  std::uint64_t next_id = 0;
  std::unordered_map<std::uint64_t, caf::typed_response_promise<net::client_response>>
      pending;

  /// Whatever ends this actor answers the requests it holds at once, instead of leaving
  /// their callers to their timeouts.
  ~http_client_state() {
    for (auto& [id, rp] : pending)
      rp.deliver(caf::make_error(caf::sec::request_receiver_down));
  }
};

/// @param self the actor
/// @param client the shared connection pool; must outlive the actor system
http_client_actor::behavior_type
http_client(http_client_actor::stateful_pointer<http_client_state> self,
            net::http_client* client);

} // namespace exc

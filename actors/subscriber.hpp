#pragma once

#include "messages/interfaces.hpp"
#include "messages/token_cache.hpp"
#include "net/limits/backoff.hpp"
#include "storage/helpdesk.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>

/// A SUBSCRIBER: a child of a MAILBOX that keeps the mailbox's change-notification
/// subscription at Graph, so that new mail is taken within seconds instead of at the
/// next poll. It creates the subscription (Graph checks the notification URL first),
/// renews it once two thirds of its lifetime have passed, creates it again when Graph
/// removed it or forgot it, and renews it when Graph asks for a reauthorization. Graph
/// refusing it (403: a delegated token on a shared mailbox) is tried again a day later;
/// other failures after a backoff. The subscription is stored (its clientState only as
/// a hash) and reported to the MAILBOX, which checks each notification against it.
namespace exc {

/// Change notifications for a mailbox; off when notification_url is empty.
struct push_settings {
  std::string notification_url;           ///< where Graph POSTs them (with ?mailbox=<id>)
  std::string lifecycle_url;              ///< and lifecycle events
  std::chrono::seconds lifetime{252'000}; ///< asked for; renewed after 2/3 of it
  /// A subscribed mailbox still polls, this often (a safety net).
  std::chrono::seconds poll_interval{900};
  bool enabled() const { return !notification_url.empty(); }
};

struct subscriber_config {
  std::string id; ///< the mailbox
  std::string token_key;
  std::string account_id;
  std::string address;
  std::string graph_url;
  push_settings push;
  /// Graph refused the subscription: not tried again before this long.
  std::chrono::hours refused_wait{24};
  std::chrono::milliseconds retry_initial{60'000};
  std::chrono::milliseconds retry_max{3'600'000};
  wall_clock wall;
};

struct subscriber_state {
  static inline const char* name = "subscriber";
  subscriber_config cfg;
  graph_gate_actor gate; ///< its MAILBOX's Graph gate (it ends with the MAILBOX)
  push_listener_actor listener;
  const storage::helpdesk_store* store = nullptr;
  const token_cache* tokens = nullptr;
  push_state push;              ///< as stored and reported
  bool busy = false;            ///< a request to Graph is under way
  std::uint64_t generation = 0; ///< ignores stale timer ticks
  unsigned failures = 0;        ///< failed tries in a row, for the backoff
  std::minstd_rand rng{jitter_seed()};
};

/// @param self the actor
/// @param cfg which mailbox, where Graph reaches exconnectd, the lifetime
/// @param gate its MAILBOX's Graph gate (also the MAILBOX: it ends with it)
/// @param listener who hears of the subscription (its MAILBOX)
/// @param store where the subscription is kept
/// @param tokens fresh access tokens (none: it always asks the TOKEN SERVICE)
subscriber_actor::behavior_type
subscriber(subscriber_actor::stateful_pointer<subscriber_state> self,
           subscriber_config cfg, graph_gate_actor gate, push_listener_actor listener,
           const storage::helpdesk_store* store, const token_cache* tokens);

} // namespace exc

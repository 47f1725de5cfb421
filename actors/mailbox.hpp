#pragma once

#include "actors/sender.hpp"
#include "messages/interfaces.hpp"
#include "messages/rate_limit.hpp"
#include "storage/helpdesk.hpp"
#include "storage/throttle.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

/// A MAILBOX: one connected mailbox. On its poll timer it lists the Inbox's new unread
/// mail (every page), and takes each message in turn through the ingest cycle:
///   journal lookup -> size check -> download ($value, within the fetch rate) ->
///   CONVERTER -> HELPDESK (ticket + journal, durable) -> label in Exchange -> journal.
/// One message at a time and one Graph request in flight, so a mailbox never has more
/// than one of Exchange's four concurrent requests; idle, it is a timer and a few
/// strings.
namespace exc {

struct mailbox_config {
  std::string id;
  std::string account_id;
  std::string address;
  std::string graph_url;
  std::chrono::seconds poll_interval{60};
  std::string since; ///< RFC 3339 on Graph's clock: older mail is not new
  std::uint64_t max_message_size = 52'428'800;
  rate_limit fetch_rate{25, std::chrono::seconds{60}};
  label_settings labels;
  /// After throttling without Retry-After, server errors and network failures: wait
  /// initial * 2^(failures-1), capped, drawn in [delay/2, delay].
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{300'000};
  /// The SENDER's limits and timings (its id, account, address and URL are these).
  sender_config send;
};

struct mailbox_state {
  static inline const char* name = "mailbox";
  mailbox_config cfg;
  token_service_actor tokens;
  http_actor http;
  poll_listener_actor listener;
  converter_actor converter;
  helpdesk_actor helpdesk;
  const storage::helpdesk_store* store = nullptr;
  storage::throttle_store* throttle = nullptr;
  sender_actor sender; ///< the child that drains the outbox (none in ingest-only tests)
  std::uint64_t generation = 0; ///< ignores stale timer ticks
  bool polling = false;
  /// The current cycle: the messages listed, and the next one to take.
  std::vector<message_ref> queue;
  std::size_t next = 0;
  /// When the last downloads happened, oldest first (at most fetch_rate.count).
  std::vector<caf::actor_clock::time_point> downloads;
  /// Graph throttled or failed: no request before this. Only this mailbox waits.
  caf::actor_clock::time_point paused_until{};
  unsigned failures = 0; ///< transient failures in a row, for the backoff
  std::minstd_rand rng{std::random_device{}()};
};

/// What the MAILBOX works with besides its config.
struct mailbox_peers {
  token_service_actor tokens;
  http_actor http;
  poll_listener_actor listener;
  converter_actor converter;
  helpdesk_actor helpdesk;
  const storage::helpdesk_store* store = nullptr; ///< the journal, read directly
  /// Where the fetch window survives restarts (a relaxed write per download); none
  /// keeps it in memory only.
  storage::throttle_store* throttle = nullptr;
  /// The outbox the SENDER drains; none: the mailbox only ingests.
  storage::outbox_store* outbox = nullptr;
  net::metrics* metrics = nullptr; ///< for the SENDER
};

/// @param self the actor
/// @param cfg which mailbox, how often, its limits and labels
/// @param peers the actors it talks to
mailbox_actor::behavior_type mailbox(mailbox_actor::stateful_pointer<mailbox_state> self,
                                     mailbox_config cfg, mailbox_peers peers);

} // namespace exc

#pragma once

#include "messages/interfaces.hpp"
#include "messages/presence.hpp"
#include "messages/rate_limit.hpp"
#include "messages/token_cache.hpp"
#include "net/limits/backoff.hpp"
#include "net/limits/send_budget.hpp"
#include "net/metrics.hpp"
#include "storage/outbox.hpp"
#include "storage/throttle.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>

/// A SENDER: the child of a MAILBOX that drains the mailbox's outbox, oldest first, one
/// email at a time, through Graph sendMail (MIME form) within the send limits. Each email
/// goes queued -> sending (stored durably, with the send the limits count, before the
/// request leaves) -> sent | failed. An email found in `sending` whose outcome is unknown
/// (a crash, a 5xx, no answer) is looked up in Sent Items by its Message-ID once the
/// grace period has passed — Sent Items fills asynchronously — and sent again only if
/// it is not there.
namespace exc {

struct sender_config {
  std::string id; ///< the mailbox
  /// The TOKEN SERVICE's key for its tokens: "" for the mailbox's own grant (its id),
  /// else tenant_token_key(tenant) (see token_key_of).
  std::string token_key;
  std::string account_id;
  std::string address;
  std::string graph_url;
  rate_limit rate{10, std::chrono::seconds{60}};
  rate_limit bytes{52'428'800, std::chrono::seconds{300}};
  rate_limit recipients{10'000, std::chrono::seconds{86'400}};
  /// How long after an attempt its Sent Items copy may take to appear.
  std::chrono::milliseconds sent_items_grace{120'000};
  /// sendMail's request cap is about 4 MB, base64 makes 3 bytes 4.
  std::uint64_t max_mime = 3'000'000;
  std::size_t max_recipients = 500; ///< Exchange's limit per message
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{300'000};
};

/// What the SENDER works with; the services (TOKEN SERVICE, HTTP CLIENT, and the
/// HELPDESK, whose group commit makes the `sending` state durable before a request
/// leaves) it finds by name (messages/services.hpp).
struct sender_peers {
  send_listener_actor listener; ///< its MAILBOX, also the mailbox's Graph gate
  const storage::outbox_store* outbox = nullptr; ///< must outlive the actor
  net::metrics* metrics = nullptr;               ///< must outlive the actor
  /// Where its own pause survives a restart; none keeps it in memory only.
  const storage::throttle_store* throttle = nullptr;
  /// Which SENDERs exist: its MAILBOX entered it before spawning it, it leaves when it
  /// ends. None: not tracked (tests).
  presence* present = nullptr;
  const token_cache* tokens = nullptr; ///< fresh access tokens (none: always asks)
};

struct sender_state {
  static inline const char* name = "sender";
  sender_config cfg;
  sender_peers peers;
  std::optional<send_budget> budget;
  bool busy = false;            ///< an email is on its way
  std::uint64_t wakes = 0;      ///< wakes its MAILBOX sent, for its idle report
  bool waiting = false;         ///< a timer will resume the drain
  std::uint64_t generation = 0; ///< ignores stale timers
  caf::actor_clock::time_point paused_until{};
  caf::actor_clock::time_point held_until{}; ///< the send limits hold the next email
  unsigned failures = 0; ///< transient failures in a row, for the backoff
  /// The email in `sending` that Graph certainly did not take (it answered 429, 401,
  /// 403): sent again without a Sent Items lookup.
  std::string known_unsent;
  /// The email in `sending` whose fate is unknown, and when its Sent Items copy must be
  /// there if it went (on this actor's clock).
  std::string doubt_id;
  caf::actor_clock::time_point doubt_until{};
  std::string last_code; ///< the last mailbox-wide failure, for the status
  std::string last_message;
  std::minstd_rand rng{jitter_seed()};
};

/// Registers the sender's metric families; call once per process.
void describe_sender_metrics(net::metrics& metrics);

sender_actor::behavior_type sender(sender_actor::stateful_pointer<sender_state> self,
                                   sender_config cfg, sender_peers peers);

} // namespace exc

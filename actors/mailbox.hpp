#pragma once

#include "actors/fetcher.hpp"
#include "actors/sender.hpp"
#include "actors/subscriber.hpp"
#include "messages/converter_load.hpp"
#include "messages/interfaces.hpp"
#include "messages/presence.hpp"
#include "messages/rate_limit.hpp"
#include "messages/token_cache.hpp"
#include "net/limits/backoff.hpp"
#include "net/limits/fetch_window.hpp"
#include "net/limits/graph_gate.hpp"
#include "storage/helpdesk.hpp"
#include "storage/throttle.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

/// A MAILBOX: one connected mailbox, and the supervisor of its children. On its poll
/// timer it asks the Inbox's delta for what changed since the last round (one request
/// through its own gate, from the deltaLink kept in the journal); only a round with new
/// unread mail in it, or an open message due for another look, spawns a FETCHER (the
/// other pages, download, conversion, storing: actors/fetcher.hpp) for the rest of the
/// cycle, so an empty poll costs no actor's start and end. Each stored message goes to
/// its LABELER, spawned while there is labelling to do; its SENDER drains the outbox.
/// Every Graph request of its children passes its Graph gate (at most 4 in flight, one
/// pause for all). It keeps what outlives a cycle: the fetch window, the mailbox's
/// backoff after a failure of the whole mailbox (only a listing that works ends it), and
/// what the REGISTRY hears after each poll. A child that fails is restarted (the FETCHER
/// with the next poll). Idle, it is a timer, its config and a few windows.
namespace exc {

struct mailbox_config {
  std::string id;
  /// The TOKEN SERVICE's key for its tokens: "" for the mailbox's own grant (its id),
  /// else tenant_token_key(tenant) (see token_key_of).
  std::string token_key;
  std::string account_id;
  std::string address;
  std::string graph_url;
  std::chrono::seconds poll_interval{60};
  std::string since; ///< RFC 3339 on Graph's clock: older mail is not new
  std::uint64_t max_message_size = 52'428'800;
  rate_limit fetch_rate{25, std::chrono::seconds{60}};
  label_settings labels;
  /// After throttling without Retry-After, server errors and network failures: wait
  /// initial * 2^(failures-1), capped, plus up to a quarter more (see backoff_delay).
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{300'000};
  /// A message whose step failed is tried again after retry_initial * 2^(tries-1)
  /// (capped at backoff_max), and quarantined once it failed max_attempts times.
  std::chrono::milliseconds retry_initial{30'000};
  std::uint32_t max_attempts = 5;
  /// Started with many others (a start of the process): the first poll waits for the
  /// REGISTRY's turn (atom::poll), else it comes at once.
  bool first_poll_waits_turn = false;
  /// An earlier MAILBOX of this mailbox may have run in this process: this one reads
  /// its windows only after the writes that one left at the STORAGE WRITER.
  bool after_predecessor = true;
  /// Its offset within the poll interval (see poll_phase): after the first poll, polls
  /// come back to it. None: each poll comes a poll interval after the last one began.
  std::optional<std::chrono::milliseconds> phase;
  /// The SENDER's limits and timings (its id, account, address and URL are these).
  sender_config send;
  /// Change notifications (off: it only polls).
  push_settings push;
};

/// A MAILBOX's change notifications, while they are on: its SUBSCRIBER, the
/// subscription it reported, and the rounds notifications asked for.
struct push_runtime {
  subscriber_actor subscriber;
  push_state state;
  std::int64_t last_ms = 0;     ///< the last notification taken (wall clock)
  bool round_pending = false;   ///< one came during a cycle: another round follows it
  unsigned failures = 0;        ///< SUBSCRIBER failures in a row, for its restart
  bool restart_pending = false; ///< a timer will start the next SUBSCRIBER
  bool subscribed() const { return !state.subscription_id.empty(); }
};

struct mailbox_state {
  static inline const char* name = "mailbox";
  mailbox_config cfg;
  poll_listener_actor listener;
  std::uint32_t converter = 0;          ///< the CONVERTER it uses if it has no pool
  converter_load* converters = nullptr; ///< the pool's load: it takes the least loaded
  presence* present = nullptr;          ///< which MAILBOXes and SENDERs exist
  const storage::helpdesk_store* store = nullptr;
  const storage::throttle_store* throttle = nullptr;
  fetcher_actor fetcher; ///< the child of the poll cycle under way (none: idle)
  /// When the next open message falls due (the journal's index; max: none known).
  caf::actor_clock::time_point open_due_at = caf::actor_clock::time_point::max();
  /// Open messages read per cycle; while more are due than a cycle takes, the next
  /// cycle comes this soon.
  static constexpr std::size_t open_scan_limit = 200;
  static constexpr std::chrono::milliseconds open_backlog_wait{10'000};
  bool listing = false;  ///< its own listing of new mail is under way (a cycle runs)
  sender_actor sender;   ///< the child that drains the outbox (none in ingest-only tests)
  labeler_actor labeler; ///< the child that labels, while it has work (none: idle)
  /// Its change notifications, if they are on (none: polling only).
  std::unique_ptr<push_runtime> push;
  /// RECOVERERs at work (each ends with its answer); at most max_recoveries.
  std::vector<caf::actor_addr> recoverers;
  static constexpr std::size_t max_recoveries = 4;
  std::uint64_t labels_sent = 0;                 ///< tasks sent to the current LABELER
  std::uint64_t wakes_sent = 0;                  ///< wakes sent to the current SENDER
  const storage::outbox_store* outbox = nullptr; ///< for the SENDER (none: it has none)
  net::metrics* metrics = nullptr;
  const token_cache* tokens = nullptr; ///< for its children's Graph calls
  send_status sending;                 ///< the SENDER's last report
  unsigned sender_failures = 0; ///< SENDER failures in a row, for its restart backoff
  caf::actor_clock::time_point sender_started{}; ///< when the current SENDER started
  bool sender_restart_pending = false;           ///< a timer will start the next SENDER
  std::uint32_t child_restarts = 0; ///< children restarted since the last report
  bool stopping = false;            ///< told to stop: waits for its children
  caf::error stop_reason;
  std::uint64_t generation = 0; ///< ignores stale timer ticks
  bool awaits_turn = false;     ///< its first poll waits for the REGISTRY's turn
  /// The REGISTRY's turn for its first poll: answered once the poll heard from Graph.
  std::optional<caf::typed_response_promise<bool>> turn;
  caf::actor_clock::time_point cycle_started{}; ///< the current or last poll cycle
  /// The mailbox's downloads in the current fetch window (its FETCHER reports each).
  fetch_window downloads;
  /// The mailbox's own backoff (a failed listing, no token): no poll before this.
  caf::actor_clock::time_point paused_until{};
  /// Every Graph request of the mailbox passes here: at most 4 in flight, and a pause
  /// Graph asked for holds them all.
  graph_gate gate;
  bool gate_timer = false; ///< a timer will let go what a pause holds
  /// Mailbox-wide failures in a row (listing, throttling, token, storage), for the
  /// backoff; only a listing that works resets it.
  unsigned gate_failures = 0;
  /// The wall clock as this actor's clock sees it, for its children.
  wall_clock wall;
  /// The last failure of one message since the last report (reported with the poll).
  poll_result::failure last_failure;
  std::minstd_rand rng{jitter_seed()};
};

/// What the MAILBOX works with besides its config. The services (TOKEN SERVICE, HTTP
/// CLIENT, HELPDESK, CONVERTERs) it finds by name (messages/services.hpp), so that it
/// always reaches their current instance.
struct mailbox_peers {
  poll_listener_actor listener;
  std::uint32_t converter = 0; ///< the CONVERTER to use without a pool (tests)
  const storage::helpdesk_store* store = nullptr; ///< the journal, read directly
  /// Where the fetch window survives restarts (a relaxed write per download); none
  /// keeps it in memory only.
  const storage::throttle_store* throttle = nullptr;
  /// The outbox the SENDER drains; none: the mailbox only ingests.
  const storage::outbox_store* outbox = nullptr;
  net::metrics* metrics = nullptr; ///< counts children's restarts; for the SENDER
  /// The CONVERTER pool's load, shared by every MAILBOX: each mail goes to the least
  /// loaded CONVERTER. None: always `converter`.
  converter_load* converters = nullptr;
  /// Which MAILBOXes and SENDERs exist: it leaves when it ends, and starts a SENDER only
  /// once the previous one has left. None: not tracked (tests).
  presence* present = nullptr;
  /// The app's Graph budget, shared by every MAILBOX: each request through the gate
  /// takes a token. None: no limit across mailboxes.
  graph_budget* budget = nullptr;
  /// The access tokens the TOKEN SERVICE publishes, for its children's Graph calls.
  /// None: they always ask the TOKEN SERVICE.
  const token_cache* tokens = nullptr;
};

/// @param self the actor
/// @param cfg which mailbox, how often, its limits and labels
/// @param peers the actors it talks to
mailbox_actor::behavior_type mailbox(mailbox_actor::stateful_pointer<mailbox_state> self,
                                     mailbox_config cfg, mailbox_peers peers);

} // namespace exc

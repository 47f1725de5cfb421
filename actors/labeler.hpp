#pragma once

#include "messages/interfaces.hpp"
#include "messages/token_cache.hpp"
#include "net/limits/backoff.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

/// A LABELER: puts a mailbox's labels on its processed messages in Exchange: the
/// categories a message has now, plus the processed label, plus the rejected one for a
/// rejection (read first: the listing may be old, and a PATCH replaces the list). Its
/// MAILBOX spawns it when a stored message needs its labels, and ends it once it is
/// idle (and was sent nothing more), so an idle mailbox has none. One message at a time,
/// through the mailbox's Graph gate. A label that fails is counted by the HELPDESK
/// (quarantined after max_attempts) and never holds up the next message nor the mailbox's
/// fetching; what a failure of the whole mailbox (throttled, no token) leaves undone, the
/// MAILBOX's next poll finds in the journal and hands over again.
namespace exc {

struct labeler_config {
  std::string id; ///< the mailbox
  /// The TOKEN SERVICE's key for its tokens: "" for the mailbox's own grant (its id),
  /// else tenant_token_key(tenant) (see token_key_of).
  std::string token_key;
  std::string account_id;
  std::string address;
  std::string graph_url;
  label_settings labels;
  /// A failed label is tried again after retry_initial * 2^(tries-1), capped.
  std::chrono::milliseconds retry_initial{30'000};
  std::chrono::milliseconds backoff_max{300'000};
  std::uint32_t max_attempts = 5;
  /// Tasks it keeps at most; more are left to the MAILBOX's next poll.
  std::size_t max_queue = 1000;
  /// The wall clock as its MAILBOX's clock sees it (retry times are stored on it).
  wall_clock wall;
};

struct labeler_state {
  static inline const char* name = "labeler";
  labeler_config cfg;
  graph_gate_actor gate;               ///< its MAILBOX's Graph gate
  label_listener_actor listener;       ///< its MAILBOX
  const token_cache* tokens = nullptr; ///< fresh access tokens (none: always asks)
  std::vector<label_task> queue;       ///< the first one is under way when busy
  bool busy = false;
  std::uint64_t received = 0; ///< tasks it got, for its MAILBOX to know it saw them all
  std::minstd_rand rng{jitter_seed()};
};

/// @param self the actor
/// @param cfg which mailbox, its labels and retry timings
/// @param gate its MAILBOX's Graph gate (also the MAILBOX: it ends with it)
/// @param listener who hears of failed labels (its MAILBOX)
/// @param tokens fresh access tokens (none: it always asks the TOKEN SERVICE)
labeler_actor::behavior_type labeler(labeler_actor::stateful_pointer<labeler_state> self,
                                     labeler_config cfg, graph_gate_actor gate,
                                     label_listener_actor listener,
                                     const token_cache* tokens = nullptr);

} // namespace exc

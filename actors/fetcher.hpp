#pragma once

#include "actors/listing.hpp"
#include "messages/converter_load.hpp"
#include "messages/interfaces.hpp"
#include "messages/presence.hpp"
#include "messages/rate_limit.hpp"
#include "messages/token_cache.hpp"
#include "net/limits/backoff.hpp"
#include "net/limits/fetch_window.hpp"
#include "storage/helpdesk.hpp"
#include "storage/throttle.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

/// A FETCHER: the rest of a poll cycle that found new mail. Its MAILBOX lists the
/// Inbox's delta and spawns it with the round's first page when there is new mail (an
/// empty round, most polls, needs no FETCHER) or an open message is due for another
/// look; it lists the round's other pages, looks again at the open messages due, and
/// takes each message in turn
///   journal lookup -> size check -> room in the conversion budget -> try counted ->
///   download ($value, within the fetch rate) -> CONVERTER -> HELPDESK (ticket +
///   journal, durable)
/// and hands it to its MAILBOX for labelling; then it reports and ends, so an idle
/// mailbox has none. A message that fails at a step is recorded with its own backoff
/// and the cycle goes on with the next one; after max_attempts tries it is quarantined
/// (a `processing_failed` rejection); the journal's index of open entries brings it
/// back, since a delta round reports a message once. Once every message of the round
/// was taken (none left for a later cycle by the fetch rate or a pause) it keeps the
/// round's deltaLink, where the next round starts. What concerns the whole mailbox (a
/// failed listing, throttling, no token, storage trouble) ends the cycle: the MAILBOX
/// backs off. Its requests pass the mailbox's Graph gate. Told to stop during a try, it
/// gives the try back in the journal (parks it) before it ends.
namespace exc {

struct fetcher_config {
  std::string id; ///< the mailbox
  /// The TOKEN SERVICE's key for its tokens: "" for the mailbox's own grant (its id),
  /// else tenant_token_key(tenant) (see token_key_of).
  std::string token_key;
  std::string account_id;
  std::string address;
  std::string graph_url;
  std::string since; ///< RFC 3339 on Graph's clock: older mail is not new
  std::uint64_t max_message_size = 52'428'800;
  rate_limit fetch_rate{25, std::chrono::seconds{60}};
  label_settings labels;
  /// A message whose step failed is tried again after retry_initial * 2^(tries-1)
  /// (capped at backoff_max), and quarantined once it failed max_attempts times.
  std::chrono::milliseconds retry_initial{30'000};
  std::chrono::milliseconds backoff_max{300'000};
  std::uint32_t max_attempts = 5;
  /// The wall clock as its MAILBOX's clock sees it (retry times are stored on it).
  wall_clock wall;
};

/// What the FETCHER works with. The services (TOKEN SERVICE, HTTP CLIENT, HELPDESK,
/// CONVERTERs, STORAGE WRITER) it finds by name (messages/services.hpp).
struct fetcher_peers {
  fetch_listener_actor mailbox; ///< its MAILBOX (and Graph gate): it ends with it
  const storage::helpdesk_store* store = nullptr; ///< the journal, read directly
  /// Where the fetch window is stored; none keeps it in memory only.
  const storage::throttle_store* throttle = nullptr;
  std::uint32_t converter = 0;          ///< the CONVERTER it uses without a pool
  converter_load* converters = nullptr; ///< the pool's load: it takes the least loaded
  presence* present = nullptr;          ///< it leaves when it ends (none: not tracked)
  const token_cache* tokens = nullptr;  ///< fresh access tokens (none: always asks)
};

struct fetcher_state {
  static inline const char* name = "fetcher";
  fetcher_config cfg;
  fetcher_peers peers;
  fetch_window window; ///< the mailbox's downloads, as its MAILBOX handed them over
  /// The messages listed, and the next one to take.
  std::vector<message_ref> queue;
  std::string from_link;  ///< the deltaLink the round started from ("" a full round)
  std::string delta_link; ///< where the next round starts, once the round is listed
  std::vector<std::string> due; ///< open messages to look at again (see mail_round)
  bool taking = false;          ///< listed and looked again: taking the queue's messages
  std::size_t next = 0;
  std::uint32_t tries = 0; ///< tries of the current message so far (from the journal)
  /// A counted try of the current message is under way (download to storing).
  bool in_try = false;
  bool stopping = false;    ///< told to stop: parks its try, starts nothing new
  bool listed = false;      ///< the listing worked (the mailbox's backoff ends)
  bool downloading = false; ///< the download of the current try may have gone out
  /// The current message's bytes of the conversion budget (converter_load::reserve).
  std::shared_ptr<converter_load::reservation> reserved;
  std::uint32_t room_waits = 0; ///< looks for room in the budget in a row
  /// The earliest time a message skipped in this cycle may be tried again.
  caf::actor_clock::time_point next_retry = caf::actor_clock::time_point::max();
  /// The last failure of one message in this cycle.
  poll_result::failure last_failure;
  std::minstd_rand rng{jitter_seed()};
};

/// @param self the actor
/// @param cfg which mailbox, its limits, labels and retry timings
/// @param peers its MAILBOX and stores
/// @param window the mailbox's fetch window so far
/// @param round the first page its MAILBOX listed, where the round started, and the
///        open messages due
fetcher_actor::behavior_type fetcher(fetcher_actor::stateful_pointer<fetcher_state> self,
                                     fetcher_config cfg, fetcher_peers peers,
                                     fetch_window window, mail_round round);

} // namespace exc

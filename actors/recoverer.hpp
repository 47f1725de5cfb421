#pragma once

#include "messages/converter_load.hpp"
#include "messages/interfaces.hpp"
#include "messages/token_cache.hpp"
#include "net/limits/backoff.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cstdint>
#include <random>
#include <string>

/// A RECOVERER: turns one rejected mail into a ticket or comment after all, because an
/// admin asked (POST /api/v1/rejections/{id}/recover). Its MAILBOX spawns it per
/// request; within the process's conversion budget it downloads the mail again through
/// the MAILBOX's Graph gate (the download counts in the fetch window), converts it
/// without rejecting it (what cannot be read becomes a ticket with the raw mail
/// attached), has the HELPDESK store it (once per
/// rejection) and the MAILBOX label it (the rejected label goes), answers and ends. A
/// failure is answered as an error; nothing is counted against the message.
namespace exc {

struct recoverer_config {
  std::string id; ///< the mailbox
  /// The TOKEN SERVICE's key for its tokens: "" for the mailbox's own grant (its id),
  /// else tenant_token_key(tenant) (see token_key_of).
  std::string token_key;
  std::string account_id;
  std::string address;
  std::string graph_url;
  /// What is reserved of the conversion budget before the download: the mail's size is
  /// not known yet, and a mail that was not rejected too_large is at most this.
  std::uint64_t max_message_size = 52'428'800;
};

/// What the RECOVERER works with; the TOKEN SERVICE, HTTP CLIENT, CONVERTERs and
/// HELPDESK it finds by name (messages/services.hpp).
struct recoverer_peers {
  fetch_listener_actor mailbox; ///< its MAILBOX (Graph gate, labels): it ends with it
  std::uint32_t converter = 0;  ///< the CONVERTER it uses without a pool
  converter_load* converters = nullptr; ///< the pool's load and the byte budget
  const token_cache* tokens = nullptr;  ///< fresh access tokens (none: always asks)
};

struct recoverer_state {
  static inline const char* name = "recoverer";
  recoverer_config cfg;
  recoverer_peers peers;
  std::minstd_rand rng{jitter_seed()}; ///< jitters its waits for room
};

using recoverer_pointer = recoverer_actor::stateful_pointer<recoverer_state>;

/// @param self the actor
/// @param cfg which mailbox
/// @param peers its MAILBOX and the CONVERTER pool
recoverer_actor::behavior_type recoverer(recoverer_pointer self, recoverer_config cfg,
                                         recoverer_peers peers);

} // namespace exc

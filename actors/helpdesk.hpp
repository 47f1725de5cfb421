#pragma once

#include "messages/interfaces.hpp"
#include "net/metrics.hpp"
#include "storage/helpdesk.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <string>
#include <utility>
#include <vector>

/// The HELPDESK: the embedded helpdesk's one writer. Each inbound mail becomes a new
/// ticket, a comment on the ticket it replies to, a counted duplicate, or a rejection —
/// written with its journal entry and the mailbox's counters in one batch. Batches are
/// committed without fsync and made durable together by one sync when the actor's
/// queue runs dry (group commit); only then does anyone hear the outcome, so nothing
/// is labelled in Exchange before its ticket is on disk.
namespace exc {

struct helpdesk_state {
  static inline const char* name = "helpdesk";
  storage::helpdesk_store* store = nullptr;
  net::metrics* metrics = nullptr;
  std::string token_key;            ///< HMAC key of ticket tokens
  std::uint64_t attachment_cap = 0; ///< attachment bytes stored per ticket
  /// Outcomes waiting for the next sync.
  std::vector<std::pair<caf::typed_response_promise<ingest_outcome>, ingest_outcome>>
      unsynced;
  bool sync_scheduled = false;
};

/// `[#<ticket id>-<6 hex of HMAC-SHA256(key, ticket id)>]`.
std::string ticket_token(const std::string& key, const std::string& ticket_id);

using helpdesk_self_actor =
    helpdesk_actor::extend<caf::reacts_to<atom::internal, atom::step>>;

/// @param self the actor (spawn it detached: it waits for fsync)
/// @param store tickets and journal; must outlive the actor
/// @param metrics counts messages by outcome; must outlive the actor
/// @param token_key the secret that signs ticket tokens
/// @param attachment_cap attachment content stored per ticket (bytes); attachments
///        beyond it are listed with "stored": false
helpdesk_self_actor::behavior_type
helpdesk(helpdesk_self_actor::stateful_pointer<helpdesk_state> self,
         storage::helpdesk_store* store, net::metrics* metrics, std::string token_key,
         std::uint64_t attachment_cap);

} // namespace exc

#pragma once

#include "messages/interfaces.hpp"
#include "net/metrics.hpp"
#include "storage/address_book.hpp"
#include "storage/helpdesk.hpp"
#include "storage/outbox.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

/// The HELPDESK: the embedded helpdesk's one writer. Each inbound mail becomes a new
/// ticket, a comment on the ticket it replies to, a counted duplicate, or a rejection —
/// written with its journal entry and the mailbox's counters in one batch. Batches are
/// committed without fsync and made durable together by one sync when the actor's
/// queue runs dry (group commit); only then does anyone hear the outcome, so nothing
/// is labelled in Exchange before its ticket is on disk. Agents' comments go the same
/// way: the comment and the notification it queues in the outbox are one batch.
namespace exc {

struct helpdesk_state {
  static inline const char* name = "helpdesk";
  storage::helpdesk_store* store = nullptr;
  storage::outbox_store* outbox = nullptr;
  const address_book* connected = nullptr; ///< never copied on a notification
  net::metrics* metrics = nullptr;
  std::string token_key;            ///< HMAC key of ticket tokens
  std::uint64_t attachment_cap = 0; ///< attachment bytes stored per ticket
  /// Answers waiting for the next sync (given its error, or none).
  std::vector<std::function<void(const caf::error&)>> unsynced;
  bool sync_scheduled = false;
};

/// `[#<ticket id>-<6 hex of HMAC-SHA256(key, ticket id)>]`.
std::string ticket_token(const std::string& key, const std::string& ticket_id);

using helpdesk_self_actor =
    helpdesk_actor::extend<caf::reacts_to<atom::internal, atom::step>>;

/// @param self the actor (spawn it detached: it waits for fsync)
/// @param store tickets and journal; must outlive the actor
/// @param outbox where agents' notifications are queued; must outlive the actor
/// @param connected every connected mailbox's address; must outlive the actor
/// @param metrics counts messages by outcome; must outlive the actor
/// @param token_key the secret that signs ticket tokens
/// @param attachment_cap attachment content stored per ticket (bytes); attachments
///        beyond it are listed with "stored": false
helpdesk_self_actor::behavior_type
helpdesk(helpdesk_self_actor::stateful_pointer<helpdesk_state> self,
         storage::helpdesk_store* store, storage::outbox_store* outbox,
         const address_book* connected, net::metrics* metrics, std::string token_key,
         std::uint64_t attachment_cap);

} // namespace exc

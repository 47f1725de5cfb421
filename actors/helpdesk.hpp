#pragma once

#include "messages/interfaces.hpp"
#include "messages/ticket_limits.hpp"
#include "net/metrics.hpp"
#include "storage/address_book.hpp"
#include "storage/helpdesk.hpp"
#include "storage/outbox.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

/// The HELPDESK: the embedded helpdesk's one author. Each inbound mail becomes a new
/// ticket, a comment on the ticket it replies to, a counted duplicate, or a rejection —
/// written with its journal entry and the mailbox's counters in one batch, through the
/// STORAGE WRITER. It waits until each batch is applied (its next message reads it)
/// and answers once the writer's group commit made it durable, so nothing is labelled
/// in Exchange before its ticket is on disk. Agents' comments go the same way: the
/// comment and the notification it queues in the outbox are one batch.
namespace exc {

struct helpdesk_state {
  static inline const char* name = "helpdesk";
  const storage::helpdesk_store* store = nullptr; ///< reads, through `pending`
  storage::pending_writes pending; ///< its commits the writer has not confirmed
  std::optional<storage::helpdesk_store> reads; ///< what `store` points to
  const storage::outbox_store* outbox = nullptr;
  const address_book* connected = nullptr; ///< never copied on a notification
  net::metrics* metrics = nullptr;
  std::string token_key; ///< HMAC key of ticket tokens
  ticket_limits limits;  ///< what one ticket may grow to
};

/// @param self the actor (spawn it detached: its reads may wait for the disk)
/// @param store tickets and journal; must outlive the actor
/// @param outbox where agents' notifications are queued; must outlive the actor
/// @param connected every connected mailbox's address; must outlive the actor
/// @param metrics counts messages by outcome; must outlive the actor
/// @param token_key the secret that signs ticket tokens
/// @param limits what one ticket may grow to: attachments beyond their caps are listed
///        with "stored": false; a mail that would take a ticket past its comments or
///        bytes opens a follow-up ticket ("follow_up_of"), and mail threading into the
///        full ticket goes on in its follow-up
helpdesk_actor::behavior_type
helpdesk(helpdesk_actor::stateful_pointer<helpdesk_state> self,
         const storage::helpdesk_store* store, const storage::outbox_store* outbox,
         const address_book* connected, net::metrics* metrics, std::string token_key,
         ticket_limits limits);

} // namespace exc

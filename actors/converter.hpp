#pragma once

#include "mail/time_budget.hpp"
#include "messages/interfaces.hpp"
#include "storage/address_book.hpp"

#include <caf/typed_event_based_actor.hpp>

/// A CONVERTER: parses a message's raw MIME with mail/ and decides what it may become.
/// Parsing a large mail takes tens of milliseconds, so converters are spawned detached
/// (a few per process) and never run on the scheduler's threads.
namespace exc {

/// The decision itself, for tests: `base` carries the ids (account, mailbox, Graph id,
/// received_at, Graph's internetMessageId as message_id); the result has the rest, or
/// a rejection reason: "malformed", "missing_from", "missing_to", "loop",
/// "auto_submitted" (only if it does not thread; the HELPDESK decides that). Throws
/// mail::out_of_time if `budget` is spent first.
inbound_mail convert_mail(const std::string& raw, inbound_mail base,
                          const address_book& connected, mail::time_budget& budget);
/// A mail being recovered (`base.recovering`) is never rejected: a From without an
/// address leaves the requester's email empty, a missing To or a loop does not count,
/// and MIME that cannot be read becomes unreadable_mail.

/// What a recovered mail that cannot be converted (`why`) becomes: a ticket whose text
/// says so, with the raw mail attached as message.eml.
inbound_mail unreadable_mail(const std::string& raw, inbound_mail base,
                             const std::string& why);

/// The same without a time budget.
inbound_mail convert_mail(const std::string& raw, inbound_mail base,
                          const address_book& connected);

/// @param self the actor
/// @param connected every connected mailbox's address (for loops); must outlive it
/// @param budget how long one conversion may run; past it the conversion is stopped
///        and answered with ec::conversion_timeout
/// @param called_off if given and set, a conversion under way stops at once (set when
///        the process stops: a detached CONVERTER reads its exit only between mails)
converter_actor::behavior_type converter(converter_actor::pointer self,
                                         const address_book* connected,
                                         std::chrono::milliseconds budget,
                                         const std::atomic<bool>* called_off);

} // namespace exc

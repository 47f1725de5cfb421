#pragma once

#include "messages/types.hpp"
#include "storage/address_book.hpp"
#include "storage/outbox.hpp"

#include <nlohmann/json.hpp>

#include <string>

/// What goes into the outbox: the MIME of an outbound mail (built once, when it is
/// queued, so that every attempt sends the same bytes and the same Message-ID) and its
/// outbox record.
namespace exc {

/// Every outbound mail carries these, under the account's names.
struct composed_mail {
  storage::outbox_email email;
  std::string mime;
};

/// The notification of an agent's public comment: From the mailbox, To the requester,
/// Cc the ticket's CCs (never a connected mailbox), the subject with the ticket's token,
/// In-Reply-To the customer's newest message, References the conversation (capped).
composed_mail reply_notification(const nlohmann::json& ticket, const agent_comment& c,
                                 const std::string& comment_id,
                                 const std::string& email_id,
                                 const address_book& connected);

/// A mail for an external helpdesk, as given.
composed_mail external_mail(const outbound_mail& m, const std::string& email_id);

/// "Re: <subject> <token>", without a second "Re:" or a second token.
std::string reply_subject(const std::string& subject, const std::string& token);

} // namespace exc

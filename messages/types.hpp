#pragma once

#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "storage/db.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

/// Plain message types the actors exchange. Those that may cross a process boundary
/// have a free inspect(); the process-local ones are listed at the end.
namespace exc {

/// An HTTP request as the REST API actor sees it (no Beast types inside actors).
struct http_request {
  std::string method;
  std::string target; ///< path and query, as received
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_request& x) {
  return f(caf::meta::type_name("http_request"), x.method, x.target, x.headers, x.body);
}

/// What the login service grants: an access token and (with offline_access) a refresh
/// token. Process-local only; never logged.
struct token_grant {
  std::string access_token;
  std::string refresh_token;
  std::int64_t expires_in = 0; ///< seconds
  std::string scope;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_grant& x) {
  return f(caf::meta::type_name("token_grant"), x.access_token, x.refresh_token,
           x.expires_in, x.scope);
}

/// The outcome of one poll of a mailbox, reported by the MAILBOX to the REGISTRY.
struct poll_result {
  /// One message's failure at a step.
  struct failure {
    std::string step; ///< "download", "conversion", "storing", "labelling"; "" : none
    std::string code;
    std::string message;
    std::string at; ///< RFC 3339
  };
  bool ok = false;
  std::string at;           ///< RFC 3339, when the poll ended
  std::string step;         ///< what failed when !ok: "listing", "token", "storage"
  std::string code;         ///< error code when !ok (e.g. "ErrorAccessDenied")
  std::string message;      ///< error detail when !ok
  bool grant_gone = false;  ///< the token service says the mailbox needs a new consent
  std::string paused_until; ///< RFC 3339: Graph throttled or failed; "" if not paused
  std::uint64_t fetch_used = 0; ///< downloads in the current fetch window
  std::uint32_t restarts = 0;   ///< children the MAILBOX restarted since its last report
  /// The last message that failed in this cycle (it did not end the cycle).
  failure failed_message;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, poll_result::failure& x) {
  return f(caf::meta::type_name("poll_failure"), x.step, x.code, x.message, x.at);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, poll_result& x) {
  return f(caf::meta::type_name("poll_result"), x.ok, x.at, x.step, x.code, x.message,
           x.grant_gone, x.paused_until, x.fetch_used, x.restarts, x.failed_message);
}

/// How a FETCHER's cycle ended, for its MAILBOX (which adds the mailbox-wide parts of
/// the poll_result: fetch window, pause, restarts, time).
struct fetch_report {
  /// ok, or what ended the cycle (step, code, message, grant_gone); the last message
  /// that failed in it.
  poll_result result;
  bool listed = false;   ///< the listing worked: the mailbox's backoff ends
  bool back_off = false; ///< the whole mailbox failed: it backs off before its next poll
  bool heals = true; ///< the failure may heal by itself (else: a poll interval at least)
  caf::timespan asked{0}; ///< > 0: the pause Graph asked for (Retry-After)
  /// >= 0: poll again this soon (a skipped message's retry, room in the fetch window).
  caf::timespan poll_in{-1};
};

/// A person on a ticket: address and display name.
struct person {
  std::string email;
  std::string name;
};

/// One attachment of an inbound mail, with its content.
struct mail_attachment {
  std::string name;
  std::string content_type;
  std::uint64_t size = 0;
  bool is_inline = false;
  std::string content;
};

/// One message as the mailbox's listing shows it: enough to decide, before any
/// download, whether it is new, done or too large.
struct message_ref {
  std::string graph_id;
  std::string internet_message_id;
  std::string received_at;
  std::uint64_t size = 0; ///< PidTagMessageSize
  std::vector<std::string> categories;
};

/// What the CONVERTER made of one message: a ticket or comment to be, or a rejection.
struct inbound_mail {
  std::string account_id;
  std::string mailbox_id;
  std::string graph_id;
  std::string received_at;
  std::string rejection;  ///< the reason ("too_large", "malformed", …); "" if accepted
  std::string detail;     ///< what the rejection is about, for people
  std::string message_id; ///< the MIME's Message-ID, else Graph's internetMessageId
  std::vector<std::string> thread_ids; ///< In-Reply-To and References, newest first
  std::string subject;
  person from;
  std::vector<person> to; ///< without connected mailboxes
  std::vector<person> cc; ///< without connected mailboxes
  std::string text_body;
  std::string html_body;
  std::vector<mail_attachment> attachments;
  bool auto_generated = false;
  /// The rule ("List-Id: …", "Precedence: bulk") if it is mailing-list or bulk mail.
  std::string list_mail;
  /// The account's setting, from its FETCHER: such mail that belongs to no ticket is
  /// rejected `mailing_list`.
  bool reject_list_mail = false;
  /// The rejection this mail is recovered from ("" if it is not): no rejection reason
  /// applies, and what cannot be read becomes a ticket with the raw mail attached.
  std::string recovering;
};

/// The steps a message goes through in its MAILBOX; a failure names the one it was in.
enum class ingest_step : std::uint8_t { download, conversion, storing, labelling };

/// "download", "conversion", "storing", "labelling".
const char* to_string(ingest_step s);
/// The step named so; download if the name is unknown.
ingest_step ingest_step_from(const std::string& name);

/// A failed try of one message, from its MAILBOX to the HELPDESK, which counts it in the
/// journal and quarantines the message once it has failed too often.
struct message_failure {
  std::string account_id;
  std::string mailbox_id;
  std::string graph_id;
  std::string internet_message_id; ///< without angle brackets ("" if unknown)
  std::string received_at;
  ingest_step step = ingest_step::download;
  std::string code;    ///< Graph's error code, or ours ("conversion_failed", …)
  std::string message; ///< for people
  /// When to try again if tries remain (wall clock, ms since the epoch).
  std::int64_t retry_at_ms = 0;
  std::uint32_t max_attempts = 5;
  /// False: the try did not fail through the message (Graph throttled the mailbox, no
  /// token): the try counted when it started is taken back, nothing else changes.
  bool counts = true;
};

/// What the HELPDESK made of a failure: the tries so far, and whether the message is
/// now quarantined (a `processing_failed` rejection, or for labelling: tried only
/// rarely from now on).
struct failure_outcome {
  std::uint32_t attempts = 0;
  bool quarantined = false;
};

/// What became of an inbound message.
enum class message_outcome : std::uint8_t {
  pending,   ///< nothing yet (its tries may have failed)
  ticket,    ///< a new ticket
  comment,   ///< a comment on an existing ticket
  duplicate, ///< the same mail was stored already (another copy, another mailbox)
  rejected,  ///< a recorded rejection; the message gets the rejected label
};

/// "", "ticket", "comment", "duplicate", "rejected" (as stored and in metrics).
const char* to_string(message_outcome o);
/// The outcome so spelled; nullopt if none is.
std::optional<message_outcome> message_outcome_from(const std::string& name);

/// What the HELPDESK did with an inbound mail, once it is durable.
/// A rejected mail to turn into a ticket or comment: what its rejection record says.
struct recovery {
  std::string rejection_id;
  std::string graph_id;
  std::string internet_message_id;
  std::string received_at;
};

struct ingest_outcome {
  message_outcome outcome = message_outcome::pending;
  std::string ticket_id; ///< "" if rejected
  std::string reason;    ///< the rejection reason; the message gets the rejected label
  bool rejected() const { return !reason.empty(); }
};

/// A mailbox's labels and whether processed mail is marked as read (account settings).
struct label_settings {
  std::string processed = "Zendesk";
  std::string rejected = "RejectedByZendesk";
  bool mark_as_read = false;
  /// Not a label, but from the same settings and needed as each mail is taken: whether
  /// mailing-list and bulk mail that belongs to no ticket is rejected.
  bool reject_list_mail = false;
};

/// A processed message whose labels are to be set: from a MAILBOX to its LABELER.
struct label_task {
  std::string graph_id;
  std::string internet_message_id;
  std::string received_at;
  bool rejected = false;   ///< also the rejected label
  std::uint32_t tries = 0; ///< tries of the message so far, for the backoff of a failure
};

/// The names of the headers outbound mail carries, and the X-Mailer value (account
/// settings).
struct outbound_headers {
  std::string account_id = "X-Zendesk-From-Account-Id";
  std::string email_id = "X-Zendesk-Email-Id";
  std::string mailer = "Zendesk Mailer";
};

/// The mailbox an outbound mail goes out from.
struct outbound_origin {
  std::string account_id;
  std::string mailbox_id;
  std::string address;
  outbound_headers headers;
};

/// An agent's comment on a ticket (POST /api/v1/tickets/{id}/comments).
struct agent_comment {
  outbound_origin origin;      ///< the ticket's mailbox
  std::string idempotency_key; ///< the client's Idempotency-Key ("" if none)
  std::string ticket_id;
  person author;
  std::string body_text;
  std::string body_html; ///< "" : made from the text
  bool is_public = true; ///< public comments are mailed to the requester and CCs
};

/// A mail for an external helpdesk (POST /api/v1/mailboxes/{id}/outbound).
struct outbound_mail {
  outbound_origin origin;
  std::string idempotency_key; ///< the client's Idempotency-Key ("" if none)
  std::vector<person> to;
  std::vector<person> cc;
  std::string subject;
  std::string body_text;
  std::string body_html;
  std::string in_reply_to;             ///< without angle brackets
  std::vector<std::string> references; ///< without angle brackets, oldest first
};

/// What the HELPDESK stored for an agent's comment or an outbound mail.
struct queued_reply {
  std::string comment_id; ///< "" for an outbound mail
  std::string email_id;   ///< "" if nothing is mailed (a private comment)
  bool replayed = false;  ///< stored by an earlier request with the same idempotency key
};

/// How a mailbox's sending goes, from its SENDER.
struct send_status {
  std::uint64_t used = 0;   ///< mails in the mail window
  std::string paused_until; ///< RFC 3339: Graph throttled or failed; "" if not
  /// RFC 3339: the send limits hold the next email until then; "" if they do not.
  std::string held_until;
  std::string code; ///< the last mailbox-wide failure ("" : none)
  std::string message;
};

/// What a MAILBOX tells about itself when asked (the mailbox view's live part).
/// One item of a change or lifecycle notification Graph POSTed for a mailbox.
struct push_item {
  std::string subscription_id;
  std::string client_state;
  std::string lifecycle_event; ///< "" for a change notification
};

/// An account's webhook as the REST front hands it to the WEBHOOK DISPATCHER: where
/// events go and the secret that signs them, in plain text (sealed before it is
/// stored); an empty url removes the webhook.
struct webhook_settings {
  std::string url;
  std::string secret;
};

/// How many items of a notification the MAILBOX took (the rest did not match its
/// subscription).
struct push_outcome {
  std::size_t accepted = 0;
  std::size_t refused = 0;
};

/// A mailbox's change-notification subscription, as its SUBSCRIBER keeps it (stored)
/// and reports it to the MAILBOX.
struct push_state {
  std::string subscription_id; ///< "" when it has none
  std::string state_hash;      ///< hex SHA-256 of its clientState (the secret stays out)
  std::int64_t expires_ms = 0; ///< wall clock, ms since the epoch
  /// Graph refused a subscription for this mailbox (a delegated token on a shared
  /// mailbox): not tried again before this; the mailbox polls as usual.
  std::int64_t unavailable_until_ms = 0;
  std::string error; ///< why it has none ("" if it has one)
};

struct live_status {
  std::string paused_until;     ///< RFC 3339: Graph throttled or failed; "" if not
  std::uint64_t fetch_used = 0; ///< downloads in the current fetch window
  send_status sending;          ///< its SENDER's last report
  /// Change notifications: whether the mailbox has them (null: not configured, see
  /// --public-url), its subscription and when the last one came.
  bool push_enabled = false;
  push_state push;
  std::string last_notification_at; ///< RFC 3339; "" none since the start
};

} // namespace exc

// The way back to an HTTP connection: a process-local pointer that never leaves the
// process, and whose send() is safe from any thread.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::net::responder_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::net::admission_ptr)

// Writes on their way to the STORAGE WRITER, in this process's database.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::storage::batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::storage::durability)

// HTTP exchanges handed to and from the HTTP client actor: they never leave the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::net::client_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::net::client_response)
// Mail on its way through ingest: large (bodies, attachments) and process-local.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::inbound_mail)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::recovery)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::ingest_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::label_settings)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::label_task)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::push_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<::exc::push_item>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::push_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::webhook_settings)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::push_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::fetch_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::message_failure)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::failure_outcome)
// Outbound mail on its way into the outbox, and the SENDER's reports.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::agent_comment)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::outbound_mail)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::queued_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::send_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::live_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::outbound_origin)

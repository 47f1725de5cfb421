#pragma once

#include "messages/atoms.hpp"
#include "messages/registry_types.hpp"
#include "messages/types.hpp"

#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

/// Every actor interface, declared once.
namespace exc {

/// Outbound HTTP(S): one exchange per request, answered with the response (transport
/// failures inside it, never as an error).
using http_actor = caf::typed_actor<
    /// Performs one HTTP exchange.
    caf::replies_to<net::client_request>::with<net::client_response>>;

/// The GRAPH BATCHER: an HTTP actor for Graph GETs that gathers those sharing a token
/// into `$batch` requests (the rest goes to the HTTP CLIENT as it is).
using graph_batcher_actor = http_actor::extend<
    /// INTERNAL: the oldest waiting request waited its window: send what waits.
    caf::reacts_to<atom::internal, atom::flush>>;

/// Who hears about grants that broke and about the app's own credentials.
using token_events_actor = caf::typed_actor<
    /// The mailbox's grant is gone; the string says why (e.g. "AADSTS70008: …").
    caf::reacts_to<atom::reauth, std::string, std::string>,
    /// The login service refused the app's credentials (code, message), or accepts them
    /// again (both empty).
    caf::reacts_to<atom::app_status, std::string, std::string>>;

/// The TOKEN SERVICE: access tokens for mailboxes, refreshed ahead of expiry, one
/// refresh in flight per mailbox.
/// The TOKEN SERVICE's key for the app-only (client credentials) tokens of a Microsoft
/// tenant, after its administrator consented for the whole tenant: "tenant:<tenant id>".
/// Every other key is a mailbox id with a delegated grant.
inline std::string tenant_token_key(const std::string& tenant_id) {
  return "tenant:" + tenant_id;
}

using token_service_actor = caf::typed_actor<
    /// A valid access token for the mailbox, or ec::reauthorization_required,
    /// ec::app_credentials_rejected, ec::token_unavailable.
    caf::replies_to<atom::token, std::string>::with<std::string>,
    /// Exchanges (code, PKCE verifier, redirect URI) for a grant; stores nothing.
    caf::replies_to<atom::redeem, std::string, std::string,
                    std::string>::with<token_grant>,
    /// Makes the grant the mailbox's: its refresh token is stored durably first.
    caf::replies_to<atom::adopt, std::string, token_grant>::with<bool>,
    /// Graph refused this access token of the mailbox: the next ask refreshes.
    caf::reacts_to<atom::invalidate, std::string, std::string>,
    /// Deletes the mailbox's grant.
    caf::replies_to<atom::forget, std::string>::with<bool>,
    /// Sends token events to this listener from now on.
    caf::reacts_to<atom::subscribe, token_events_actor>>;

/// Who hears how a mailbox's polls went: the REGISTRY (it keeps the mailbox's status and
/// last error).
using poll_listener_actor = caf::typed_actor<
    /// From a MAILBOX: the outcome of a poll (mailbox id, result).
    caf::reacts_to<atom::polled, std::string, poll_result>>;

/// A mailbox's Graph gate (net/limits/graph_gate.hpp), kept by its MAILBOX: every
/// Graph request of the mailbox's actors passes it, at most 4 at a time.
using graph_gate_actor = caf::typed_actor<
    /// Answers once one request of the caller may leave: a slot is free and no pause
    /// Graph asked for lasts.
    caf::replies_to<atom::acquire>::with<bool>,
    /// The caller's request is done. A positive timespan is the pause Graph asked for
    /// (Retry-After on 429 or 503): every request of the mailbox waits it out, fetching
    /// and sending alike.
    caf::reacts_to<atom::release, caf::timespan>>;

/// Who hears how a mailbox's sending goes and lets its requests go: its MAILBOX.
using send_listener_actor = caf::typed_actor<
    /// From a SENDER: how sending goes (mailbox id, status).
    caf::reacts_to<atom::sent, std::string, send_status>,
    /// The SENDER has nothing to send (the count of wakes it got): the MAILBOX ends it
    /// unless it sent another wake meanwhile.
    caf::reacts_to<atom::idle, std::uint64_t>>::extend_with<graph_gate_actor>;

/// The REST front: routing, authentication and rendering of the REST API, /healthz,
/// /metrics and /oauth/callback. It asks the REGISTRY, the HELPDESK and the MAILBOXes.
using rest_actor = caf::typed_actor<
    /// Handles one HTTP request; the answer goes back through the responder.
    caf::reacts_to<http_request, net::responder_ptr>,
    /// Decides from its headers (the body still unread) whether a request's body is
    /// read: only for an existing route, an allowed method and an authenticated caller.
    caf::reacts_to<http_request, net::admission_ptr>>;

/// A CONVERTER: parses raw MIME off the scheduler's threads (spawned detached, a few
/// per process) and decides whether the mail can become a ticket.
using converter_actor = caf::typed_actor<
    /// (raw MIME, the mail with its ids filled in) -> the mail with everything else.
    caf::replies_to<atom::convert, std::string, inbound_mail>::with<inbound_mail>>;

/// The STORAGE WRITER: the one actor that writes the database (detached: it alone waits
/// for the disk). Others read RocksDB directly and send it their batches. Commits are
/// applied in the order they arrive; durable ones share one fsync (group commit).
using storage_writer_actor = caf::typed_actor<
    /// Applies the batch at once (readers see it when the answer comes); answers then if
    /// relaxed, else once the next sync made it durable.
    caf::replies_to<atom::commit, storage::batch, storage::durability>::with<bool>,
    /// Applies the batch relaxed and answers nothing; a failure is logged with the
    /// text (whose state it is), for state that is rebuilt if lost.
    caf::reacts_to<atom::commit, storage::batch, std::string>,
    /// Answers once everything committed so far, by anyone, is durable.
    caf::replies_to<atom::sync>::with<bool>,
    /// Answers once everything sent to it before is applied (no fsync): a restarted
    /// actor reads what its predecessor wrote.
    caf::replies_to<atom::barrier>::with<bool>>;

/// The HELPDESK: the one author of tickets, comments, rejections and the journal, so
/// its read-modify-writes never race. It waits for each of its commits to be applied
/// and answers only once the STORAGE WRITER made it durable.
using helpdesk_actor = caf::typed_actor<
    /// Stores the mail as a new ticket, a comment, a duplicate or a rejection, with its
    /// journal entry, in one batch.
    caf::replies_to<atom::ingest, inbound_mail>::with<ingest_outcome>,
    /// Stores a mail recovered from its rejection (`inbound_mail::recovering`) as a
    /// ticket or comment, once: the rejection then names it; ec::already_recovered.
    caf::replies_to<atom::recover, inbound_mail>::with<ingest_outcome>,
    /// (mailbox id, Graph message id): the labels are on the message.
    caf::replies_to<atom::labelled, std::string, std::string>::with<bool>,
    /// (mailbox id, Graph message id, internetMessageId, retry at in wall-clock ms):
    /// counts a try of the message before it starts, relaxed (a crash of the process
    /// keeps it); the tries so far, or 0 if the message has an outcome already.
    caf::replies_to<atom::attempt, std::string, std::string, std::string,
                    std::int64_t>::with<std::uint32_t>,
    /// Records a failed try; once a message has failed max_attempts times it is
    /// quarantined (for the ingest steps: a `processing_failed` rejection, durable
    /// before the answer).
    caf::replies_to<atom::failed, message_failure>::with<failure_outcome>,
    /// Adds an agent's comment to its ticket; a public one queues its notification in
    /// the outbox, in the same batch. Errors: ec::not_found (no such ticket),
    /// ec::conflict (the idempotency key was used for another ticket or mailbox).
    caf::replies_to<atom::comment, agent_comment>::with<queued_reply>,
    /// Queues a mail for an external helpdesk. Errors: ec::conflict as above.
    caf::replies_to<atom::outbound, outbound_mail>::with<queued_reply>>;

/// A SENDER: drains one mailbox's outbox through Graph sendMail within the send limits.
using sender_actor = caf::typed_actor<
    /// The outbox has new mail.
    caf::reacts_to<atom::wake>,
    /// INTERNAL: a timer (generation).
    caf::reacts_to<atom::internal, atom::wake, std::uint64_t>>;

/// A LABELER: sets the labels of a mailbox's processed messages in Exchange.
using labeler_actor = caf::typed_actor<
    /// Label the message: queued behind the others (once, however often it comes).
    caf::reacts_to<atom::label, label_task>,
    /// The account's label settings changed.
    caf::reacts_to<atom::settings, label_settings>>;

/// Who hears how labelling goes: its MAILBOX.
using label_listener_actor = caf::typed_actor<
    /// A message's labels failed (mailbox id, what failed): the mailbox's last error.
    caf::reacts_to<atom::failed, std::string, poll_result::failure>,
    /// The LABELER has done every task (the count of tasks it got): the MAILBOX ends it
    /// unless it sent more meanwhile.
    caf::reacts_to<atom::idle, std::uint64_t>>;

/// A SUBSCRIBER: keeps its mailbox's change-notification subscription at Graph
/// (creates, renews, re-creates it) and reports it to its MAILBOX.
using subscriber_actor = caf::typed_actor<
    /// A lifecycle event Graph sent for the subscription (reauthorizationRequired,
    /// subscriptionRemoved, missed).
    caf::reacts_to<atom::notify, std::string>,
    /// INTERNAL: its timer (generation): a renewal, or another try.
    caf::reacts_to<atom::internal, atom::wake, std::uint64_t>>;

/// Who hears of a mailbox's subscription: its MAILBOX.
using push_listener_actor =
    caf::typed_actor<caf::reacts_to<atom::subscribed, push_state>>;

/// A FETCHER: one poll cycle of a mailbox (listing, then each new message through
/// download, conversion and storing).
using fetcher_actor = caf::typed_actor<
    /// The account's label settings changed.
    caf::reacts_to<atom::settings, label_settings>,
    /// Its own: look again for room in the conversion budget.
    caf::reacts_to<atom::internal, atom::wake>>;

/// Who hears how a FETCHER's cycle goes and lets its requests go: its MAILBOX.
using fetch_listener_actor = caf::typed_actor<
    /// A gate slot for a try, unless Graph's pause (or the mailbox's backoff) lasts:
    /// then at once what is left of it, and no slot. Zero: the slot is the caller's.
    caf::replies_to<atom::acquire, atom::pause>::with<caf::timespan>,
    /// A message is stored: label it (through the LABELER).
    caf::reacts_to<atom::label, label_task>,
    /// A download's answer came: it counts in the mailbox's fetch window.
    caf::reacts_to<atom::downloaded>,
    /// The cycle is over.
    caf::reacts_to<atom::fetched, fetch_report>>::extend_with<graph_gate_actor>;

/// A MAILBOX: polls one connected mailbox on its timer: its FETCHER fetches the new
/// mail and has it converted and stored, its LABELER labels it in Exchange, its SENDER
/// drains its outbox.
using mailbox_actor = caf::typed_actor<
    /// INTERNAL: the poll timer (generation).
    caf::reacts_to<atom::internal, atom::poll, std::uint64_t>,
    /// From the REGISTRY after a start: the first poll's turn. True once that poll heard
    /// from Graph (or ended without asking it), false if it did not poll now (paused,
    /// stopping, not waiting for a turn).
    caf::replies_to<atom::poll>::with<bool>,
    /// The account's label settings changed.
    caf::reacts_to<atom::settings, label_settings>,
    /// The outbox has new mail: passed to the SENDER.
    caf::reacts_to<atom::wake>,
    /// From its SENDER: how sending goes (mailbox id, status).
    caf::reacts_to<atom::sent, std::string, send_status>,
    /// Its live status, for the mailbox view.
    caf::replies_to<atom::status>::with<live_status>,
    /// INTERNAL: start the SENDER again after it failed.
    caf::reacts_to<atom::internal, atom::restart>,
    /// INTERNAL: start the SUBSCRIBER again after it failed.
    caf::reacts_to<atom::internal, atom::subscribed>,
    /// INTERNAL: a pause of the Graph gate ended.
    caf::reacts_to<atom::internal, atom::acquire>,
    /// From its LABELER: a message's labels failed.
    caf::reacts_to<atom::failed, std::string, poll_result::failure>,
    /// From its LABELER: it has done every task it got (their count).
    caf::reacts_to<atom::idle, std::uint64_t>,
    /// Recovers a rejected mail of this mailbox (through a RECOVERER).
    caf::replies_to<atom::recover, recovery>::with<ingest_outcome>,
    /// Graph's notification items for this mailbox: checked against its subscription,
    /// recorded, then a delta round (coalesced); ec::forbidden if none matches.
    caf::replies_to<atom::notify, std::vector<push_item>>::with<push_outcome>,
    /// From its SUBSCRIBER: see push_listener_actor.
    caf::reacts_to<atom::subscribed, push_state>>::extend_with<fetch_listener_actor>;

/// A RECOVERER: downloads one rejected mail again, converts it without rejecting it and
/// has the HELPDESK store it as a ticket or comment, then the MAILBOX label it; it ends
/// with its answer.
using recoverer_actor =
    caf::typed_actor<caf::replies_to<atom::recover, recovery>::with<ingest_outcome>,
                     /// Its own: look again for room in the conversion budget.
                     caf::reacts_to<atom::internal, atom::wake>>;

/// A mailbox as the REGISTRY knows it: its record, its MAILBOX if one runs, and what
/// the REST front shows besides (the MAILBOX's live status it asks the MAILBOX for).
struct mailbox_entry {
  storage::mailbox_record record;
  mailbox_actor actor;        ///< null unless it runs
  std::uint32_t restarts = 0; ///< restarts of the MAILBOX and its children
  std::string last_poll_at;   ///< RFC 3339: the last poll that worked ("" : none yet)
  /// The app's own credentials are refused (code "" if not): no mailbox can poll.
  storage::error_record app_error;
  std::string authorize_url; ///< after connect or reauthorize: where to sign in
};

/// A page of an account's mailboxes, ordered by id.
struct mailbox_page {
  std::vector<mailbox_entry> entries;
  std::string next; ///< the last entry's id when more follow (the next `after`), else ""
};

/// The REGISTRY: owns accounts, API keys, mailboxes, address holds and sign-in state,
/// and the mailbox lifecycle (it spawns, monitors and restarts the MAILBOXes, and a
/// mailbox's replacement only once the old one is down). Requests name the caller's
/// account; another account's mailbox is ec::not_found. Refusals are our errors
/// (ec::address_in_use, ec::invalid_state, the sign-in ones, ec::storage_failure).
using registry_actor = caf::typed_actor<
    /// An API key's SHA-256 hash -> its account's id; ec::not_found.
    caf::replies_to<atom::authenticate, std::string>::with<std::string>,
    /// Creates an account (name) with its first API key.
    caf::replies_to<atom::create, std::string>::with<new_account>,
    /// Every account.
    caf::replies_to<atom::accounts>::with<std::vector<storage::account_record>>,
    /// One account (id).
    caf::replies_to<atom::account, std::string>::with<storage::account_record>,
    /// (account, the settings read, the new settings validated by the caller): stores
    /// them if the account's settings are still those read (else ec::conflict: read
    /// and validate again); its running MAILBOXes label with them from their next
    /// message on.
    caf::replies_to<atom::settings, std::string, storage::account_settings,
                    storage::account_settings>::with<storage::account_record>,
    /// Registers a mailbox to connect (account_id, address, poll interval and backfill
    /// set) -> its entry with the sign-in URL. With a tenant_id, one of the account's
    /// consented tenants, it needs no sign-in: the tenant's app-only token opens it
    /// (checked at once; a mailbox Graph refuses is kept in status error).
    caf::replies_to<atom::connect, storage::mailbox_record>::with<mailbox_entry>,
    /// (account) -> a link for an administrator to consent for a whole tenant.
    caf::replies_to<atom::consent, std::string>::with<std::string>,
    /// Finishes an admin consent: the tenant becomes the link's account's, once the
    /// login service issues the app tokens for it; ec::address_in_use if another
    /// account holds it.
    caf::replies_to<atom::consent, admin_consent_return>::with<storage::tenant_record>,
    /// (account) -> its tenants.
    caf::replies_to<atom::tenants,
                    std::string>::with<std::vector<storage::tenant_record>>,
    /// (account, tenant id): gives the tenant up; ec::invalid_state while mailboxes
    /// use it.
    caf::replies_to<atom::tenants, atom::remove, std::string, std::string>::with<bool>,
    /// (account, after, limit) -> at most `limit` of the account's mailboxes with an id
    /// after `after`, read through the account's own index.
    caf::replies_to<atom::mailboxes, std::string, std::string,
                    std::uint32_t>::with<mailbox_page>,
    /// (account) -> the ids of all the account's mailboxes.
    caf::replies_to<atom::mailboxes, std::string>::with<std::vector<std::string>>,
    /// (account, mailbox id) -> the mailbox.
    caf::replies_to<atom::mailbox, std::string, std::string>::with<mailbox_entry>,
    /// (account, mailbox id) -> a new sign-in URL.
    caf::replies_to<atom::reauthorize, std::string, std::string>::with<std::string>,
    /// (account, mailbox id): stops polling and sending.
    caf::replies_to<atom::pause, std::string, std::string>::with<mailbox_entry>,
    /// (account, mailbox id): polls and sends again.
    caf::replies_to<atom::resume, std::string, std::string>::with<mailbox_entry>,
    /// (account, mailbox id): deletes the mailbox and its grant.
    caf::replies_to<atom::remove, std::string, std::string>::with<bool>,
    /// (account, mailbox id, what to recover): through the mailbox's MAILBOX, which must
    /// be running (else ec::invalid_state).
    caf::replies_to<atom::recover, std::string, std::string,
                    recovery>::with<ingest_outcome>,
    /// Finishes a sign-in: redeems the code, proves that the grant opens the mailbox
    /// and marks it connected.
    caf::replies_to<atom::callback, sign_in_return>::with<mailbox_entry>,
    /// (account, mailbox id) -> where its outbound mail comes from.
    caf::replies_to<atom::origin, std::string, std::string>::with<outbound_origin>,
    /// The mailbox's outbox has new mail (its SENDER drains it).
    caf::reacts_to<atom::wake, std::string>,
    /// (mailbox id, items): Graph's notification, for the mailbox's MAILBOX;
    /// ec::not_found for no such mailbox, nothing taken if it does not run.
    caf::replies_to<atom::notify, std::string,
                    std::vector<push_item>>::with<push_outcome>,
    /// The app's own credentials: the error if the login service refuses them (code ""
    /// if not).
    caf::replies_to<atom::health>::with<storage::error_record>,
    /// From the TOKEN SERVICE: see token_events_actor.
    caf::reacts_to<atom::reauth, std::string, std::string>,
    caf::reacts_to<atom::app_status, std::string, std::string>,
    /// From a MAILBOX: see poll_listener_actor.
    caf::reacts_to<atom::polled, std::string, poll_result>,
    /// INTERNAL: start a MAILBOX again after it failed (mailbox id).
    caf::reacts_to<atom::internal, atom::restart, std::string>,
    /// INTERNAL: the start goes on with the next MAILBOXes.
    caf::reacts_to<atom::internal, atom::resume>>;

/// The WEBHOOK DISPATCHER: owns the accounts' webhooks and delivers the events the
/// writers record (storage/webhooks.hpp) to them: signed, at least once, in order per
/// ticket, retried with backoff, parked after failing for too long.
using webhook_actor = caf::typed_actor<
    /// The account recorded events: deliver those that are due.
    caf::reacts_to<atom::wake, std::string>,
    /// (account, its new webhook; an empty url removes it): the secret is sealed and
    /// the webhook stored durably.
    caf::replies_to<atom::settings, std::string, webhook_settings>::with<bool>,
    /// (account, an event id, or "" for every parked and failing event, at most 1,000):
    /// tried again now, with a fresh allowance before it is parked -> how many;
    /// ec::not_found for an id that is neither parked nor failing.
    caf::replies_to<atom::retry, std::string, std::string>::with<std::uint64_t>,
    /// INTERNAL: an account's timer (the account).
    caf::reacts_to<atom::internal, atom::wake, std::string>,
    /// INTERNAL: the periodic look at every account with a webhook.
    caf::reacts_to<atom::internal, atom::poll>>;

/// The SUPERVISOR: starts, monitors and restarts the long-lived services.
using supervisor_actor = caf::typed_actor<
    /// INTERNAL: start the service at this index again after its backoff.
    caf::reacts_to<atom::internal, atom::restart, std::uint64_t>>;

} // namespace exc

// Process-local: the REGISTRY's answers hold actor handles.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::mailbox_entry)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::exc::mailbox_page)

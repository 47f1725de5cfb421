#pragma once

#include "messages/atoms.hpp"
#include "messages/types.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <string>

/// Every actor interface, declared once.
namespace exc {

/// Outbound HTTP(S): one exchange per request, answered with the response (transport
/// failures inside it, never as an error).
using http_actor = caf::typed_actor<
    /// Performs one HTTP exchange.
    caf::replies_to<net::client_request>::with<net::client_response>>;

/// Who hears about grants that broke and about the app's own credentials.
using token_events_actor = caf::typed_actor<
    /// The mailbox's grant is gone; the string says why (e.g. "AADSTS70008: …").
    caf::reacts_to<atom::reauth, std::string, std::string>,
    /// The login service refused the app's credentials (code, message), or accepts them
    /// again (both empty).
    caf::reacts_to<atom::app_status, std::string, std::string>>;

/// The TOKEN SERVICE: access tokens for mailboxes, refreshed ahead of expiry, one
/// refresh in flight per mailbox.
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

/// Who hears how mailboxes' polls went.
using poll_listener_actor = caf::typed_actor<
    /// From a MAILBOX: the outcome of a poll (mailbox id, result).
    caf::reacts_to<atom::polled, std::string, poll_result>>;

/// The API: the REST front of exconnectd and the registry of accounts and mailboxes. It
/// hears the token service's events and the mailboxes' poll reports.
using api_actor = caf::typed_actor<
    /// Handles a request of the REST API, /healthz, /metrics or /oauth/callback.
    caf::reacts_to<http_request, net::responder_ptr>,
    /// From the TOKEN SERVICE: see token_events_actor.
    caf::reacts_to<atom::reauth, std::string, std::string>,
    caf::reacts_to<atom::app_status, std::string, std::string>,
    /// From a MAILBOX: the outcome of a poll (mailbox id, result).
    caf::reacts_to<atom::polled, std::string, poll_result>>;

/// A MAILBOX: polls one connected mailbox on its timer.
using mailbox_actor = caf::typed_actor<
    /// INTERNAL: the poll timer (generation).
    caf::reacts_to<atom::internal, atom::poll, std::uint64_t>>;

} // namespace exc

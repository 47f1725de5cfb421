#pragma once

#include <caf/atom.hpp>
#include <caf/error.hpp>

#include <cstdint>
#include <string>

/// exconnect's own error codes, carried in caf::error with the category "exconnect".
namespace exc {

enum class ec : std::uint8_t {
  unspecified = 1,
  /// The data directory cannot be created, opened or locked (e.g. a second instance).
  data_dir_unusable,
  /// RocksDB refused a read or write (I/O error, corruption).
  storage_failure,
  /// The data directory was written by an unknown schema version.
  schema_mismatch,
  /// A sealed record could not be opened: wrong key, tampered or truncated data.
  crypto_failure,
  /// A sealed record names a master key that is not configured.
  unknown_key,
  /// A key file or key value is malformed.
  invalid_key,
  /// A command-line option, environment variable or request field is malformed.
  invalid_argument,
  /// The mailbox's grant is gone (revoked, expired, consent missing): a person must
  /// sign in again. Retrying does not help.
  reauthorization_required,
  /// The login service refused the connector's own app credentials (client secret
  /// wrong or expired): an operator must fix the configuration.
  app_credentials_rejected,
  /// A token could not be had for now (login service unavailable, network error);
  /// retried later with backoff.
  token_unavailable,
  /// The login service refused an authorization code (expired, redeemed, wrong PKCE).
  code_refused,
  /// Graph refused a call, or no answer came.
  graph_failure,
  /// The record asked for does not exist (e.g. a ticket).
  not_found,
  /// The request contradicts what is stored (e.g. an idempotency key used for
  /// something else).
  conflict,
  /// Another mailbox holds the address (connected, or being connected).
  address_in_use,
  /// The mailbox's status does not allow this (e.g. pausing one that needs a consent).
  invalid_state,
  /// A sign-in link that is unknown, already used, or whose mailbox is gone.
  sign_in_unknown,
  /// A sign-in link past its lifetime.
  sign_in_expired,
  /// Microsoft (or the person) refused the consent.
  consent_refused,
  /// The mailbox was deleted while its sign-in went on.
  mailbox_deleted,
  /// The account that signed in cannot open the mailbox.
  grant_refused,
  /// A CONVERTER stopped a conversion that ran past its time budget.
  conversion_timeout,
  /// The ticket holds as much as a ticket may; its conversation goes on in a follow-up.
  ticket_full,
  /// The account asked for more sign-in links for a never-connected address than an
  /// hour allows; the context ends "try again in N s".
  too_many_sign_ins,
  /// The account has as many mailboxes waiting for their first sign-in as it may.
  too_many_pending,
  /// A rejection that cannot be recovered (too_large: it was never downloaded).
  not_recoverable,
  /// A rejection that was recovered already.
  already_recovered,
  /// Another account holds the Microsoft tenant (its administrator's consent).
  tenant_in_use,
  /// A change notification that matches no subscription of the mailbox (a wrong
  /// clientState or subscription id).
  forbidden,
};

/// The code's name, e.g. "data_dir_unusable".
const char* to_string(ec code);

/// The category atom of our errors.
constexpr caf::atom_value error_category = caf::atom("exconnect");

/// Builds an error in our category; `context` says what failed, for logs and operators.
caf::error make_error(ec code);
caf::error make_error(ec code, std::string context);

/// True if `err` is our error `code`.
bool is(const caf::error& err, ec code);

/// The context string of an error made by make_error(code, context); "" otherwise.
std::string context_of(const caf::error& err);

/// "code: context" for our errors, CAF's rendering for others; "" for no error.
std::string render(const caf::error& err);

} // namespace exc

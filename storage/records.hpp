#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// The records of accounts, mailboxes and pending OAuth sign-ins as stored (JSON
/// values), and the keys they are stored under.
namespace storage {

/// An account's settings (the contract's PATCH /api/v1/account).
struct account_settings {
  std::string processed_label = "Zendesk";
  std::string rejected_label = "RejectedByZendesk";
  bool mark_as_read = false;
  /// Mailing-list and bulk mail (List-Id, Precedence: list or bulk) that belongs to no
  /// ticket: opens one (false), or is rejected `mailing_list` (true).
  bool reject_list_mail = false;
  /// Names of the headers outbound mail carries, and the X-Mailer value.
  std::map<std::string, std::string> headers = {
      {"account_id", "X-Zendesk-From-Account-Id"},
      {"email_id", "X-Zendesk-Email-Id"},
      {"mailer", "Zendesk Mailer"}};
};

struct account_record {
  std::string id;
  std::string name;
  std::string created_at;
  std::vector<std::string> api_key_hashes; ///< SHA-256 hex; keys are never stored
  account_settings settings;
};

struct error_record {
  std::string code;
  std::string message;
  std::string at;
  /// What failed: "listing", "token", "storage", "internal", a message's step
  /// ("download", "conversion", "storing", "labelling"), "authorization"; "" if unknown.
  std::string step;
};

/// Where a mailbox is in its life.
enum class mailbox_status : std::uint8_t {
  pending_authorization,    ///< waits for its sign-in
  connected,                ///< polls and sends
  paused,                   ///< by its account; keeps its grant
  reauthorization_required, ///< its grant is gone: a person must sign in again
  error,                    ///< Graph refuses it for good (no access, no mailbox)
};

/// Every status, in the order above.
constexpr mailbox_status mailbox_statuses[] = {
    mailbox_status::pending_authorization, mailbox_status::connected,
    mailbox_status::paused, mailbox_status::reauthorization_required,
    mailbox_status::error};

/// "pending_authorization", "connected", … (as the contract and storage spell them).
const char* to_string(mailbox_status s);
/// The status so spelled; nullopt if none is.
std::optional<mailbox_status> mailbox_status_from(const std::string& name);

/// It should poll and send: connected, or failing (error) but still tried.
inline bool polls(mailbox_status s) {
  return s == mailbox_status::connected || s == mailbox_status::error;
}

struct mailbox_record {
  std::string id;
  std::string account_id;
  std::string address; ///< as the admin wrote it; compared case-insensitively
  mailbox_status status = mailbox_status::pending_authorization;
  std::string created_at;
  std::int64_t poll_interval_s = 0; ///< 0: the daemon's default
  std::int64_t backfill_days = 0;
  std::string connected_at; ///< first connection, Graph's clock ("" before)
  std::optional<error_record> last_error;
  /// While pending: the hash of the current OAuth state and when it expires.
  std::string state_hash;
  std::string state_expires_at;
  /// "" : a delegated grant of its own (a person signed in for it); else the Microsoft
  /// tenant whose administrator consented for the whole tenant: its app-only tokens.
  std::string tenant_id;
};

/// A Microsoft tenant whose administrator consented to the app for the whole tenant,
/// held by one account (no other account can claim it).
struct tenant_record {
  std::string tenant_id; ///< Microsoft's tenant id (a GUID, lower case)
  std::string account_id;
  bool consented = true;    ///< false: the consent is gone (last_error says why)
  std::string consented_at; ///< the last consent, exconnectd's clock
  std::optional<error_record> last_error;
};

/// A pending sign-in, keyed by the hash of its `state` (the state itself is a
/// credential and is not stored).
struct oauth_state_record {
  std::string account_id;
  std::string mailbox_id;      ///< "" for an administrator's consent for a whole tenant
  std::string sealed_verifier; ///< the PKCE verifier, sealed by the vault
  std::string expires_at;
};

nlohmann::json to_json(const account_settings& x);
nlohmann::json to_json(const account_record& x);
nlohmann::json to_json(const mailbox_record& x);
nlohmann::json to_json(const oauth_state_record& x);
nlohmann::json to_json(const tenant_record& x);

/// Each returns nullopt if the stored value is not a record of that kind.
std::optional<account_record> account_from_json(const std::string& text);
std::optional<mailbox_record> mailbox_from_json(std::string_view text);
std::optional<oauth_state_record> oauth_state_from_json(const std::string& text);
std::optional<tenant_record> tenant_from_json(const std::string& text);

/// Keys: accounts family "account/<id>", "api_key/<hash>" -> account id; mailboxes
/// family "<mailbox id>"; meta family "address/<lower-case address>" -> mailbox id and
/// "oauth_state/<hash>"; accounts family "tenant/<tenant id>" -> its tenant record.
std::string account_key(const std::string& id);
std::string api_key_key(const std::string& hash);
std::string address_key(const std::string& address);
std::string oauth_state_key(const std::string& state_hash);
std::string tenant_key(const std::string& tenant_id);

inline constexpr const char* account_prefix = "account/";
inline constexpr const char* oauth_state_prefix = "oauth_state/";
inline constexpr const char* tenant_prefix = "tenant/";

} // namespace storage

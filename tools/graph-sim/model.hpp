#pragma once

#include "mail/message.hpp"
#include "messages/rate_limit.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

/// graph-sim's in-memory world: registered apps, mailboxes with their messages, grants
/// and tokens, limits, faults and counters. Guarded by `world::mutex`.
namespace graph_sim {

using sys_time = std::chrono::system_clock::time_point;

/// An Azure app registration.
struct app {
  std::string client_id;
  std::string client_secret;
  std::vector<std::string> redirect_uris; ///< empty: any http loopback URI is accepted
  bool secret_expired = false;            ///< AADSTS7000222 on every token request
  bool admin_consented = false;           ///< app-only (client credentials) access
  /// The app's enterprise app (service principal) exists in the tenant: an
  /// administrator who deletes it makes client credentials fail (AADSTS700016) until
  /// the next admin consent creates it again.
  bool service_principal = true;
  /// Exchange's application access policy (an administrator's scope for app-only
  /// access): app-only tokens open only these mailboxes (lower-case addresses). None:
  /// every mailbox of the tenant.
  std::optional<std::set<std::string>> app_only_mailboxes;
};

/// One message in a mailbox folder.
struct message {
  std::string id;
  std::string folder = "inbox";
  std::string internet_message_id; ///< with angle brackets, as Graph shows it
  std::string conversation_id;
  std::shared_ptr<const std::string> mime; ///< raw RFC 822 text
  std::shared_ptr<const mail::parse_result> parsed;
  std::uint64_t size = 0; ///< PidTagMessageSize: claimed size or the MIME size
  sys_time received;
  sys_time sent;
  sys_time modified;
  bool is_read = false;
  std::vector<std::string> categories;
  std::uint64_t change = 1; ///< bumps on every change (changeKey, @odata.etag)
  /// The mailbox's change sequence when it was created and last changed: what a delta
  /// round reports (see mailbox::change_seq).
  std::uint64_t created_seq = 0;
  std::uint64_t changed_seq = 0;
  /// Before this instant (graph-sim's clock) Graph acts as if the message did not exist:
  /// sendMail's Sent Items copy appears only after the sent-items delay.
  sys_time visible_from{};

  /// The last rendering of this message as Graph JSON, reused while neither the
  /// message (`change`) nor the shape asked for (`key`) changed: listing is the hot path.
  struct rendering {
    std::string key;
    std::uint64_t change = 0;
    std::string json;
  };
  mutable rendering cached;
};

/// One mail accepted by sendMail, as the control API reports it.
struct sent_mail {
  std::uint64_t seq = 0;           ///< 1, 2, … per mailbox
  std::string internet_message_id; ///< with angle brackets
  std::string from;                ///< the mailbox's address
  std::vector<std::string> to, cc, bcc;
  std::string subject;
  std::string form; ///< "mime" or "json": how the request carried the mail
  sys_time sent_at;
  std::shared_ptr<const std::string> mime; ///< as recorded (and put into Sent Items)
};

/// A user or shared mailbox.
/// A fault that hits every Graph request of one mailbox with this method (a test's way
/// to make one mailbox's PATCHes, or all its requests, fail while others work).
struct mailbox_fault {
  std::string method = "*"; ///< "GET", "PATCH", "POST", … or "*" for every request
  unsigned status = 500;
  std::string code = "ErrorInternalServerError";
};

struct mailbox {
  std::string id;      ///< GUID form
  std::string address; ///< lower case
  std::string display_name;
  bool shared = false;
  std::set<std::string> delegates; ///< lower-case users who may open this mailbox
  std::string
      sign_in_as; ///< for a shared mailbox: who signs in when it is the login_hint
  bool deny_consent = false; ///< the signed-in user refuses consent
  std::uint64_t next_message = 1;
  std::map<std::string, message> messages; ///< by id
  std::vector<sent_mail> sent;             ///< oldest first
  std::vector<mailbox_fault> faults;       ///< PUT /_sim/mailboxes/{a}/faults
  /// Delta query's state: every creation, change and removal of a message takes the
  /// next number; a delta token holds the number it has seen up to.
  std::uint64_t change_seq = 0;
  /// Removed messages, oldest first, for delta's `@removed` items; the oldest are
  /// forgotten past delta_removed_kept, and a token from before the forgotten ones
  /// is refused (410 syncStateNotFound).
  struct removal {
    std::uint64_t seq = 0;
    std::string id;
    std::string folder;
    sys_time received;
  };
  std::deque<removal> removed;
  std::uint64_t removed_forgotten = 0; ///< the seq of the newest removal forgotten
  /// Bumped by POST /_sim/mailboxes/{a}/delta/expire: every earlier token is refused.
  std::uint64_t delta_epoch = 0;
};

/// A change-notification subscription (POST /subscriptions) on a mailbox's messages.
struct subscription {
  std::string id;
  std::string client_id;  ///< the app that created it (only it may see and change it)
  std::string mailbox_id; ///< whose messages
  std::string resource;   ///< as given, e.g. "users/{id}/mailFolders('inbox')/messages"
  std::string folder;     ///< "inbox", or "" for every folder
  std::set<std::string> change_types; ///< created, updated, deleted
  std::string notification_url;
  std::string lifecycle_url; ///< "" none
  std::string client_state;  ///< "" none
  sys_time expires;
  bool needs_reauthorization = false;
  std::uint64_t notifications = 0; ///< change notifications sent for it
};

/// A consent given by a user to an app: what refresh tokens stand for.
struct grant {
  std::string id;
  std::string client_id;
  std::string user; ///< lower-case address of the signed-in user
  std::set<std::string>
      scopes;           ///< short names, e.g. "Mail.ReadWrite.Shared", "offline_access"
  int revoked_code = 0; ///< AADSTS code refresh requests fail with; 0 = active
  std::string revoked_error;        ///< OAuth error for that failure
  std::string latest_refresh_token; ///< the newest one issued (rotation)
};

struct refresh_token {
  std::string grant_id;
  sys_time issued;
  sys_time expires;
  int revoked_code = 0; ///< set when its grant was revoked; stays after a new consent
  std::string revoked_error;
};

struct access_token {
  std::string client_id;
  std::string user; ///< empty for app-only tokens
  std::set<std::string> scopes;
  bool app_only = false;
  sys_time expires;
};

struct auth_code {
  std::string client_id;
  std::string redirect_uri;
  std::string user;
  std::set<std::string> scopes;
  std::string code_challenge;
  sys_time expires;
  bool redeemed = false;
};

/// A rate limit: `count` per `window` (the same "N/SECONDS" as exconnectd's options).
using rate = exc::rate_limit;

/// Seeded, reproducible fault injection for the Graph API (not the control API).
struct fault_config {
  std::uint64_t seed = 1;
  double error_rate = 0; ///< share of requests answered with an error
  std::vector<unsigned> error_statuses{503};
  std::string retry_after = "integer"; ///< "integer", "decimal" or "missing"
  double retry_after_seconds = 1;
  double drop_rate = 0; ///< share of connections closed without answer
  std::uint64_t latency_min_ms = 0;
  std::uint64_t latency_max_ms = 0;
};

/// Counters the control API reports.
struct stats {
  /// endpoint -> status -> count
  std::map<std::string, std::map<unsigned, std::uint64_t>> requests;
  std::uint64_t throttled_concurrency = 0;
  std::uint64_t throttled_request_rate = 0;
  std::uint64_t throttled_app_rate = 0; ///< refused for the app's limit across tenants
  std::uint64_t fault_errors = 0;
  std::uint64_t fault_drops = 0;
  std::uint64_t fault_delays = 0;
  std::uint64_t fetch_rate_violations = 0;
  std::map<std::string, std::uint64_t> fetch_rate_violations_by_mailbox;
  /// The first few violations, for a post-mortem: "<time> <mailbox> <message>: <n>
  /// downloads in the window, <age of the oldest> ms old".
  std::vector<std::string> fetch_rate_first_violations;
  std::uint64_t refreshes = 0;
  std::uint64_t superseded_refresh_uses = 0;
  std::uint64_t downloads = 0;
  std::uint64_t sends_accepted = 0;
  std::uint64_t sends_throttled = 0;
  std::map<std::string, std::uint64_t> sends_throttled_by_mailbox;
  std::map<std::string, std::uint64_t>
      sends_throttled_by_limit; ///< rate, bytes, recipients
};

/// Per (app, mailbox) accounting for Exchange's limits.
struct usage {
  unsigned in_flight = 0;
  std::deque<std::chrono::steady_clock::time_point> recent_requests;
};

/// Per mailbox record of downloads, for the connector's fetch-rate rule.
struct download_log {
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> entries;
  std::unordered_map<std::string, unsigned> distinct; ///< message id -> entries in window
};

/// Per mailbox record of accepted sends, one sliding window per send limit.
struct send_windows {
  using time_point = std::chrono::steady_clock::time_point;
  std::deque<time_point> mails;
  std::deque<std::pair<time_point, std::uint64_t>> bytes;
  std::uint64_t bytes_total = 0; ///< sum over `bytes`
  std::deque<std::pair<time_point, std::vector<std::string>>> recipients;
  std::unordered_map<std::string, unsigned> distinct; ///< recipient -> entries holding it
};

/// sendMail's switches; set at start and changed at runtime (PUT /_sim/send).
struct send_options {
  std::chrono::duration<double> sent_items_delay{0}; ///< until the Sent Items copy shows
  std::chrono::milliseconds hold_response{0}; ///< recorded at once, answered this late
  bool strip_auto_submitted = false;          ///< Exchange may drop Auto-Submitted
  std::set<std::string> reject_recipients;    ///< lower case: 400 ErrorInvalidRecipients
};

/// Options fixed at start.
struct settings {
  std::string scheme = "https"; ///< how clients reach graph-sim, for @odata.nextLink
  std::string tenant_id = "9188040d-6c67-4c5b-b112-36a304b66dad";
  /// Removed messages a mailbox remembers for delta (older tokens get 410).
  std::size_t delta_removed_kept = 1000;
  /// The longest a mail subscription may last (Microsoft's documents say 4,230 or
  /// 10,080 minutes).
  std::chrono::minutes subscription_max{4230};
  /// Extra CA trusted for https notification endpoints.
  std::string notify_ca_file;
  std::chrono::seconds token_ttl{3599};
  std::chrono::seconds code_ttl{600};
  std::chrono::hours refresh_ttl{24 * 90};
  bool strict_rotation = false; ///< refuse a refresh token once a newer one was issued
  unsigned mailbox_concurrency = 4;
  rate request_rate{10'000, std::chrono::minutes(10)};
  /// Microsoft's limit per app across all tenants and mailboxes.
  rate app_rate{130'000, std::chrono::seconds(10)};
  rate fetch_rate{25, std::chrono::seconds(60)};
  rate send_rate{10, std::chrono::seconds(60)};
  rate send_bytes{52'428'800, std::chrono::seconds(300)};
  rate send_recipients{10'000, std::chrono::hours(24)};
  send_options send; ///< initial values of the runtime send switches
};

} // namespace graph_sim

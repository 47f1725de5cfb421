#pragma once

#include "actors/subscriber.hpp"
#include "messages/converter_load.hpp"
#include "messages/interfaces.hpp"
#include "messages/presence.hpp"
#include "messages/rate_limit.hpp"
#include "messages/token_cache.hpp"
#include "net/limits/graph_budget.hpp"
#include "net/limits/start_window.hpp"
#include "net/metrics.hpp"
#include "storage/address_book.hpp"
#include "storage/db.hpp"
#include "storage/helpdesk.hpp"
#include "storage/outbox.hpp"
#include "storage/records.hpp"
#include "storage/throttle.hpp"
#include "storage/vault.hpp"

#include <caf/actor_clock.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

/// The REGISTRY: the accounts, their API keys, the mailboxes, who holds which address
/// and which sign-ins are under way, in memory and written through to storage. It runs
/// one MAILBOX per connected mailbox (monitored: it restarts a failed one with
/// backoff, and starts a replacement only once the old one is down), hears the TOKEN
/// SERVICE's events and the MAILBOXes' poll reports, and keeps the mailbox statuses
/// and their gauges. The REST front asks it; it knows nothing of HTTP. Its writes go
/// to the STORAGE WRITER, so it runs on the scheduler's threads like any actor.
namespace exc {

struct registry_config {
  std::string public_url;    ///< browsers reach the REST front here (redirect URI base)
  std::string authorize_url; ///< {login}/{tenant}/oauth2/v2.0/authorize
  std::string admin_consent_url; ///< {login}/{tenant}/adminconsent
  std::string graph_url;
  std::string client_id;
  std::string scope;
  std::chrono::seconds poll_interval{60};
  /// Change notifications for every mailbox (notification_url empty: off); each
  /// MAILBOX's URLs carry its id (?mailbox=<id>).
  push_settings push;
  /// After a start every mailbox polls at once, this many at a time (see start_window),
  /// then on its phase: mail that came while the process was down waits for the start,
  /// not an interval. As many as the HTTP client's connections to Graph.
  std::size_t first_polls_at_once = 512;
  /// The process's first REGISTRY: no MAILBOX ran before those it starts with the
  /// process, so none of them waits for a predecessor's writes (a barrier each).
  bool first_in_process = false;
  std::chrono::seconds state_lifetime{600}; ///< of a sign-in link
  /// Sign-in links one account may ask for per never-connected address per hour.
  std::uint32_t sign_in_attempts = 3;
  /// Mailboxes one account may have waiting for their first sign-in.
  std::uint32_t max_pending = 100;
  rate_limit fetch_rate{25, std::chrono::seconds{60}};
  rate_limit send_rate{10, std::chrono::seconds{60}};
  rate_limit send_bytes{52'428'800, std::chrono::seconds{300}};
  rate_limit send_recipients{10'000, std::chrono::seconds{86'400}};
  std::chrono::milliseconds sent_items_grace{120'000};
  std::uint64_t max_message_size = 52'428'800;
  std::uint32_t max_attempts = 5; ///< tries of a failing message before quarantine
  std::chrono::milliseconds retry_initial{30'000}; ///< its first backoff
};

/// What the REGISTRY reads and writes; each must outlive it.
struct registry_stores {
  const storage::db* db = nullptr;       ///< accounts, mailboxes, sign-in states (read)
  const storage::vault* vault = nullptr; ///< seals PKCE verifiers at rest
  net::metrics* metrics = nullptr;
  const storage::helpdesk_store* helpdesk = nullptr; ///< the MAILBOXes' journal
  const storage::throttle_store* throttle = nullptr; ///< the MAILBOXes' fetch windows
  const storage::outbox_store* outbox = nullptr;     ///< the SENDERs drain it
  address_book* connected = nullptr;                 ///< kept current here
  converter_load* converters = nullptr; ///< the CONVERTER pool's load, for the MAILBOXes
  presence* present = nullptr; ///< which MAILBOXes and SENDERs exist (none: not tracked)
  graph_budget* budget =
      nullptr; ///< the app's Graph budget, for the MAILBOXes (none: no limit)
  const token_cache* tokens = nullptr; ///< fresh access tokens, for the MAILBOXes
};

/// What the REGISTRY knows about a mailbox's MAILBOX actor.
struct mailbox_runtime {
  mailbox_actor actor;
  /// The previous MAILBOX, told to stop and not down yet: its replacement starts only
  /// once it is down (else two SENDERs could drain one outbox).
  mailbox_actor stopping;
  bool start_when_down = false;
  unsigned failures = 0;    ///< restarts in a row, for the backoff
  unsigned restarts = 0;    ///< of the MAILBOX and its children since the process started
  std::string last_poll_at; ///< RFC 3339: its last poll that worked
  caf::actor_clock::time_point started{};
};

struct registry_state {
  static inline const char* name = "registry";
  registry_config cfg;
  registry_stores stores;
  std::map<std::string, storage::account_record> accounts;
  std::unordered_map<std::string, std::string> api_keys; ///< key hash -> account id
  std::map<std::string, storage::mailbox_record> mailboxes;
  /// Each account's mailbox ids, in order: what its listings and caps read, instead
  /// of every mailbox of the process. Kept by keep_mailbox and forget_mailbox.
  std::unordered_map<std::string, std::set<std::string>> account_mailboxes;
  /// How many mailboxes have each status (indexed by the status): the gauges, kept as
  /// statuses change instead of counted over every mailbox.
  std::array<std::int64_t, std::size(storage::mailbox_statuses)> status_counts{};
  std::unordered_map<std::string, std::string> addresses; ///< lower-case -> mailbox id
  /// Addresses of mailboxes being added through their tenant's consent (Graph is asked
  /// whether the tenant's token opens them): held, though no record exists yet.
  std::unordered_set<std::string> claiming;
  /// The tenants whose administrators consented, by tenant id (lower case): each held
  /// by one account.
  std::map<std::string, storage::tenant_record> tenants;
  /// Mailboxes whose sign-in is being finished (code exchange, grant check): they hold
  /// their address although their state is spent.
  std::unordered_set<std::string> signing_in;
  /// Sign-in links asked for in the last hour, per account and never-connected
  /// address ("account\naddress"): at most cfg.sign_in_attempts each, pruned as they
  /// age, so a tenant cannot hold an address it does not own by asking again and again.
  std::unordered_map<std::string, std::deque<caf::actor_clock::time_point>> sign_ins;
  std::size_t sign_ins_swept = 0; ///< its size after the last sweep
  std::unordered_map<std::string, mailbox_runtime> runtime;
  /// Each mailbox's status as last staged (for its webhook event when it changes);
  /// only of mailboxes whose record was written since the start.
  std::unordered_map<std::string, storage::mailbox_status> stored_status;
  std::unordered_map<caf::actor_addr, std::string> by_actor;
  std::optional<storage::error_record> app_error;
  bool stopping = false; ///< told to stop: quits once every MAILBOX is down
  caf::error stop_reason;
  /// The wall clock and the actor's clock at the start: "now" moves with the actor's
  /// clock (virtual in tests), e.g. for sign-in links that expire.
  std::chrono::system_clock::time_point wall_base;
  caf::actor_clock::time_point clock_base;
  /// The mailboxes whose MAILBOXes the start has yet to spawn, the MAILBOXes the stop
  /// has yet to tell, and how many of them it starts or stops at once.
  std::deque<std::string> to_start;
  std::vector<mailbox_actor> to_stop;
  static constexpr std::size_t actors_at_once = 256;
  /// The first polls after the start, a window at a time.
  start_window first_polls{registry_config{}.first_polls_at_once};
};

using registry_pointer = registry_actor::stateful_pointer<registry_state>;

/// @param self the actor
/// @param cfg URLs, the app's client id, the mailboxes' defaults and limits
/// @param stores storage, vault, metrics and the address book it keeps
/// The TOKEN SERVICE, the HTTP CLIENT and the HELPDESK it finds by name
/// (messages/services.hpp); it registers itself as the TOKEN SERVICE's listener.
registry_actor::behavior_type registry(registry_pointer self, registry_config cfg,
                                       registry_stores stores);

} // namespace exc

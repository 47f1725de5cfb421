#pragma once

#include "actors/address_book.hpp"
#include "messages/interfaces.hpp"
#include "messages/rate_limit.hpp"
#include "net/metrics.hpp"
#include "storage/db.hpp"
#include "storage/helpdesk.hpp"
#include "storage/outbox.hpp"
#include "storage/records.hpp"
#include "storage/throttle.hpp"
#include "storage/vault.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

/// The API: the REST front of exconnectd and the registry of accounts and mailboxes.
/// The HTTP server hands each request in as a message; the answer goes back through
/// the connection's responder. It owns the accounts and mailboxes (in memory, written
/// through to storage), runs one MAILBOX actor per connected mailbox and hears the
/// TOKEN SERVICE's events. Spawn it detached: its storage writes wait for fsync.
namespace exc {

using api_self_actor = api_actor::extend<
    /// INTERNAL: restart a MAILBOX that failed (mailbox id).
    caf::reacts_to<atom::internal, atom::restart, std::string>>;

struct api_config {
  std::string public_url;    ///< browsers reach the API here (the redirect URI's base)
  std::string authorize_url; ///< {login}/{tenant}/oauth2/v2.0/authorize
  std::string graph_url;
  std::string client_id;
  std::string scope;
  std::string admin_token;
  std::chrono::seconds poll_interval{60};
  std::chrono::seconds state_lifetime{600};
  rate_limit fetch_rate{25, std::chrono::seconds{60}};
  rate_limit send_rate{10, std::chrono::seconds{60}};
  rate_limit send_bytes{52'428'800, std::chrono::seconds{300}};
  rate_limit send_recipients{10'000, std::chrono::seconds{86'400}};
  std::chrono::milliseconds sent_items_grace{120'000};
  std::uint64_t max_message_size = 52'428'800;
  std::uint32_t max_attempts = 5; ///< tries of a failing message before quarantine
  std::chrono::milliseconds retry_initial{30'000}; ///< its first backoff
};

/// The ingest side the API hands to each MAILBOX it runs, and reads tickets from.
struct ingest_services {
  /// The CONVERTERs in the pool (found by name); a mailbox uses one, by its id's hash.
  std::uint32_t converters = 1;
  storage::helpdesk_store* store = nullptr;
  storage::throttle_store* throttle = nullptr; ///< the mailboxes' fetch windows
  address_book* connected = nullptr;           ///< the API keeps it current
  storage::outbox_store* outbox = nullptr;     ///< read for listings; SENDERs drain it
};

/// What the API knows about a mailbox beyond its stored record.
struct mailbox_runtime {
  mailbox_actor actor;
  /// The previous MAILBOX, told to stop and not down yet: its replacement starts only
  /// once it is down (else two SENDERs could drain one outbox).
  mailbox_actor stopping;
  bool start_when_down = false;
  std::string last_poll_at;
  std::string paused_until;     ///< Graph throttled it (RFC 3339); "" if not
  std::uint64_t fetch_used = 0; ///< downloads in the fetch window at the last poll
  send_status sending;          ///< the SENDER's last report
  unsigned failures = 0;        ///< restarts in a row, for the backoff
  unsigned restarts = 0;        ///< restarts since the process started
  std::chrono::steady_clock::time_point started{};
};

struct api_state {
  static inline const char* name = "api";
  api_config cfg;
  storage::db* db = nullptr;
  const storage::vault* vault = nullptr;
  net::metrics* metrics = nullptr;
  ingest_services ingest;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::map<std::string, storage::account_record> accounts;
  std::unordered_map<std::string, std::string> api_keys; ///< key hash -> account id
  std::map<std::string, storage::mailbox_record> mailboxes;
  std::unordered_map<std::string, std::string> addresses; ///< lower-case -> mailbox id
  /// Mailboxes whose sign-in is being finished (code exchange, grant check): they hold
  /// their address although their state is spent.
  std::unordered_set<std::string> signing_in;
  std::unordered_map<std::string, mailbox_runtime> runtime;
  std::unordered_map<caf::actor_addr, std::string> by_actor;
  std::optional<storage::error_record> app_error;
  std::minstd_rand rng{std::random_device{}()}; ///< spreads first polls
};

using api_pointer = api_self_actor::stateful_pointer<api_state>;

/// @param self the actor
/// @param cfg URLs, the app's client id, the admin token, defaults
/// @param db accounts, mailboxes, OAuth states; must outlive the actor
/// @param vault seals PKCE verifiers at rest; must outlive the actor
/// @param metrics where HTTP and mailbox metrics go; must outlive the actor
/// @param ingest the CONVERTER pool's size, the ticket store, the address book
/// The TOKEN SERVICE, the HTTP CLIENT and the HELPDESK it finds by name
/// (messages/services.hpp); it registers itself as the TOKEN SERVICE's listener.
api_self_actor::behavior_type api(api_pointer self, api_config cfg, storage::db* db,
                                  const storage::vault* vault, net::metrics* metrics,
                                  ingest_services ingest);

} // namespace exc

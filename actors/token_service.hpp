#pragma once

#include "messages/interfaces.hpp"
#include "messages/token_cache.hpp"
#include "net/limits/backoff.hpp"
#include "net/metrics.hpp"
#include "storage/credentials.hpp"

#include <caf/actor_clock.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <chrono>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

/// The TOKEN SERVICE: the one place that talks to the login service's token endpoint.
/// It hands out access tokens per mailbox, refreshes them ahead of expiry with one
/// refresh in flight per mailbox, stores each rotated refresh token durably before the
/// new access token is used, and sorts the login service's errors into classes. For a
/// tenant key (tenant_token_key) it hands out the tenant's app-only tokens, got with
/// the app's client credentials from the tenant's own token endpoint (nothing stored).
namespace exc {

struct token_service_config {
  std::string token_url; ///< {login}/{tenant}/oauth2/v2.0/token
  std::string client_id;
  std::string client_secret;
  /// If set, read again (at most once a second) while the login service refuses the
  /// secret, so that an operator's fix takes effect without a restart.
  std::string client_secret_file;
  std::string scope; ///< asked for on refresh
  /// {login}: app-only tokens come from {login}/{tenant id}/oauth2/v2.0/token.
  std::string login_url;
  /// A token that expires within this margin is refreshed before it is handed out.
  std::chrono::seconds refresh_margin{300};
  /// Backoff after transient failures (and while the app's secret is refused):
  /// initial * 2^(failures-1), capped, each delay drawn in [delay/2, delay].
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{300'000};
  std::chrono::milliseconds request_timeout{30'000};
};

/// How the login service answered a token request.
enum class token_outcome {
  granted,      ///< 200 with an access token
  grant_gone,   ///< invalid_grant / interaction_required: the mailbox needs new consent
  app_rejected, ///< invalid_client: the app's own secret is wrong or expired
  transient,    ///< temporarily_unavailable, 429, 5xx, network: try again later
};

/// The class of the outcome as the metrics label it: "ok", "invalid_grant",
/// "invalid_client", "transient".
const char* to_string(token_outcome o);

struct classified_token_response {
  token_outcome outcome = token_outcome::transient;
  token_grant grant;   ///< when granted
  std::string code;    ///< the OAuth error ("invalid_grant") or a transport error
  std::string message; ///< "AADSTS70008: …" (first line of error_description) or detail
  std::vector<long long> codes; ///< error_codes (AADSTS numbers)
};

/// Sorts a token endpoint answer into its class (AADSTS 70008, 700082, 50173, 65001 →
/// grant_gone; 7000215, 7000222, 7000218, 700016 → app_rejected; …).
classified_token_response classify_token_response(const net::client_response& res);

struct token_entry {
  token_cache::token access_token; ///< none: no token (shared with the token cache)
  caf::actor_clock::time_point expires_at{};
  bool refreshing = false;
  std::vector<caf::typed_response_promise<std::string>> waiters;
  unsigned failures = 0; ///< transient failures in a row
  caf::actor_clock::time_point retry_at{};
  caf::error last_error;     ///< of the last failed refresh
  std::string reauth_reason; ///< non-empty: the grant is gone until adopt
};

struct token_service_state {
  static inline const char* name = "token-service";
  token_service_config cfg;
  const storage::credential_store* credentials = nullptr;
  net::metrics* metrics = nullptr;
  token_cache* cache = nullptr; ///< where callers read fresh tokens; none in some tests
  token_events_actor listener;  ///< from atom::subscribe; else found by name
  std::unordered_map<std::string, token_entry> entries;
  /// The app-wide error while the login service refuses the app's credentials.
  std::string app_error_code;
  std::string app_error_message;
  unsigned app_failures = 0;
  caf::actor_clock::time_point app_retry_at{};
  caf::actor_clock::time_point secret_checked_at{};
  std::string secret_problem; ///< why the secret file was last unusable, once logged
  std::minstd_rand rng{jitter_seed()};
};

/// @param self the actor
/// @param cfg where the token endpoint is and how the app authenticates
/// @param credentials the mailboxes' sealed refresh tokens; must outlive the actor
/// The HTTP CLIENT for the token endpoint it finds by name (messages/services.hpp).
/// @param metrics counters of refreshes by outcome class; must outlive the actor
/// @param cache where it publishes each fresh token (none: callers always ask); must
///        outlive the actor
token_service_actor::behavior_type
token_service(token_service_actor::stateful_pointer<token_service_state> self,
              token_service_config cfg, const storage::credential_store* credentials,
              net::metrics* metrics, token_cache* cache = nullptr);

} // namespace exc

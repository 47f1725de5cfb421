#pragma once

#include "messages/rate_limit.hpp"
#include "messages/ticket_limits.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

/// exconnectd's configuration: every option of the contract (../shared/api.md), each
/// also settable through an environment variable; the command line wins.
namespace app {

struct config {
  std::string data_dir = "./exconnect-data";
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8025;
  std::string port_file;
  std::string public_url; ///< empty: "http(s)://" + the bound address
  std::string graph_url = "https://graph.microsoft.com/v1.0";
  std::string login_url = "https://login.microsoftonline.com";
  std::string tenant = "organizations";
  std::string ca_file;
  std::string client_id;
  std::string client_secret_file;
  std::string client_secret;            ///< EXCONNECT_CLIENT_SECRET (the value itself)
  std::string master_key_file;          ///< empty: <data-dir>/master.key
  std::string master_key_hex;           ///< EXCONNECT_MASTER_KEY (the key itself)
  std::string previous_master_key_file; ///< the key before a rotation
  std::string admin_token_file;         ///< empty: <data-dir>/admin.token
  std::string admin_token;              ///< EXCONNECT_ADMIN_TOKEN (the token itself)
  std::chrono::seconds poll_interval{60};
  /// Change notifications: on, off, or unset (on when the public URL is https://,
  /// which Graph requires).
  std::optional<bool> push_notifications;
  std::chrono::seconds subscription_lifetime{252'000}; ///< 4,200 minutes
  /// A mailbox with a subscription polls only this often (a safety net).
  std::chrono::seconds push_poll_interval{900};
  /// A webhook event failing this long is parked; retries back off up to the max.
  std::chrono::seconds webhook_park_after{86'400};
  std::chrono::seconds webhook_retry_max{3'600};
  std::chrono::seconds webhook_parked_retention{2'592'000};
  std::chrono::seconds authorization_timeout{600}; ///< OAuth state lifetime
  /// Sign-in links an account may ask for per never-connected address per hour.
  std::uint32_t sign_in_attempts = 3;
  /// Mailboxes an account may have waiting for their first sign-in.
  std::uint32_t max_pending_mailboxes = 100;
  exc::rate_limit fetch_rate{25, std::chrono::seconds(60)};
  exc::rate_limit send_rate{10, std::chrono::seconds(60)};
  /// Graph requests of the whole process (Microsoft's limit per app: 130,000 per 10 s).
  exc::rate_limit graph_budget{130'000, std::chrono::seconds(10)};
  std::size_t graph_connections = 512; ///< per host, idle ones included
  std::size_t graph_batch_size = 20;   ///< tenant polls per Graph $batch request
  exc::rate_limit send_bytes{52'428'800, std::chrono::seconds(300)};
  exc::rate_limit send_recipients{10'000, std::chrono::seconds(86'400)};
  /// How long a sent mail's Sent Items copy may take to appear (crash recovery waits
  /// that long before it looks).
  std::chrono::milliseconds sent_items_grace{120'000};
  std::uint64_t max_message_size = 52'428'800;
  /// A message that keeps failing is quarantined after this many tries; the first
  /// retry waits retry_initial, each next one twice as long (at most 5 minutes).
  std::uint32_t max_attempts = 5;
  std::chrono::milliseconds retry_initial{30'000};
  /// How long converting one inbound mail may run before it is stopped (a failed try).
  std::chrono::milliseconds conversion_timeout{30'000};
  /// Bytes of inbound mail (as Graph lists their sizes) on their way through
  /// conversion at once, in the whole process.
  std::uint64_t conversion_budget = 268'435'456;
  exc::ticket_limits tickets; ///< what one ticket may grow to
  std::string tls_cert_file;
  std::string tls_key_file;
  std::size_t http_max_connections = 1024;
  /// A connection whose next request's headers have not arrived by then is closed.
  std::chrono::milliseconds http_idle_timeout{30'000};
  bool help = false;

  /// The master key file actually used.
  std::string master_key_path() const;
  /// The admin token file actually used.
  std::string admin_token_path() const;
};

/// The --help text: every option, its environment variable and its default.
std::string usage();

/// Reads `args` (without the program name) over `env` (name -> value) over the
/// defaults. Errors name the option and say what was expected (ec::invalid_argument).
caf::expected<config> parse_config(const std::vector<std::string>& args,
                                   const std::map<std::string, std::string>& env);

/// The process environment's EXCONNECT_* variables.
std::map<std::string, std::string> exconnect_environment();

} // namespace app

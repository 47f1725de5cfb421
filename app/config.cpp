#include "app/config.hpp"

#include "messages/error.hpp"
#include "net/url.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>

extern char** environ;

namespace app {

namespace {

/// One option: its flag, environment variable, help and how it sets the config.
struct option {
  const char* flag;
  const char* env;
  const char* arg;
  const char* help;
  const char* default_text;
  /// Sets the value; returns what was wrong with it, or "" if it was fine.
  std::function<std::string(config&, const std::string&)> set;
};

std::string set_string(std::string& out, const std::string& value) {
  if (value.empty()) return "must not be empty";
  out = value;
  return {};
}

std::string set_number(std::uint64_t& out, const std::string& value) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc{} || end != value.data() + value.size() || n == 0)
    return "expects a positive whole number, got '" + value + "'";
  out = n;
  return {};
}

/// A whole number from 1 to `max`, stored in `out`'s type.
template <class T>
std::string set_number_up_to(T& out, const std::string& value, std::uint64_t max) {
  std::uint64_t n = 0;
  if (!set_number(n, value).empty() || n > max)
    return "expects a whole number from 1 to " + std::to_string(max);
  out = static_cast<T>(n);
  return {};
}

/// Decimal seconds above 0 and at most `max_s`, kept as milliseconds.
std::string set_seconds(std::chrono::milliseconds& out, const std::string& value,
                        double max_s) {
  char* end = nullptr;
  double s = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(s >= 0.001) || s > max_s)
    return "expects seconds from 0.001 to " + std::to_string(std::lround(max_s)) +
           " (decimals allowed)";
  out = std::chrono::milliseconds{static_cast<std::int64_t>(s * 1000 + 0.5)};
  return {};
}

std::string set_rate(exc::rate_limit& out, const std::string& value) {
  auto r = exc::parse_rate_limit(value);
  if (!r) return "expects N/SECONDS (e.g. 25/60), got '" + value + "'";
  out = *r;
  return {};
}

std::string set_listen(config& c, const std::string& value) {
  auto colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return "expects HOST:PORT (e.g. 127.0.0.1:8025), got '" + value + "'";
  auto host = value.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  auto p = value.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc{} || end != p.data() + p.size() || port > 65535)
    return "expects a port from 0 to 65535, got '" + p + "'";
  c.listen_host = host;
  c.listen_port = static_cast<std::uint16_t>(port);
  return {};
}

const std::vector<option>& options() {
  static const std::vector<option> table = {
      {"--data-dir", "EXCONNECT_DATA_DIR", "DIR", "RocksDB and state", "./exconnect-data",
       [](config& c, const std::string& v) { return set_string(c.data_dir, v); }},
      {"--listen", "EXCONNECT_LISTEN", "HOST:PORT",
       "REST API, OAuth callback, metrics; port 0 picks a free one", "127.0.0.1:8025",
       set_listen},
      {"--port-file", "EXCONNECT_PORT_FILE", "FILE",
       "write the bound port there once listening", "none",
       [](config& c, const std::string& v) { return set_string(c.port_file, v); }},
      {"--public-url", "EXCONNECT_PUBLIC_URL", "URL",
       "how browsers reach --listen (OAuth redirect URI base)", "http:// + bound address",
       [](config& c, const std::string& v) {
         if (!net::parse_url(v))
           return std::string{"expects an http(s):// URL, got '" + v + "'"};
         c.public_url = v;
         while (c.public_url.size() > 1 && c.public_url.back() == '/')
           c.public_url.pop_back();
         return std::string{};
       }},
      {"--graph-url", "EXCONNECT_GRAPH_URL", "URL", "Graph base",
       "https://graph.microsoft.com/v1.0",
       [](config& c, const std::string& v) { return set_string(c.graph_url, v); }},
      {"--login-url", "EXCONNECT_LOGIN_URL", "URL", "identity platform base",
       "https://login.microsoftonline.com",
       [](config& c, const std::string& v) { return set_string(c.login_url, v); }},
      {"--tenant", "EXCONNECT_TENANT", "T", "the {tenant} path part of login URLs",
       "organizations",
       [](config& c, const std::string& v) { return set_string(c.tenant, v); }},
      {"--ca-file", "EXCONNECT_CA_FILE", "FILE", "extra trusted CA for outbound HTTPS",
       "system store only",
       [](config& c, const std::string& v) { return set_string(c.ca_file, v); }},
      {"--client-id", "EXCONNECT_CLIENT_ID", "ID",
       "the connector's Azure app (client) id", "required for Microsoft",
       [](config& c, const std::string& v) { return set_string(c.client_id, v); }},
      {"--client-secret-file", "EXCONNECT_CLIENT_SECRET_FILE", "FILE",
       "file holding the app's client secret (or EXCONNECT_CLIENT_SECRET = the value)",
       "none",
       [](config& c, const std::string& v) {
         return set_string(c.client_secret_file, v);
       }},
      {"--master-key-file", "EXCONNECT_MASTER_KEY_FILE", "FILE",
       "32-byte key (64 hex digits) sealing credentials, created 0600 if missing "
       "(or EXCONNECT_MASTER_KEY = the key)",
       "<data-dir>/master.key",
       [](config& c, const std::string& v) { return set_string(c.master_key_file, v); }},
      {"--previous-master-key-file", "EXCONNECT_PREVIOUS_MASTER_KEY_FILE", "FILE",
       "the master key before a rotation: records sealed with it still open and are "
       "resealed with the current key when read",
       "none",
       [](config& c, const std::string& v) {
         return set_string(c.previous_master_key_file, v);
       }},
      {"--admin-token-file", "EXCONNECT_ADMIN_TOKEN_FILE", "FILE",
       "operator token for /api/v1/accounts, created 0600 if missing "
       "(or EXCONNECT_ADMIN_TOKEN = the token)",
       "<data-dir>/admin.token",
       [](config& c, const std::string& v) { return set_string(c.admin_token_file, v); }},
      {"--poll-interval", "EXCONNECT_POLL_INTERVAL", "SECONDS",
       "default poll interval per mailbox", "60",
       [](config& c, const std::string& v) {
         std::uint64_t n = 0;
         auto err = set_number(n, v);
         if (err.empty()) c.poll_interval = std::chrono::seconds(n);
         return err;
       }},
      {"--push-notifications", "EXCONNECT_PUSH_NOTIFICATIONS", "on|off",
       "subscribe each mailbox to Graph's change notifications, POSTed to "
       "<public-url>/graph/notifications (Graph requires https://)",
       "on if --public-url is https://",
       [](config& c, const std::string& v) {
         if (v != "on" && v != "off") return std::string{"expects on or off"};
         c.push_notifications = v == "on";
         return std::string{};
       }},
      {"--subscription-lifetime", "EXCONNECT_SUBSCRIPTION_LIFETIME", "SECONDS",
       "lifetime asked for a subscription, renewed after two thirds of it; at most what "
       "Graph allows for mail (4,230 minutes in Microsoft's older table)",
       "252000",
       [](config& c, const std::string& v) {
         std::uint64_t n = 0;
         auto err = set_number(n, v);
         if (err.empty() && (n < 10 || n > 604'800)) err = "expects 10 to 604800 seconds";
         if (err.empty()) c.subscription_lifetime = std::chrono::seconds(n);
         return err;
       }},
      {"--push-poll-interval", "EXCONNECT_PUSH_POLL_INTERVAL", "SECONDS",
       "how often a mailbox with a subscription still polls (a safety net)", "900",
       [](config& c, const std::string& v) {
         std::uint64_t n = 0;
         auto err = set_number(n, v);
         if (err.empty() && n == 0) err = "expects a number of seconds above 0";
         if (err.empty()) c.push_poll_interval = std::chrono::seconds(n);
         return err;
       }},
      {"--webhook-park-after", "EXCONNECT_WEBHOOK_PARK_AFTER", "SECONDS",
       "a webhook event whose deliveries keep failing this long is parked (listed, "
       "retried only when asked)",
       "86400",
       [](config& c, const std::string& v) {
         std::uint64_t n = 0;
         auto err = set_number(n, v);
         if (err.empty() && (n == 0 || n > 2'592'000))
           err = "expects 1 to 2592000 seconds";
         if (err.empty()) c.webhook_park_after = std::chrono::seconds(n);
         return err;
       }},
      {"--webhook-parked-retention", "EXCONNECT_WEBHOOK_PARKED_RETENTION", "SECONDS",
       "a parked webhook event not retried is dropped this long after it was recorded",
       "2592000",
       [](config& c, const std::string& v) {
         std::uint64_t n = 0;
         auto err = set_number(n, v);
         if (err.empty() && (n == 0 || n > 31'536'000))
           err = "expects 1 to 31536000 seconds";
         if (err.empty()) c.webhook_parked_retention = std::chrono::seconds(n);
         return err;
       }},
      {"--webhook-retry-max", "EXCONNECT_WEBHOOK_RETRY_MAX", "SECONDS",
       "the longest wait between two tries of a failing webhook event (the wait starts "
       "at 1 s and doubles)",
       "3600",
       [](config& c, const std::string& v) {
         std::uint64_t n = 0;
         auto err = set_number(n, v);
         if (err.empty() && (n == 0 || n > 86'400)) err = "expects 1 to 86400 seconds";
         if (err.empty()) c.webhook_retry_max = std::chrono::seconds(n);
         return err;
       }},
      {"--authorization-timeout", "EXCONNECT_AUTHORIZATION_TIMEOUT", "SECONDS",
       "how long a sign-in link (its OAuth state) stays valid", "600",
       [](config& c, const std::string& v) {
         std::uint64_t n = 0;
         auto err = set_number(n, v);
         if (err.empty() && n == 0) err = "expects a number of seconds above 0";
         if (err.empty()) c.authorization_timeout = std::chrono::seconds(n);
         return err;
       }},
      {"--sign-in-attempts", "EXCONNECT_SIGN_IN_ATTEMPTS", "N",
       "sign-in links an account may ask for per never-connected address per hour", "3",
       [](config& c, const std::string& v) {
         return set_number_up_to(c.sign_in_attempts, v, 100);
       }},
      {"--max-pending-mailboxes", "EXCONNECT_MAX_PENDING_MAILBOXES", "N",
       "mailboxes an account may have waiting for their first sign-in", "100",
       [](config& c, const std::string& v) {
         return set_number_up_to(c.max_pending_mailboxes, v, 1'000'000);
       }},
      {"--fetch-rate", "EXCONNECT_FETCH_RATE", "N/SECONDS",
       "messages downloaded per mailbox", "25/60",
       [](config& c, const std::string& v) { return set_rate(c.fetch_rate, v); }},
      {"--graph-budget", "EXCONNECT_GRAPH_BUDGET", "N/SECONDS",
       "Graph requests of the whole process, all mailboxes (N at least 10)", "130000/10",
       [](config& c, const std::string& v) {
         auto err = set_rate(c.graph_budget, v);
         if (err.empty() && c.graph_budget.count < 10)
           err = "expects at least 10 requests per window, got '" + v + "'";
         return err;
       }},
      {"--graph-connections", "EXCONNECT_GRAPH_CONNECTIONS", "N",
       "connections open at once to one Microsoft host (Graph, login); more requests "
       "wait in line",
       "512",
       [](config& c, const std::string& v) {
         return set_number_up_to(c.graph_connections, v, 65'536);
       }},
      {"--graph-batch-size", "EXCONNECT_GRAPH_BATCH_SIZE", "N",
       "polls of one tenant's mailboxes that go to Graph as one $batch request (1: "
       "each on its own)",
       "20",
       [](config& c, const std::string& v) {
         return set_number_up_to(c.graph_batch_size, v, 20);
       }},
      {"--send-rate", "EXCONNECT_SEND_RATE", "N/SECONDS", "mails sent per mailbox",
       "10/60", [](config& c, const std::string& v) { return set_rate(c.send_rate, v); }},
      {"--send-bytes", "EXCONNECT_SEND_BYTES", "BYTES/SECONDS",
       "MIME bytes sent per mailbox", "52428800/300",
       [](config& c, const std::string& v) { return set_rate(c.send_bytes, v); }},
      {"--send-recipients", "EXCONNECT_SEND_RECIPIENTS", "N/SECONDS",
       "distinct recipients per mailbox (mail sent by exconnect)", "10000/86400",
       [](config& c, const std::string& v) { return set_rate(c.send_recipients, v); }},
      {"--sent-items-grace", "EXCONNECT_SENT_ITEMS_GRACE", "SECONDS",
       "wait before an email whose send is in doubt is looked up in Sent Items", "120",
       [](config& c, const std::string& v) {
         return set_seconds(c.sent_items_grace, v, 86'400);
       }},
      {"--max-attempts", "EXCONNECT_MAX_ATTEMPTS", "N",
       "tries of a message that keeps failing (download, conversion, storing, "
       "labelling) before it is quarantined",
       "5",
       [](config& c, const std::string& v) {
         return set_number_up_to(c.max_attempts, v, 100);
       }},
      {"--retry-initial", "EXCONNECT_RETRY_INITIAL", "SECONDS",
       "wait before a failed message is tried again; doubles with each try, up to 300",
       "30",
       [](config& c, const std::string& v) {
         return set_seconds(c.retry_initial, v, 300);
       }},
      {"--conversion-timeout", "EXCONNECT_CONVERSION_TIMEOUT", "SECONDS",
       "how long converting one inbound mail may run; past it the try fails (and after "
       "--max-attempts tries the mail is quarantined)",
       "30",
       [](config& c, const std::string& v) {
         // The FETCHER waits 5 minutes for a conversion, queueing included.
         return set_seconds(c.conversion_timeout, v, 240);
       }},
      {"--conversion-budget", "EXCONNECT_CONVERSION_BUDGET", "BYTES",
       "inbound mail on its way through conversion at once (download to stored), in the "
       "whole process; more waits its turn",
       "268435456",
       [](config& c, const std::string& v) {
         return set_number(c.conversion_budget, v);
       }},
      {"--max-message-size", "EXCONNECT_MAX_MESSAGE_SIZE", "BYTES",
       "larger inbound mail is rejected too_large", "52428800",
       [](config& c, const std::string& v) { return set_number(c.max_message_size, v); }},
      {"--attachment-cap", "EXCONNECT_ATTACHMENT_CAP", "BYTES",
       "attachment content stored per ticket; beyond it attachments are listed only",
       "104857600",
       [](config& c, const std::string& v) {
         return set_number(c.tickets.attachment_bytes, v);
       }},
      {"--max-attachments", "EXCONNECT_MAX_ATTACHMENTS", "N",
       "attachments stored per inbound mail; the rest are listed only", "100",
       [](config& c, const std::string& v) {
         return set_number(c.tickets.attachments_per_mail, v);
       }},
      {"--ticket-max-comments", "EXCONNECT_TICKET_MAX_COMMENTS", "N",
       "comments per ticket; a mail beyond them opens a linked follow-up ticket", "500",
       [](config& c, const std::string& v) { return set_number(c.tickets.comments, v); }},
      {"--ticket-max-bytes", "EXCONNECT_TICKET_MAX_BYTES", "BYTES",
       "size of a stored ticket (attachments aside); a mail beyond it opens a linked "
       "follow-up ticket",
       "16777216",
       [](config& c, const std::string& v) { return set_number(c.tickets.bytes, v); }},
      {"--comment-max-body", "EXCONNECT_COMMENT_MAX_BODY", "BYTES",
       "a comment's text body is cut, and its HTML body left out, beyond this", "1048576",
       [](config& c, const std::string& v) {
         return set_number(c.tickets.body_bytes, v);
       }},
      {"--tls-cert", "EXCONNECT_TLS_CERT", "FILE",
       "serve the API over HTTPS (with --tls-key)", "plain HTTP",
       [](config& c, const std::string& v) { return set_string(c.tls_cert_file, v); }},
      {"--tls-key", "EXCONNECT_TLS_KEY", "FILE", "the TLS private key", "none",
       [](config& c, const std::string& v) { return set_string(c.tls_key_file, v); }},
      {"--http-max-connections", "EXCONNECT_HTTP_MAX_CONNECTIONS", "N",
       "API connections open at once; one more is answered 503 and closed", "1024",
       [](config& c, const std::string& v) {
         return set_number(c.http_max_connections, v);
       }},
      {"--http-idle-timeout", "EXCONNECT_HTTP_IDLE_TIMEOUT", "SECONDS",
       "an API connection whose next request has not arrived by then is closed "
       "(likewise one whose headers or body take longer)",
       "30",
       [](config& c, const std::string& v) {
         return set_seconds(c.http_idle_timeout, v, 3600);
       }},
  };
  return table;
}

caf::error invalid(const std::string& what) {
  return exc::make_error(exc::ec::invalid_argument, what);
}

/// Checks that hold across options.
caf::error validate(const config& c) {
  for (auto [flag, url] :
       {std::pair{"--graph-url", &c.graph_url}, {"--login-url", &c.login_url}}) {
    auto u = net::parse_url(*url);
    if (!u || u->scheme != "https")
      return invalid(std::string{flag} +
                     " expects an https:// URL (every call to Microsoft "
                     "is verified HTTPS), got '" +
                     *url + "'");
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty())
    return invalid("--tls-cert and --tls-key go together");
  return {};
}

} // namespace

std::string config::master_key_path() const {
  return master_key_file.empty() ? data_dir + "/master.key" : master_key_file;
}

std::string config::admin_token_path() const {
  return admin_token_file.empty() ? data_dir + "/admin.token" : admin_token_file;
}

std::string usage() {
  std::string out =
      "usage: exconnectd [options]\n\n"
      "Connects Microsoft 365 mailboxes to a helpdesk through Microsoft Graph.\n"
      "Every option may also be given as the environment variable shown;\n"
      "the command line wins.\n\n";
  for (const auto& o : options()) {
    std::string head = std::string{"  "} + o.flag + " " + o.arg;
    out += head + "\n      " + o.help + "\n      env " + o.env +
           "; default: " + o.default_text + "\n";
  }
  out += "  --help\n      this text\n"
         "\nAlso: EXCONNECT_CLIENT_SECRET, EXCONNECT_MASTER_KEY, EXCONNECT_ADMIN_TOKEN "
         "carry the\n"
         "secret itself instead of a file. SIGTERM/SIGINT stop the daemon cleanly.\n";
  return out;
}

caf::expected<config> parse_config(const std::vector<std::string>& args,
                                   const std::map<std::string, std::string>& env) {
  config c;
  for (const auto& o : options()) {
    auto i = env.find(o.env);
    if (i == env.end()) continue;
    auto problem = o.set(c, i->second);
    if (!problem.empty()) return invalid(std::string{o.env} + " " + problem);
  }
  auto secret = [&](const char* name, std::string& out) {
    auto i = env.find(name);
    if (i != env.end()) out = i->second;
  };
  secret("EXCONNECT_CLIENT_SECRET", c.client_secret);
  secret("EXCONNECT_MASTER_KEY", c.master_key_hex);
  secret("EXCONNECT_ADMIN_TOKEN", c.admin_token);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      c.help = true;
      continue;
    }
    auto name = arg.substr(0, arg.find('='));
    const option* match = nullptr;
    for (const auto& o : options())
      if (name == o.flag) match = &o;
    if (!match) return invalid("unknown option '" + arg + "' (see --help)");
    std::string value;
    if (name.size() < arg.size()) {
      value = arg.substr(name.size() + 1);
    } else {
      if (i + 1 >= args.size()) return invalid(name + " needs a value (see --help)");
      value = args[++i];
    }
    auto problem = match->set(c, value);
    if (!problem.empty()) return invalid(name + " " + problem);
    // The command line wins: a secret file named here beats a secret value in the env.
    if (name == "--client-secret-file") c.client_secret.clear();
    if (name == "--master-key-file") c.master_key_hex.clear();
    if (name == "--admin-token-file") c.admin_token.clear();
  }
  if (c.help) return c;
  if (auto err = validate(c)) return err;
  return c;
}

std::map<std::string, std::string> exconnect_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string entry{*e};
    if (entry.rfind("EXCONNECT_", 0) != 0) continue;
    auto eq = entry.find('=');
    if (eq != std::string::npos) out[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return out;
}

} // namespace app

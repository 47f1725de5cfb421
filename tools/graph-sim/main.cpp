// graph-sim: a strict stand-in for Microsoft's login service and Graph mail API.
#include "simulator.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

namespace {

constexpr const char* usage = R"(usage: graph-sim [options]

A strict stand-in for Microsoft's identity platform and the Graph v1.0 mail API,
with a control API under /_sim/ for tests. See docs/graph-sim.md.

  --listen ADDR            address to listen on (default 127.0.0.1)
  --port N                 port; 0 picks a free one (default 0)
  --port-file FILE         write the bound port there once listening
  --tls-cert FILE          PEM certificate chain (serve HTTPS; with --tls-key)
  --tls-key FILE           PEM private key
  --threads N              I/O threads (default 1)
  --token-ttl SECONDS      access token lifetime (default 3599)
  --code-ttl SECONDS       authorization code lifetime (default 600)
  --strict-rotation        refuse a refresh token once a newer one was issued
  --concurrency N          concurrent requests per (app, mailbox) (default 4)
  --request-rate N/SECONDS requests per (app, mailbox) (default 10000/600)
  --app-rate N/SECONDS     requests per app across all tenants (default 130000/10)
  --fetch-rate N/SECONDS   distinct messages downloaded per mailbox before a
                           download counts as a violation (default 25/60)
  --send-rate N/SECONDS    mails sent per mailbox (default 10/60)
  --send-bytes B/SECONDS   MIME bytes sent per mailbox (default 52428800/300)
  --send-recipients N/SECONDS  distinct recipients per mailbox (default 10000/86400)
  --sent-items-delay SECONDS   sendMail's Sent Items copy appears this much later
                           (decimal; default 0)
  --strip-auto-submitted   drop the Auto-Submitted header from sent MIME, as
                           Exchange may
  --body-limit BYTES       largest request body (default 62914560 = 60 MiB)
  --tenant-id GUID         the directory's tenant id
  --subscription-max-minutes N  longest lifetime of a mail subscription (default 4230)
  --notify-ca-file FILE    extra CA trusted for https notification endpoints
  --help                   this text
)";

[[noreturn]] void die(const std::string& message) {
  std::cerr << "graph-sim: " << message << "\n";
  std::exit(2);
}

std::uint64_t to_number(const std::string& option, const std::string& text) {
  char* end = nullptr;
  auto value = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0')
    die(option + " expects a whole number, got '" + text + "'");
  return value;
}

double to_seconds(const std::string& option, const std::string& text) {
  char* end = nullptr;
  auto value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(value >= 0) || value > 1e9)
    die(option + " expects a non-negative number of seconds, got '" + text + "'");
  return value;
}

} // namespace

int main(int argc, char** argv) {
  graph_sim::settings settings;
  net::server_options server;
  server.body_limit = 60ull * 1024 * 1024;
  server.read_timeout = std::chrono::seconds(60);
  std::string port_file;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    }
    if (arg == "--strict-rotation") {
      settings.strict_rotation = true;
      continue;
    }
    if (arg == "--strip-auto-submitted") {
      settings.send.strip_auto_submitted = true;
      continue;
    }
    if (i + 1 >= argc) die("option " + arg + " needs a value (see --help)");
    std::string value = argv[++i];
    auto rate = [&](graph_sim::rate& out) {
      auto parsed = exc::parse_rate_limit(value);
      if (!parsed) die(arg + " expects N/SECONDS, got '" + value + "'");
      out = *parsed;
    };
    if (arg == "--listen")
      server.address = value;
    else if (arg == "--port") {
      auto port = to_number(arg, value);
      if (port > 65535) die("--port must be at most 65535");
      server.port = static_cast<std::uint16_t>(port);
    } else if (arg == "--port-file")
      port_file = value;
    else if (arg == "--tls-cert")
      server.tls_cert_file = value;
    else if (arg == "--tls-key")
      server.tls_key_file = value;
    else if (arg == "--threads")
      server.threads = to_number(arg, value);
    else if (arg == "--token-ttl")
      settings.token_ttl = std::chrono::seconds(to_number(arg, value));
    else if (arg == "--code-ttl")
      settings.code_ttl = std::chrono::seconds(to_number(arg, value));
    else if (arg == "--concurrency")
      settings.mailbox_concurrency = static_cast<unsigned>(to_number(arg, value));
    else if (arg == "--request-rate")
      rate(settings.request_rate);
    else if (arg == "--app-rate")
      rate(settings.app_rate);
    else if (arg == "--fetch-rate")
      rate(settings.fetch_rate);
    else if (arg == "--send-rate")
      rate(settings.send_rate);
    else if (arg == "--send-bytes")
      rate(settings.send_bytes);
    else if (arg == "--send-recipients")
      rate(settings.send_recipients);
    else if (arg == "--sent-items-delay")
      settings.send.sent_items_delay =
          std::chrono::duration<double>(to_seconds(arg, value));
    else if (arg == "--body-limit")
      server.body_limit = to_number(arg, value);
    else if (arg == "--tenant-id")
      settings.tenant_id = value;
    else if (arg == "--subscription-max-minutes")
      settings.subscription_max = std::chrono::minutes(to_number(arg, value));
    else if (arg == "--notify-ca-file")
      settings.notify_ca_file = value;
    else
      die("unknown option " + arg + " (see --help)");
  }
  if (server.tls_cert_file.empty() != server.tls_key_file.empty())
    die("--tls-cert and --tls-key go together");
  settings.scheme = server.tls_cert_file.empty() ? "http" : "https";

  // Block the stop signals before any thread starts, then wait for them here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  graph_sim::simulator sim{settings};
  server.on_error = [&sim](unsigned status, const std::string& message) {
    return sim.transport_error(status, message);
  };
  try {
    net::http_server http{server, [&sim](net::request&& req, net::responder_ptr out) {
                            sim.handle(std::move(req), std::move(out));
                          }};
    sim.attach(http.io());
    http.start();
    if (!port_file.empty() && !net::write_port_file(port_file, http.port()))
      die("cannot write " + port_file);
    std::cerr << "graph-sim: listening on " << settings.scheme << "://" << server.address
              << ":" << http.port() << "\n";
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::cerr << "graph-sim: stopping on signal " << sig << "\n";
    sim.stop(); // no notification goes out while the server stops
    http.stop();
  } catch (const std::exception& e) {
    die(e.what());
  }
  return 0;
}

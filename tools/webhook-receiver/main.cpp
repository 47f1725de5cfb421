// webhook-receiver: a minimal receiver of exconnectd's webhook events, showing what a
// helpdesk does with them (docs/webhooks.md):
//   1. check X-Exconnect-Signature (HMAC-SHA256 of the body with the shared secret)
//      before anything else, and refuse what does not verify (401);
//   2. drop repeats by X-Exconnect-Event-Id: delivery is at least once, so the same
//      event may come again after a crash or a lost answer (answer 2xx again);
//   3. take the event (here: append it to a file, one JSON object per line, in the
//      order taken), then answer 2xx.
// For tests it can fail a share of the calls (answer 500): half of those before taking
// the event, half after (as if the answer were lost), so repeats really happen.
#include "net/http_server.hpp"
#include "net/webhook_signature.hpp"

#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <unordered_set>

namespace {

const char* const usage =
    R"(usage: webhook-receiver --secret SECRET [options]
  --secret SECRET        the webhook's secret (or EXCONNECT_WEBHOOK_SECRET)
  --listen ADDRESS       address to listen on (default 127.0.0.1)
  --port N               port (default 0: any free one)
  --port-file FILE       write the bound port there once listening
  --events FILE          append each new event there as one JSON line (default: stdout);
                         ids already in it count as seen
  --fail-percent P       answer 500 to P % of the calls (default 0)
  --seed N               seed of those failures
GET /stats answers {"taken","repeats","bad_signatures","failed"}.
)";

[[noreturn]] void die(const std::string& message) {
  std::cerr << "webhook-receiver: " << message << "\n";
  std::exit(2);
}

net::response answer(const net::request& req, unsigned status, const std::string& body) {
  net::response res{static_cast<boost::beast::http::status>(status), req.version()};
  res.set(boost::beast::http::field::content_type, "application/json");
  res.body() = body;
  res.prepare_payload();
  return res;
}

struct receiver {
  std::string secret;
  std::string events_file;
  unsigned fail_percent = 0;
  std::mt19937 rng;
  std::mutex mutex;
  std::unordered_set<std::string> seen;
  std::uint64_t taken = 0, repeats = 0, bad_signatures = 0, failed = 0;

  /// Appends the event to the file (or stdout) at once: taken means written.
  void take(const std::string& body) {
    auto line = nlohmann::json::parse(body, nullptr, false).dump() + "\n";
    if (events_file.empty()) {
      std::cout << line << std::flush;
      return;
    }
    std::ofstream out{events_file, std::ios::app};
    out << line << std::flush;
  }

  net::response handle(const net::request& req) {
    std::lock_guard<std::mutex> lock{mutex};
    if (req.method() == boost::beast::http::verb::get && req.target() == "/stats")
      return answer(req, 200,
                    nlohmann::json{{"taken", taken},
                                   {"repeats", repeats},
                                   {"bad_signatures", bad_signatures},
                                   {"failed", failed}}
                        .dump());
    if (req.method() != boost::beast::http::verb::post)
      return answer(req, 405, R"({"error":"POST only"})");
    // 1. The signature, before anything in the body is believed.
    auto signature = std::string{req["X-Exconnect-Signature"]};
    if (!net::webhook_signature_matches(secret, req.body(), signature)) {
      ++bad_signatures;
      return answer(req, 401, R"({"error":"the signature does not verify"})");
    }
    auto id = std::string{req["X-Exconnect-Event-Id"]};
    auto body = nlohmann::json::parse(req.body(), nullptr, false);
    if (id.empty() || !body.is_object() || body.value("id", "") != id)
      return answer(req, 400, R"({"error":"no event id, or not the body's"})");
    bool fail = fail_percent > 0 && rng() % 100 < fail_percent;
    bool fail_after = fail && rng() % 2 == 0;
    if (fail && !fail_after) {
      ++failed;
      return answer(req, 500, R"({"error":"failing on purpose"})");
    }
    // 2. A repeat: taken before, so only acknowledged.
    if (!seen.insert(id).second) {
      ++repeats;
    } else {
      // 3. Taken.
      take(req.body());
      ++taken;
    }
    if (fail_after) {
      ++failed;
      return answer(req, 500, R"({"error":"failing on purpose, after taking it"})");
    }
    return answer(req, 200, R"({"ok":true})");
  }
};

} // namespace

int main(int argc, char** argv) {
  net::server_options server;
  std::string port_file;
  receiver r;
  if (const char* env = std::getenv("EXCONNECT_WEBHOOK_SECRET")) r.secret = env;
  unsigned seed = std::random_device{}();
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    }
    if (i + 1 >= argc) die("option " + arg + " needs a value (see --help)");
    std::string value = argv[++i];
    auto number = [&](unsigned max) {
      char* end = nullptr;
      auto n = std::strtoul(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || n > max)
        die(arg + " expects a number up to " + std::to_string(max));
      return static_cast<unsigned>(n);
    };
    if (arg == "--secret")
      r.secret = value;
    else if (arg == "--listen")
      server.address = value;
    else if (arg == "--port")
      server.port = static_cast<std::uint16_t>(number(65535));
    else if (arg == "--port-file")
      port_file = value;
    else if (arg == "--events")
      r.events_file = value;
    else if (arg == "--fail-percent")
      r.fail_percent = number(100);
    else if (arg == "--seed")
      seed = number(~0u);
    else
      die("unknown option " + arg + " (see --help)");
  }
  if (r.secret.empty()) die("--secret is required (see --help)");
  r.rng.seed(seed);
  if (!r.events_file.empty()) { // what an earlier run took is seen
    std::ifstream in{r.events_file};
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object()) r.seen.insert(j.value("id", ""));
    }
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  try {
    net::http_server http{server, [&r](net::request&& req, net::responder_ptr out) {
                            out->send(r.handle(req));
                          }};
    http.start();
    if (!port_file.empty() && !net::write_port_file(port_file, http.port()))
      die("cannot write " + port_file);
    std::cerr << "webhook-receiver: listening on http://" << server.address << ":"
              << http.port() << "\n";
    int sig = 0;
    sigwait(&stop_signals, &sig);
    http.stop();
  } catch (const std::exception& e) {
    die(e.what());
  }
  return 0;
}

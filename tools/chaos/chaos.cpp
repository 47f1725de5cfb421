// The chaos run (issue 12): graph-sim and exconnectd as real processes, mixed load
// (mail arriving in several mailboxes, agents replying), graph-sim's faults on (5 % 5xx
// with and without Retry-After, 1 % dropped connections, latency jitter, access tokens
// expiring mid-run), and exconnectd SIGKILLed at random moments N times and started
// again on the same data directory. Then the faults stop, the run waits until
// everything is processed, and checks:
//   - every delivered mail is exactly one ticket or comment, or one rejection;
//   - every delivered mail carries the processed label in Exchange;
//   - every queued email was sent exactly once (graph-sim's sent log, by Message-ID);
//   - graph-sim counted no limit violation (fetch rate, concurrency, request rate,
//     send limits);
//   - the account's webhook receiver (tools/webhook-receiver, failing 20 % of the calls,
//     half of those after taking the event) took, after dropping repeats by event id,
//     exactly one event per ticket, comment, rejection and sent email, each ticket's
//     events in the order they happened, and no call failed its signature check.
// Prints the counts; exits 1 on any miss, 2 on bad usage.
//
// --isolation instead measures the healthy mailboxes' arrival-to-ticket latency in a
// clean run and beside a mailbox with a revoked grant, one whose every PATCH fails, one
// whose every request fails and one with a mail that always fails conversion, and fails
// if the p99 is more than 10 % worse or that mail is not quarantined.
//
// Usage: chaos [--isolation] [--kills N] [--mailboxes M] [--mails-per-round K]
//              [--seed S]
#include "api_client.hpp"
#include "child_process.hpp"
#include "graph_sim_process.hpp"
#include "hostile_mail.hpp"
#include "temp_dir.hpp"
#include "test_ca.hpp"

#include "net/time_format.hpp"
#include "net/url.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct options {
  int kills = 10;
  int mailboxes = 6;
  int mails_per_round = 10;
  int replies_per_round = 2;
  unsigned seed = std::random_device{}();
};

std::string read_line(const std::string& path) {
  std::ifstream in{path};
  std::string s;
  std::getline(in, s);
  return s;
}

/// exconnectd as a child process on the run's data directory, started again after
/// each kill.
class daemon_process {
public:
  daemon_process(const test::temp_dir& dir, const test::test_ca& ca,
                 const graph_sim::sim_client& sim, const std::string& client_id)
      : dir_(dir), ca_(ca), sim_(sim), client_id_(client_id) {}

  void start() {
    started_at_.push_back(net::format_rfc3339(std::chrono::system_clock::now()));
    auto name = "exconnectd-" + std::to_string(++starts_);
    std::vector<std::string> args{
        "--data-dir", dir_.file("data"), "--listen", "127.0.0.1:0", "--port-file",
        dir_.file(name + ".port"), "--graph-url", sim_.base() + "/v1.0", "--login-url",
        sim_.base(), "--ca-file", ca_.ca_file, "--client-id", client_id_,
        "--client-secret-file", dir_.file("client.secret"), "--poll-interval", "1",
        "--retry-initial", "1", "--sent-items-grace", "2",
        // Ordinary mail converts in milliseconds; the isolation run's 40 MB of
        // hostile HTML takes about a second and runs into this.
        "--conversion-timeout", "0.2"};
    process_ = std::make_unique<test::child_process>(EXC_EXCONNECTD_PATH, args,
                                                     dir_.file(name + ".log"));
    port_ = process_->wait_for_port(dir_.file(name + ".port"));
    admin_token_ = read_line(dir_.file("data") + "/admin.token");
  }

  /// SIGKILL: no chance to finish anything.
  void kill() { process_->stop(SIGKILL); }

  /// SIGTERM; the exit status.
  int stop() { return process_->stop(SIGTERM, 5s); }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& admin_token() const { return admin_token_; }
  int starts() const { return starts_; }
  std::uint16_t port() const { return port_; }
  /// When each start began (RFC 3339), for a post-mortem.
  const std::vector<std::string>& started_at() const { return started_at_; }

private:
  const test::temp_dir& dir_;
  const test::test_ca& ca_;
  const graph_sim::sim_client& sim_;
  std::string client_id_;
  std::unique_ptr<test::child_process> process_;
  std::uint16_t port_ = 0;
  std::string admin_token_;
  int starts_ = 0;
  std::vector<std::string> started_at_;
};

std::string customer_mail(const std::string& to, const std::string& message_id, int n) {
  return "From: Customer " + std::to_string(n) + " <customer" + std::to_string(n % 7) +
         "@fabrikam.example>\r\nTo: Support <" + to + ">\r\nSubject: Request " +
         message_id + "\r\nDate: Wed, 02 Dec 2026 09:00:00 +0000\r\nMessage-ID: <" +
         message_id +
         ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
         "Hello, please help with request " +
         message_id + ".\r\n";
}

/// One REST call to exconnectd; transport errors and non-2xx come back as nullopt.
std::optional<json> rest(net::http_client& http, const std::string& base,
                         const std::string& method, const std::string& path,
                         const std::string& token, const json& body = nullptr,
                         net::header_list extra = {}) {
  net::client_request req;
  req.method = method;
  req.url = base + "/api/v1" + path;
  req.headers = {{"Authorization", "Bearer " + token}};
  if (!body.is_null()) {
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = body.dump();
  }
  for (auto& h : extra)
    req.headers.push_back(std::move(h));
  req.timeout = 10s;
  auto res = http.request(std::move(req));
  if (!res.ok() || res.status < 200 || res.status >= 300) return std::nullopt;
  return res.body.empty() ? json{} : json::parse(res.body, nullptr, false);
}

/// Every page of a cursor listing (`items` under `key`).
std::optional<std::vector<json>> all_pages(net::http_client& http,
                                           const std::string& base,
                                           const std::string& path, const char* key,
                                           const std::string& token) {
  std::vector<json> out;
  std::string after;
  for (int page = 0; page < 10'000; ++page) {
    auto sep = path.find('?') == std::string::npos ? "?" : "&";
    auto got =
        rest(http, base, "GET",
             path + sep + "limit=100" + (after.empty() ? "" : "&after=" + after), token);
    if (!got || !got->is_object()) return std::nullopt;
    for (auto& x : (*got)[key])
      out.push_back(std::move(x));
    if (!got->contains("next") || (*got)["next"].is_null()) return out;
    after = (*got)["next"].get<std::string>();
  }
  return out;
}

/// The account's webhook receiver (tools/webhook-receiver) as a child process: it
/// checks each event's signature, drops repeats and writes what it took to a file.
struct webhook_receiver {
  std::string secret = "chaos-webhook-secret-0123456789";
  std::string events_file;
  std::unique_ptr<test::child_process> process;
  std::uint16_t port = 0;

  webhook_receiver(const test::temp_dir& dir, unsigned seed, int fail_percent)
      : events_file{dir.file("webhook-events.jsonl")} {
    process = std::make_unique<test::child_process>(
        EXC_WEBHOOK_RECEIVER_PATH,
        std::vector<std::string>{"--secret", secret, "--port-file",
                                 dir.file("receiver.port"), "--events", events_file,
                                 "--fail-percent", std::to_string(fail_percent), "--seed",
                                 std::to_string(seed)},
        dir.file("receiver.log"));
    port = process->wait_for_port(dir.file("receiver.port"));
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port) + "/exconnect-events";
  }

  json stats(net::http_client& http) const {
    net::client_request req;
    req.url = "http://127.0.0.1:" + std::to_string(port) + "/stats";
    auto res = http.request(std::move(req));
    return res.ok() ? json::parse(res.body, nullptr, false) : json{};
  }

  /// The events taken, in the order taken.
  std::vector<json> taken() const {
    std::vector<json> out;
    std::ifstream in{events_file};
    for (std::string line; std::getline(in, line);)
      out.push_back(json::parse(line, nullptr, false));
    return out;
  }
};

/// What the webhook events should say: one per ticket, comment after a ticket's
/// first, rejection and sent email, and each ticket's in order. Returns the misses.
std::vector<std::string> check_webhook_events(const std::vector<json>& events,
                                              const std::vector<json>& tickets,
                                              const std::vector<json>& rejections,
                                              const std::vector<json>& emails) {
  std::vector<std::string> misses;
  std::map<std::string, int> expected; // "type object-id" -> 0, counted up as seen
  for (const auto& t : tickets) {
    expected["ticket.created " + t["id"].get<std::string>()] = 0;
    for (std::size_t i = 1; i < t["comments"].size(); ++i)
      expected["comment.added " + t["comments"][i]["id"].get<std::string>()] = 0;
  }
  for (const auto& r : rejections)
    expected["rejection.created " + r["id"].get<std::string>()] = 0;
  for (const auto& e : emails)
    if (e["state"] == "sent" || e["state"] == "failed")
      expected["email." + e["state"].get<std::string>() + " " +
               e["email_id"].get<std::string>()] = 0;
  std::map<std::string, std::string> last_of_ticket; // ticket -> its last event id
  std::set<std::string> ids;
  for (const auto& e : events) {
    if (!e.is_object() || !e["data"].is_object()) {
      misses.push_back("an event is not a JSON object with data: " + e.dump());
      continue;
    }
    auto type = e.value("type", "");
    auto id = e.value("id", "");
    if (!ids.insert(id).second) misses.push_back("event " + id + " was taken twice");
    const auto& d = e["data"];
    std::string object, ticket;
    if (type == "ticket.created") object = ticket = d.value("id", "");
    if (type == "comment.added") {
      object = d.value("comment", json::object()).value("id", "");
      ticket = d.value("ticket_id", "");
    }
    if (type == "rejection.created") object = d.value("id", "");
    if (type == "email.sent" || type == "email.failed") {
      object = d.value("email_id", "");
      if (auto t = d.find("ticket_id"); t != d.end() && t->is_string())
        ticket = t->get<std::string>();
    }
    if (type == "mailbox.status_changed") continue; // checked by the mailbox views
    auto key = type + " " + object;
    auto found = expected.find(key);
    if (found == expected.end())
      misses.push_back("webhook event " + id + " is about nothing stored: " + key);
    else if (++found->second > 1)
      misses.push_back("a second webhook event for " + key + ": " + id);
    if (ticket.empty()) continue;
    auto& last = last_of_ticket[ticket];
    if (last.empty() && type != "ticket.created")
      misses.push_back("ticket " + ticket + "'s first event is " + type);
    if (!last.empty() && id < last)
      misses.push_back("ticket " + ticket + ": event " + id + " came after " + last);
    last = id;
  }
  for (const auto& [key, count] : expected)
    if (count == 0) misses.push_back("no webhook event for " + key);
  return misses;
}

/// The run's bookkeeping: what was delivered and queued, to be checked at the end.
struct ledger {
  std::map<std::string, std::string> delivered; ///< Message-ID -> mailbox address
  std::map<std::string, std::string> queued;    ///< email id -> mailbox address
  /// Comments whose answer was lost in a kill: Idempotency-Key -> (ticket id, body).
  std::map<std::string, std::pair<std::string, std::string>> unanswered;
};

/// graph-sim with the app, exconnectd, and an account with connected mailboxes.
struct stack {
  test::temp_dir dir;
  test::test_ca ca = test::test_ca::create(dir.path());
  test::graph_sim_process sim{dir, ca};
  graph_sim::sim_client::app app = sim.register_app();
  daemon_process daemon{dir, ca, sim, app.client_id};
  net::http_client http;
  std::string key; ///< the account's API key
  std::vector<std::string> addresses;

  stack() {
    {
      std::ofstream out{dir.file("client.secret")};
      out << app.client_secret << "\n";
    }
    std::filesystem::permissions(dir.file("client.secret"),
                                 std::filesystem::perms::owner_read |
                                     std::filesystem::perms::owner_write);
    daemon.start();
    api_client api{daemon.url(), http};
    key = api.call("POST", "/accounts", daemon.admin_token(), {{"name", "Chaos"}},
                   201)["api_key"];
  }

  /// Connects `n` more mailboxes named `<prefix><i>@contoso.example`.
  std::vector<std::string> connect(int n, const std::string& prefix) {
    api_client api{daemon.url(), http};
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
      auto address = prefix + std::to_string(i) + "@contoso.example";
      sim.create_mailbox(address);
      api.connect(sim, key, address);
      out.push_back(address);
      addresses.push_back(address);
    }
    return out;
  }

  /// The last exconnectd's log, for the post-mortem.
  std::string last_log() const {
    std::ifstream log{dir.file("exconnectd-" + std::to_string(daemon.starts()) + ".log")};
    std::ostringstream out;
    out << log.rdbuf();
    return out.str();
  }
};

int run_chaos(const options& opt) {
  std::mt19937 rng{opt.seed};
  std::cout << "chaos: seed " << opt.seed << ", " << opt.kills << " kills, "
            << opt.mailboxes << " mailboxes\n";
  stack st;
  auto& sim = st.sim;
  auto& daemon = st.daemon;
  auto& http = st.http;
  const auto& key = st.key;
  webhook_receiver receiver{st.dir, opt.seed, 20};
  api_client{daemon.url(), http}.call(
      "PATCH", "/account", key,
      {{"webhook", {{"url", receiver.url()}, {"secret", receiver.secret}}}});
  auto addresses = st.connect(opt.mailboxes, "chaos");

  ledger book;
  int comment_no = 0;
  auto comment = [&](const std::string& idem, const std::string& ticket,
                     const std::string& text) {
    auto out = rest(http, daemon.url(), "POST", "/tickets/" + ticket + "/comments", key,
                    {{"body", text}, {"public", true}}, {{"Idempotency-Key", idem}});
    if (!out || !out->is_object() || !(*out)["email_id"].is_string()) return false;
    book.queued[(*out)["email_id"].get<std::string>()] = idem;
    return true;
  };
  for (int round = 1; round <= opt.kills; ++round) {
    // Faults, a different mix each round.
    sim.control("PUT", "/faults",
                {{"seed", opt.seed + static_cast<unsigned>(round)},
                 {"error_rate", 0.05},
                 {"error_statuses", {500, 503}},
                 {"retry_after", round % 2 ? "integer" : "missing"},
                 {"retry_after_seconds", 1},
                 {"drop_rate", 0.01},
                 {"latency_ms", {{"min", 0}, {"max", 40}}}});
    if (round % 3 == 0) sim.control("POST", "/tokens/expire");
    for (int i = 0; i < opt.mails_per_round; ++i) {
      auto to = addresses[rng() % addresses.size()];
      auto id = "chaos-" + std::to_string(round) + "-" + std::to_string(i) +
                "@fabrikam.example";
      sim.deliver(to, customer_mail(to, id, i));
      book.delivered[id] = to;
    }
    // Agents answer tickets that exist by now; an answer lost in a kill is asked again
    // after the restart, with the same Idempotency-Key.
    for (auto it = book.unanswered.begin(); it != book.unanswered.end();)
      it = comment(it->first, it->second.first, it->second.second)
               ? book.unanswered.erase(it)
               : std::next(it);
    if (auto tickets = rest(http, daemon.url(), "GET", "/tickets?limit=100", key);
        tickets && tickets->is_object() && !(*tickets)["tickets"].empty()) {
      const auto& list = (*tickets)["tickets"];
      for (int j = 0; j < opt.replies_per_round; ++j) {
        auto ticket = list[rng() % list.size()]["id"].get<std::string>();
        auto idem = "chaos-reply-" + std::to_string(++comment_no);
        auto text = "We are on it (" + idem + ").";
        if (!comment(idem, ticket, text)) book.unanswered[idem] = {ticket, text};
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{200 + rng() % 1300});
    daemon.kill();
    daemon.start();
  }
  for (int tries = 0; !book.unanswered.empty() && tries < 100; ++tries) {
    for (auto it = book.unanswered.begin(); it != book.unanswered.end();)
      it = comment(it->first, it->second.first, it->second.second)
               ? book.unanswered.erase(it)
               : std::next(it);
    if (!book.unanswered.empty()) std::this_thread::sleep_for(200ms);
  }
  sim.control("DELETE", "/faults");

  // Everything processed: every delivered mail labelled, every queued email done.
  auto labelled = [&](const std::string& label) {
    std::size_t n = 0;
    for (const auto& address : addresses) {
      auto messages =
          sim.control("GET", "/mailboxes/" + net::percent_encode(address) + "/messages");
      for (const auto& m : messages["messages"]) {
        bool has = false;
        for (const auto& c : m.value("categories", json::array()))
          has = has || c == label;
        if (has && m.value("folder", std::string{"inbox"}) == "inbox") ++n;
      }
    }
    return n;
  };
  auto outbox_done = [&]() -> std::optional<std::vector<json>> {
    auto emails = all_pages(http, daemon.url(), "/outbox", "emails", key);
    if (!emails) return std::nullopt;
    for (const auto& e : *emails)
      if (e["state"] == "queued" || e["state"] == "sending") return std::nullopt;
    return emails;
  };
  // Exchange's limits pace the drain (25 downloads and 10 sends per minute and
  // mailbox): allow for them, and three minutes more.
  auto per_mailbox =
      (book.delivered.size() / 25 + book.queued.size() / 10) / addresses.size() + 1;
  auto deadline = std::chrono::steady_clock::now() + 180s + per_mailbox * 60s;
  std::optional<std::vector<json>> emails;
  while (std::chrono::steady_clock::now() < deadline) {
    emails = outbox_done();
    if (emails && labelled("Zendesk") >= book.delivered.size()) break;
    std::this_thread::sleep_for(500ms);
  }

  // The checks.
  int misses = 0;
  auto miss = [&](const std::string& what) {
    ++misses;
    if (misses <= 20) std::cout << "  MISS " << what << "\n";
  };
  std::map<std::string, int> seen; // Message-ID -> tickets/comments/rejections
  auto tickets = all_pages(http, daemon.url(), "/tickets", "tickets", key);
  if (!tickets) miss("cannot list the tickets");
  std::size_t ticket_count = tickets ? tickets->size() : 0, comments = 0;
  for (const auto& t : tickets.value_or(std::vector<json>{})) {
    auto full =
        rest(http, daemon.url(), "GET", "/tickets/" + t["id"].get<std::string>(), key);
    if (!full) {
      miss("cannot read ticket " + t["id"].get<std::string>());
      continue;
    }
    for (const auto& c : (*full)["comments"]) {
      auto id = c.value("internet_message_id", json(nullptr));
      if (c["author"].value("type", std::string{}) == "agent" || !id.is_string())
        continue;
      ++comments;
      ++seen[id.get<std::string>()];
    }
  }
  auto rejections = rest(http, daemon.url(), "GET", "/rejections", key);
  std::size_t rejected = 0;
  if (!rejections)
    miss("cannot list the rejections");
  else
    for (const auto& r : (*rejections)["rejections"]) {
      ++rejected;
      ++seen[r.value("internet_message_id", std::string{})];
    }
  for (const auto& [id, address] : book.delivered)
    if (seen[id] != 1)
      miss(id + " (" + address + ") is " + std::to_string(seen[id]) +
           " tickets/comments/rejections, not 1");
  auto labelled_count = labelled("Zendesk");
  if (labelled_count != book.delivered.size())
    miss(std::to_string(book.delivered.size() - labelled_count) +
         " delivered mails are not labelled");
  // Sent exactly once, by Message-ID in graph-sim's sent logs.
  std::map<std::string, int> sent_ids;
  std::size_t sent_total = 0;
  for (const auto& address : addresses)
    for (const auto& s : sim.sent(address)) {
      auto id = s.value("internet_message_id", std::string{}); // with angle brackets
      if (id.size() > 2 && id.front() == '<') id = id.substr(1, id.size() - 2);
      ++sent_ids[id];
      ++sent_total;
    }
  std::map<std::string, std::string> message_id_of;
  for (const auto& e : emails.value_or(std::vector<json>{}))
    message_id_of[e["email_id"]] = e.value("internet_message_id", std::string{});
  if (!emails) miss("the outbox did not drain in time");
  for (const auto& [email, idem] : book.queued) {
    auto mid = message_id_of[email];
    if (mid.empty())
      miss("email " + email + " (" + idem + ") is not in the outbox");
    else if (sent_ids[mid] != 1)
      miss("email " + email + " was sent " + std::to_string(sent_ids[mid]) +
           " times, not once");
  }
  auto stats = sim.control("GET", "/stats");
  auto violations = stats["fetch_rate"].value("violations", 0) +
                    stats["throttled"].value("concurrency", 0) +
                    stats["throttled"].value("request_rate", 0) +
                    stats["send"].value("throttled", 0);
  if (violations != 0) {
    std::string starts;
    for (const auto& at : daemon.started_at())
      starts += " " + at;
    miss(std::to_string(violations) + " limit violations: " + stats.dump() +
         "\n  exconnectd started at" + starts);
  }
  if (!book.unanswered.empty())
    miss(std::to_string(book.unanswered.size()) + " agent replies never got an answer");

  // The webhook's events: every one taken, after its retries (a 20 % failure rate
  // backs an event off for seconds at most).
  std::vector<json> full_tickets, all_rejections;
  for (const auto& t : tickets.value_or(std::vector<json>{}))
    if (auto full = rest(http, daemon.url(), "GET",
                         "/tickets/" + t["id"].get<std::string>(), key))
      full_tickets.push_back(*full);
  if (auto r = all_pages(http, daemon.url(), "/rejections", "rejections", key))
    all_rejections = *r;
  std::vector<std::string> webhook_misses;
  std::vector<json> events;
  for (auto until = std::chrono::steady_clock::now() + 120s;;
       std::this_thread::sleep_for(500ms)) {
    events = receiver.taken();
    webhook_misses = check_webhook_events(events, full_tickets, all_rejections,
                                          emails.value_or(std::vector<json>{}));
    if (webhook_misses.empty() || std::chrono::steady_clock::now() > until) break;
  }
  for (const auto& m : webhook_misses)
    miss(m);
  auto deliveries = rest(http, daemon.url(), "GET", "/webhook/deliveries", key);
  auto receiver_stats = receiver.stats(http);
  if (receiver_stats.value("bad_signatures", -1) != 0)
    miss("webhook calls whose signature did not verify: " + receiver_stats.dump());
  for (const auto& address : addresses) {
    bool connected = false;
    for (const auto& e : events)
      if (e.value("type", "") == "mailbox.status_changed" &&
          e["data"].value("address", "") == address)
        connected = e["data"].value("status", "") == "connected";
    if (!connected)
      miss("no mailbox.status_changed event ends with " + address + " connected");
  }
  int stopped = daemon.stop();
  if (stopped != 0) miss("exconnectd exited " + std::to_string(stopped) + " on SIGTERM");

  std::cout << "chaos: " << opt.kills << " SIGKILLs (" << daemon.starts()
            << " starts), faults: " << stats["faults"].dump() << "\n"
            << "  delivered " << book.delivered.size() << " mails: " << ticket_count
            << " tickets, " << comments << " mail comments, " << rejected
            << " rejections; labelled " << labelled_count << "\n"
            << "  queued " << book.queued.size() << " emails, graph-sim sent "
            << sent_total << "\n"
            << "  limit violations " << violations << "\n"
            << "  webhook: " << events.size() << " events taken, receiver "
            << receiver_stats.dump() << ", undelivered "
            << (deliveries ? (*deliveries)["deliveries"].size() : 0) << "\n"
            << (misses ? "chaos: FAILED, " + std::to_string(misses) + " misses"
                       : std::string{"chaos: ok"})
            << std::endl;
  if (misses) std::cout << "exconnectd's last log:\n" << st.last_log() << "\n";
  return misses ? 1 : 0;
}

/// Arrival-to-ticket latency in ms of `mails` mails delivered round-robin to `good`
/// (one every `gap`; every fourth delivery goes to one of `bad` as well), measured by
/// watching the ticket listing every 20 ms.
std::vector<double> arrival_to_ticket(stack& st, const std::vector<std::string>& good,
                                      const std::vector<std::string>& bad, int mails,
                                      std::chrono::milliseconds gap) {
  using clock = std::chrono::steady_clock;
  std::mutex m;
  std::map<std::string, clock::time_point> delivered, seen; // by subject
  std::atomic<bool> done{false};
  std::thread watcher{[&] {
    net::http_client http;
    std::string after;
    while (!done) {
      auto path =
          std::string{"/tickets?limit=100"} + (after.empty() ? "" : "&after=" + after);
      if (auto page = rest(http, st.daemon.url(), "GET", path, st.key);
          page && page->is_object()) {
        auto now = clock::now();
        std::lock_guard<std::mutex> lock{m};
        for (const auto& t : (*page)["tickets"]) {
          seen.emplace(t.value("subject", std::string{}), now);
          after = t["id"].get<std::string>();
        }
      }
      std::this_thread::sleep_for(20ms);
    }
  }};
  for (int i = 0; i < mails; ++i) {
    auto to = good[static_cast<std::size_t>(i) % good.size()];
    auto id = "iso-" + std::to_string(i) + "@fabrikam.example";
    st.sim.deliver(to, customer_mail(to, id, i));
    {
      std::lock_guard<std::mutex> lock{m};
      delivered["Request " + id] = clock::now();
    }
    if (!bad.empty() && i % 4 == 0) {
      auto b = bad[static_cast<std::size_t>(i / 4) % bad.size()];
      auto bid = "iso-bad-" + std::to_string(i) + "@fabrikam.example";
      st.sim.deliver(b, customer_mail(b, bid, i));
    }
    std::this_thread::sleep_for(gap);
  }
  auto deadline = clock::now() + 60s;
  while (clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock{m};
      bool all = true;
      for (const auto& [subject, at] : delivered)
        all = all && seen.count(subject) > 0;
      if (all) break;
    }
    std::this_thread::sleep_for(50ms);
  }
  done = true;
  watcher.join();
  std::vector<double> out;
  for (const auto& [subject, at] : delivered) {
    auto s = seen.find(subject);
    out.push_back(
        s == seen.end()
            ? 60'000.0 // never: counts as the whole wait
            : std::chrono::duration<double, std::milli>(s->second - at).count());
  }
  std::sort(out.begin(), out.end());
  return out;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1];
}

/// Issue 12's isolation measurement: the healthy mailboxes' arrival-to-ticket p99 in a
/// clean run, and in a run beside a mailbox whose grant is revoked, one whose every
/// PATCH fails, one whose every request fails and one with a mail whose conversion
/// always runs past its budget; prints both and fails beyond 10 %, or if that mail did
/// not end as a processing_failed rejection.
int run_isolation(const options& opt) {
  // Each healthy mailbox gets a mail every 3 s (20 a minute, within Exchange's 25
  // downloads a minute), for a minute.
  const int mails = opt.mailboxes * 20;
  const auto gap = std::chrono::milliseconds{3000 / opt.mailboxes};
  std::cout << "isolation: " << opt.mailboxes << " healthy mailboxes, " << mails
            << " mails, one every " << gap.count() << " ms, poll interval 1 s\n";
  std::vector<double> clean, beside;
  std::string hostile;                           ///< how the unconvertible mail ended
  std::size_t behind_done = 0, behind_total = 0; ///< the mail behind it: tickets, all
  {
    stack st;
    auto good = st.connect(opt.mailboxes, "good");
    clean = arrival_to_ticket(st, good, {}, mails, gap);
    st.daemon.stop();
  }
  {
    stack st;
    auto good = st.connect(opt.mailboxes, "good");
    auto revoked = st.connect(1, "revoked");
    auto patch_fails = st.connect(1, "patchfails");
    auto all_fail = st.connect(1, "allfail");
    auto unconvertible = st.connect(1, "unconvertible");
    const std::string hostile_id = "iso-hostile@fabrikam.example";
    st.sim.deliver(unconvertible[0],
                   test::slow_html_mime("Mallory <mallory@fabrikam.example>",
                                        unconvertible[0], hostile_id, 40 * 1024 * 1024));
    st.sim.control("POST", "/grants/revoke", {{"user", revoked[0]}});
    st.sim.control("POST", "/tokens/expire");
    st.sim.control("PUT", "/mailboxes/" + net::percent_encode(patch_fails[0]) + "/faults",
                   {{"rules", {{{"method", "PATCH"}, {"status", 500}}}}});
    st.sim.control("PUT", "/mailboxes/" + net::percent_encode(all_fail[0]) + "/faults",
                   {{"rules", {{{"method", "*"}, {"status", 500}}}}});
    std::vector<std::string> bad{revoked[0], patch_fails[0], all_fail[0],
                                 unconvertible[0]};
    beside = arrival_to_ticket(st, good, bad, mails, gap);
    // The ordinary mail delivered behind the unconvertible one (as arrival_to_ticket
    // spreads it) and that mail's end, waited for at most 30 s more: its five tries
    // (a second of conversion each, --retry-initial 1 doubling) take about 20 s.
    std::set<std::string> behind;
    for (int i = 0; i < mails; i += 4)
      if (bad[static_cast<std::size_t>(i / 4) % bad.size()] == unconvertible[0])
        behind.insert("Request iso-bad-" + std::to_string(i) + "@fabrikam.example");
    for (auto until = std::chrono::steady_clock::now() + 30s;
         std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(200ms)) {
      auto rejections = rest(st.http, st.daemon.url(), "GET", "/rejections", st.key);
      if (rejections && rejections->is_object())
        for (const auto& r : (*rejections)["rejections"])
          if (r.value("internet_message_id", "") == hostile_id)
            hostile = r.value("reason", "") + ": " + r.value("detail", "");
      behind_done = 0;
      if (auto tickets =
              all_pages(st.http, st.daemon.url(), "/tickets", "tickets", st.key))
        for (const auto& t : *tickets)
          behind_done += behind.count(t.value("subject", std::string{}));
      behind_total = behind.size();
      if (!hostile.empty() && behind_done == behind_total) break;
    }
    st.daemon.stop();
  }
  auto p99_clean = percentile(clean, 0.99), p99_beside = percentile(beside, 0.99);
  auto ratio = p99_beside / p99_clean;
  std::cout << std::fixed << std::setprecision(0) << "  clean run:          p50 "
            << percentile(clean, 0.5) << " ms, p99 " << p99_clean << " ms, max "
            << clean.back() << " ms\n"
            << "  beside bad mailboxes: p50 " << percentile(beside, 0.5) << " ms, p99 "
            << p99_beside << " ms, max " << beside.back() << " ms\n"
            << std::setprecision(3) << "  p99 ratio " << ratio
            << (ratio <= 1.10 ? " (within 10 %)" : " (MORE than 10 % worse)") << "\n"
            << "  the unconvertible mail: "
            << (hostile.empty() ? "NOT rejected" : hostile) << "\n"
            << "  ordinary mail behind it in its mailbox: " << behind_done << " of "
            << behind_total << " tickets" << std::endl;
  bool quarantined = hostile.rfind("processing_failed", 0) == 0;
  return ratio <= 1.10 && quarantined && behind_done == behind_total ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  options opt;
  bool isolation = false;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        return argv[++i];
      };
      if (a == "--isolation")
        isolation = true;
      else if (a == "--kills")
        opt.kills = std::stoi(value());
      else if (a == "--mailboxes")
        opt.mailboxes = std::stoi(value());
      else if (a == "--mails-per-round")
        opt.mails_per_round = std::stoi(value());
      else if (a == "--seed")
        opt.seed = static_cast<unsigned>(std::stoul(value()));
      else
        throw std::invalid_argument("unknown option " + a);
    }
    if (opt.kills < 1 || opt.mailboxes < 1 || opt.mails_per_round < 1)
      throw std::invalid_argument(
          "--kills, --mailboxes and --mails-per-round must be >= 1");
  } catch (const std::exception& e) {
    std::cerr << "chaos: " << e.what()
              << "\nusage: chaos [--isolation] [--kills N] [--mailboxes M] "
                 "[--mails-per-round K] [--seed S]\n";
    return 2;
  }
  try {
    return isolation ? run_isolation(opt) : run_chaos(opt);
  } catch (const std::exception& e) {
    std::cerr << "chaos: " << e.what() << "\n";
    return 1;
  }
}

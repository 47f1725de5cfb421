#include "simulator.hpp"

#include "mail/parse.hpp"
#include "message_fields.hpp"
#include "net/time_format.hpp"

#include <boost/asio/steady_timer.hpp>

#include <charconv>
#include <cstdio>

namespace graph_sim {

namespace http = boost::beast::http;
using nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

std::string hex_hash(const std::string& text) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016zx", std::hash<std::string>{}(text));
  return buf;
}

} // namespace

simulator::simulator(settings s)
    : settings_(std::move(s)), random_(std::random_device{}()), fault_random_(1),
      send_(settings_.send) {
  notifier::options o;
  o.ca_file = settings_.notify_ca_file;
  notifier_ = std::make_unique<notifier>(o);
}

void simulator::stop() {
  notifier_->stop();
}

std::optional<access_token> simulator::authenticate(call& c, net::response& refusal) {
  auto auth = std::string{c.req[http::field::authorization]};
  if (auth.size() < 8 || !net::iequals(auth.substr(0, 7), "Bearer ")) {
    refusal = graph_error(c, 401, "InvalidAuthenticationToken", "Access token is empty.");
    return std::nullopt;
  }
  auto ti = access_tokens_.find(auth.substr(7));
  if (ti == access_tokens_.end()) {
    refusal = graph_error(c, 401, "InvalidAuthenticationToken",
                          "IDX14100: JWT is not well formed, there are no dots (.).");
    return std::nullopt;
  }
  if (ti->second.expires <= now()) {
    refusal = graph_error(c, 401, "InvalidAuthenticationToken",
                          "Access token has expired or is not yet valid.");
    return std::nullopt;
  }
  return ti->second;
}

sys_time simulator::now() const {
  return std::chrono::system_clock::now() + clock_offset_;
}

std::string simulator::random_token(std::size_t bytes) {
  std::string raw(bytes, '\0');
  for (auto& c : raw)
    c = static_cast<char>(random_() & 0xFF);
  return net::base64url_encode(raw);
}

std::string simulator::new_guid() {
  char buf[40];
  auto a = random_(), b = random_();
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", unsigned(a >> 32),
                unsigned((a >> 16) & 0xFFFF), unsigned(a & 0xFFF),
                unsigned(0x8000 | ((b >> 48) & 0x3FFF)),
                static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
  return buf;
}

mailbox* simulator::find_mailbox(const std::string& id_or_address) {
  auto key = net::to_lower(id_or_address);
  auto i = mailboxes_.find(key);
  if (i != mailboxes_.end()) return &i->second;
  auto id = address_of_id_.find(key);
  return id == address_of_id_.end() ? nullptr : &mailboxes_.at(id->second);
}

void simulator::add_mailbox(mailbox mb) {
  address_of_id_[net::to_lower(mb.id)] = mb.address;
  auto key = mb.address;
  mailboxes_[key] = std::move(mb);
}

bool simulator::may_open(const access_token& t, const mailbox& mb, bool write) const {
  auto has = [&](const char* scope) { return t.scopes.count(scope) > 0; };
  if (t.app_only)
    return write ? has("Mail.ReadWrite") : (has("Mail.Read") || has("Mail.ReadWrite"));
  if (t.user == mb.address && !mb.shared) {
    if (write) return has("Mail.ReadWrite") || has("Mail.ReadWrite.Shared");
    return has("Mail.Read") || has("Mail.ReadWrite") || has("Mail.Read.Shared") ||
           has("Mail.ReadWrite.Shared");
  }
  if (!mb.delegates.count(t.user)) return false;
  return write ? has("Mail.ReadWrite.Shared")
               : (has("Mail.Read.Shared") || has("Mail.ReadWrite.Shared"));
}

bool simulator::app_may_open(const std::string& client_id, const mailbox& mb) const {
  auto a = apps_.find(client_id);
  if (a == apps_.end() || !a->second.app_only_mailboxes) return true;
  return a->second.app_only_mailboxes->count(net::to_lower(mb.address)) > 0;
}

bool simulator::may_send(const access_token& t, const mailbox& mb) const {
  auto has = [&](const char* scope) { return t.scopes.count(scope) > 0; };
  if (t.app_only) return has("Mail.Send");
  if (t.user == mb.address && !mb.shared)
    return has("Mail.Send") || has("Mail.Send.Shared");
  // Sending as a shared mailbox (or another user's) is what the .Shared scope is for.
  return mb.delegates.count(t.user) && has("Mail.Send.Shared");
}

message simulator::make_message(mailbox& mb, std::shared_ptr<const std::string> mime,
                                sys_time received,
                                std::shared_ptr<const mail::parse_result> parsed) {
  message m;
  auto seq = mb.next_message++;
  m.id = "AAMkAG" + net::base64url_encode(mb.id.substr(0, 8) + ":" + std::to_string(seq));
  m.mime = std::move(mime);
  m.parsed = parsed ? std::move(parsed)
                    : std::make_shared<const mail::parse_result>(mail::parse(*m.mime));
  const auto& pm = m.parsed->msg;
  m.internet_message_id =
      m.parsed->parsed && !pm.message_id.empty()
          ? "<" + pm.message_id + ">"
          : "<" + new_guid() + "@graph-sim.local>"; // Exchange assigns one
  auto root = !pm.references.empty()    ? pm.references.front()
              : !pm.in_reply_to.empty() ? pm.in_reply_to
                                        : m.internet_message_id;
  m.conversation_id = "AAQkAG" + hex_hash(root);
  m.size = m.mime->size();
  m.received = received;
  m.sent = pm.date ? std::chrono::system_clock::from_time_t(*pm.date) : m.received;
  m.modified = m.received;
  return m;
}

net::response simulator::json_response(unsigned status, const json& body) {
  net::response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.body() = dump(body);
  return res;
}

net::response simulator::graph_error(const call& c, unsigned status,
                                     const std::string& code,
                                     const std::string& message) {
  json inner = {{"date", net::format_rfc3339(now())},
                {"request-id", new_guid()},
                {"client-request-id", std::string{c.req["client-request-id"]}}};
  auto res = json_response(
      status, {{"error", {{"code", code}, {"message", message}, {"innerError", inner}}}});
  if (status == 401)
    res.set(
        http::field::www_authenticate,
        "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/"
        "oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"");
  return res;
}

net::response simulator::aad_error(unsigned status, const std::string& error, int aadsts,
                                   const std::string& description) {
  auto trace = new_guid(), correlation = new_guid();
  auto stamp = net::format_rfc3339(now());
  json body = {{"error", error},
               {"error_description",
                "AADSTS" + std::to_string(aadsts) + ": " + description + " Trace ID: " +
                    trace + " Correlation ID: " + correlation + " Timestamp: " + stamp},
               {"error_codes", {aadsts}},
               {"timestamp", stamp},
               {"trace_id", trace},
               {"correlation_id", correlation},
               {"error_uri", "https://login.microsoftonline.com/error?code=" +
                                 std::to_string(aadsts)}};
  return json_response(status, body);
}

net::response simulator::redirect(const std::string& location) {
  net::response res{http::status::found, 11};
  res.set(http::field::location, location);
  res.set(http::field::cache_control, "no-store");
  return res;
}

net::response simulator::transport_error(unsigned status, const std::string& message) {
  std::lock_guard<std::mutex> guard{mutex_};
  net::request none;
  call c{std::move(none), {}, {}, {}, "transport"};
  std::string code = status == 413 ? "RequestEntityTooLarge" : "BadRequest";
  stats_.requests["transport"][status]++;
  return graph_error(c, status, code, message);
}

void simulator::finish_graph(call& c, net::response& res) {
  res.set(http::field::date, net::format_http_date(now()));
  res.set("request-id", new_guid());
  res.set("client-request-id", std::string{c.req["client-request-id"]});
  stats_.requests[c.endpoint][res.result_int()]++;
}

void simulator::answer(call& c, std::unique_lock<std::mutex>& lock,
                       const net::responder_ptr& out, net::response res) {
  finish_graph(c, res);
  lock.unlock();
  out->send(std::move(res));
}

void simulator::note_listing(const mailbox& mb) {
  auto t = std::chrono::steady_clock::now();
  listed_since_reset_.insert(mb.id);
  auto [i, first] = last_listing_.try_emplace(mb.id, t);
  if (first) return;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - i->second).count();
  ++listing_intervals_[ms / 10];
  ++listing_interval_count_;
  i->second = t;
}

void simulator::handle(net::request&& req, net::responder_ptr out) {
  auto [path, query_text] = net::split_target(req.target());
  auto query = net::parse_query(query_text);
  auto c =
      std::make_shared<call>(call{std::move(req), std::string{path}, {}, {}, "unknown"});
  bool ok = query.has_value();
  if (ok) c->query = std::move(*query);
  std::string_view rest = c->path;
  while (ok && !rest.empty()) {
    if (rest.front() == '/') {
      rest.remove_prefix(1);
      continue;
    }
    auto slash = rest.find('/');
    auto decoded = net::percent_decode(rest.substr(0, slash), false);
    if (!decoded)
      ok = false;
    else
      c->segments.push_back(std::move(*decoded));
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  }
  if (!ok) {
    std::lock_guard<std::mutex> guard{mutex_};
    auto res = graph_error(*c, 400, "BadRequest",
                           "The request URI is not valid: bad percent-encoding.");
    finish_graph(*c, res);
    return out->send(std::move(res));
  }
  if (c->segments.size() == 2 && c->segments[0] == "v1.0" && c->segments[1] == "$batch")
    return route_batch(c, out);
  if (c->segments.size() >= 2 && c->segments[0] == "v1.0" &&
      c->segments[1] == "subscriptions")
    return route_subscriptions(c, out);
  if (!c->segments.empty() && c->segments[0] == "v1.0") return route_graph(c, out);
  std::lock_guard<std::mutex> guard{mutex_};
  auto res = !c->segments.empty() && c->segments[0] == "_sim" ? route_control(*c)
                                                              : route_login(*c);
  stats_.requests[c->endpoint][res.result_int()]++;
  res.set(http::field::date, net::format_http_date(now()));
  out->send(std::move(res));
}

void simulator::route_graph(std::shared_ptr<call> c, const net::responder_ptr& out) {
  // /v1.0/users/{id}/… or /v1.0/me/…: what follows the mailbox names the endpoint, so
  // that refusals (401, 403, 429, faults) are counted where they belong.
  const auto& seg = c->segments;
  bool me = seg.size() >= 2 && seg[1] == "me";
  std::vector<std::string> rest;
  if (me)
    rest.assign(seg.begin() + 2, seg.end());
  else if (seg.size() >= 3 && seg[1] == "users")
    rest.assign(seg.begin() + 3, seg.end());
  c->endpoint = endpoint_name(rest, c->req.method());
  std::unique_lock<std::mutex> lock{mutex_};
  auto reply = [&](net::response res) { answer(*c, lock, out, std::move(res)); };
  // Authentication comes first: a 401 does not count against a mailbox's limits.
  net::response refusal;
  auto authenticated = authenticate(*c, refusal);
  if (!authenticated) return reply(std::move(refusal));
  access_token token = *authenticated;
  mailbox* mb = nullptr;
  if (me) {
    if (token.app_only)
      return reply(
          graph_error(*c, 400, "BadRequest",
                      "/me request is only valid with delegated authentication flow."));
    mb = find_mailbox(token.user);
  } else if (seg.size() >= 3 && seg[1] == "users") {
    mb = find_mailbox(seg[2]);
    if (!mb)
      return reply(graph_error(*c, 404, "ErrorInvalidUser",
                               "The requested user '" + seg[2] + "' is invalid."));
  } else {
    return reply(graph_error(*c, 404, "ResourceNotFound",
                             "Resource not found for the segment '" +
                                 (seg.size() > 1 ? seg[1] : std::string{}) + "'."));
  }
  bool write = c->req.method() != http::verb::get;
  if (mb && token.app_only && !app_may_open(token.client_id, *mb))
    return reply(graph_error(*c, 403, "ErrorAccessDenied",
                             "Access to OData is disabled: [RAOP] : Blocked by tenant "
                             "configured AppOnly AccessPolicy settings."));
  bool allowed = mb && (c->endpoint == "send_mail" ? may_send(token, *mb)
                                                   : may_open(token, *mb, write));
  if (!allowed)
    return reply(graph_error(*c, 403, "ErrorAccessDenied",
                             "Access is denied. Check credentials and try again."));
  // A poll's listing: a list, or the first page of a delta round (a page that carries
  // $skiptoken continues a round).
  if (c->endpoint == "list_messages" ||
      (c->endpoint == "delta_messages" && !net::find_param(c->query, "$skiptoken")))
    note_listing(*mb);
  // This mailbox's own faults, before its limits: a refused request costs no budget.
  for (const auto& f : mb->faults)
    if (f.method == "*" || f.method == std::string{c->req.method_string()}) {
      ++stats_.fault_errors;
      return reply(
          graph_error(*c, f.status, f.code,
                      "graph-sim: this mailbox's requests fail (a test's fault)."));
    }
  // Exchange's limits per (app, mailbox).
  auto key = token.client_id + "|" + mb->id;
  auto& use = usage_[key];
  auto t = steady::now();
  while (!use.recent_requests.empty() &&
         t - use.recent_requests.front() >= settings_.request_rate.window)
    use.recent_requests.pop_front();
  // Microsoft's limit for the app across all tenants, then Exchange's per mailbox.
  auto& app_use = app_requests_[token.client_id];
  while (!app_use.empty() && t - app_use.front() >= settings_.app_rate.window)
    app_use.pop_front();
  if (app_use.size() >= settings_.app_rate.count) {
    ++stats_.throttled_app_rate;
    auto wait = settings_.app_rate.window - (t - app_use.front());
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(wait).count() + 1;
    auto res = graph_error(*c, 429, "ApplicationThrottled",
                           "Application is over its request limit across all tenants.");
    res.set(http::field::retry_after, std::to_string(secs));
    return reply(std::move(res));
  }
  if (use.in_flight >= settings_.mailbox_concurrency) {
    ++stats_.throttled_concurrency;
    auto res = graph_error(*c, 429, "ApplicationThrottled",
                           "Application is over its MailboxConcurrency limit.");
    res.set(http::field::retry_after, "1");
    return reply(std::move(res));
  }
  if (use.recent_requests.size() >= settings_.request_rate.count) {
    ++stats_.throttled_request_rate;
    auto wait = settings_.request_rate.window - (t - use.recent_requests.front());
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(wait).count() + 1;
    auto res = graph_error(*c, 429, "ApplicationThrottled",
                           "Application is over its MailboxRequestRate limit.");
    res.set(http::field::retry_after, std::to_string(secs));
    return reply(std::move(res));
  }
  ++use.in_flight;
  use.recent_requests.push_back(t);
  app_use.push_back(t);
  ++in_flight_;
  auto release = [this, key] {
    --usage_[key].in_flight;
    --in_flight_;
  };
  // Faults, drawn in arrival order from the seeded generator.
  std::uniform_real_distribution<double> unit{0, 1};
  if (faults_.drop_rate > 0 && unit(fault_random_) < faults_.drop_rate) {
    ++stats_.fault_drops;
    stats_.requests[c->endpoint + "(dropped)"][0]++;
    release();
    lock.unlock();
    return out->close();
  }
  if (faults_.error_rate > 0 && unit(fault_random_) < faults_.error_rate) {
    ++stats_.fault_errors;
    auto status = faults_.error_statuses[fault_random_() % faults_.error_statuses.size()];
    auto code = status == 429   ? "TooManyRequests"
                : status == 503 ? "ServiceUnavailable"
                : status == 504 ? "GatewayTimeout"
                                : "InternalServerError";
    auto res = graph_error(*c, status, code, "graph-sim injected fault.");
    if (faults_.retry_after != "missing") {
      char buf[32];
      if (faults_.retry_after == "decimal")
        std::snprintf(buf, sizeof buf, "%.3f", faults_.retry_after_seconds + 0.128);
      else
        std::snprintf(buf, sizeof buf, "%lld",
                      static_cast<long long>(faults_.retry_after_seconds));
      res.set(http::field::retry_after, buf);
    }
    release();
    return reply(std::move(res));
  }
  std::uint64_t delay_ms = 0;
  if (faults_.latency_max_ms > 0) {
    std::uniform_int_distribution<std::uint64_t> d{faults_.latency_min_ms,
                                                   faults_.latency_max_ms};
    delay_ms = d(fault_random_);
    ++stats_.fault_delays;
  }
  auto mailbox_id = mb->id;
  auto execute = [this, c, out, token, mailbox_id, rest, release] {
    std::unique_lock<std::mutex> guard{mutex_};
    auto* box = find_mailbox(mailbox_id);
    net::response res =
        box ? graph_call(*c, token, *box, rest)
            : graph_error(*c, 404, "ErrorInvalidUser", "The requested user is invalid.");
    finish_graph(*c, res);
    if (c->hold.count() == 0 || !io_) {
      release();
      guard.unlock();
      return out->send(std::move(res));
    }
    // Done, but answered late (sendMail's hold): the request stays in flight meanwhile.
    guard.unlock();
    auto timer = std::make_shared<boost::asio::steady_timer>(*io_, c->hold);
    auto answer = std::make_shared<net::response>(std::move(res));
    timer->async_wait(
        [this, timer, out, answer, release](const boost::system::error_code& ec) {
          {
            std::lock_guard<std::mutex> later{mutex_};
            release();
          }
          if (!ec) out->send(std::move(*answer));
        });
  };
  if (delay_ms == 0 || !io_) {
    lock.unlock();
    return execute();
  }
  lock.unlock();
  auto timer = std::make_shared<boost::asio::steady_timer>(
      *io_, std::chrono::milliseconds(delay_ms));
  timer->async_wait([timer, execute](const boost::system::error_code& ec) {
    if (!ec) execute();
  });
}

net::response simulator::route_login(call& c) {
  const auto& seg = c.segments;
  auto tenant_ok = [&](const std::string& t) {
    return t == "common" || t == "organizations" || t == settings_.tenant_id ||
           t.find('.') != std::string::npos;
  };
  bool oauth = seg.size() == 4 && seg[1] == "oauth2" && seg[2] == "v2.0";
  bool consent = seg.size() == 2 && seg[1] == "adminconsent";
  if (!oauth && !consent) {
    c.endpoint = "unknown";
    return graph_error(c, 404, "ResourceNotFound", "No route for " + c.path);
  }
  if (!tenant_ok(seg[0]))
    return aad_error(400, "invalid_request", 90002, "Tenant '" + seg[0] + "' not found.");
  if (consent) return admin_consent(c);
  if (seg[3] == "authorize") return authorize(c);
  if (seg[3] == "token") return token(c);
  c.endpoint = "unknown";
  return graph_error(c, 404, "ResourceNotFound", "No route for " + c.path);
}

} // namespace graph_sim

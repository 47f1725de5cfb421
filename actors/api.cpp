#include "actors/api.hpp"

#include "actors/api_routes.hpp"
#include "actors/mailbox.hpp"
#include "messages/error.hpp"
#include "messages/services.hpp"
#include "net/time_format.hpp"
#include "net/url.hpp"
#include "storage/secret_file.hpp"

#include <caf/actor_cast.hpp>
#include <caf/spawn_options.hpp>
#include <caf/system_messages.hpp>

#include <spdlog/spdlog.h>

namespace exc {

using nlohmann::json;
using namespace api_detail;

namespace api_detail {

std::string now_rfc3339() {
  return net::format_rfc3339(std::chrono::system_clock::now());
}

token_service_actor tokens(api_pointer self) {
  return service::get<token_service_actor>(self->system());
}

net::response not_found() {
  return rest::error_response(404, "not_found", "no such resource");
}

storage::mailbox_record* find_mailbox(api_pointer self, const caller& who,
                                      const std::string& id) {
  auto i = self->state.mailboxes.find(id);
  if (i == self->state.mailboxes.end() || i->second.account_id != who.account_id)
    return nullptr;
  return &i->second;
}

json mailbox_view(api_pointer self, const storage::mailbox_record& mb) {
  const auto& st = self->state;
  auto rt = st.runtime.find(mb.id);
  auto error_view = [](const storage::error_record& e) {
    return json{{"code", e.code},
                {"message", e.message},
                {"at", e.at},
                {"step", e.step.empty() ? json(nullptr) : json(e.step)}};
  };
  json last_error = nullptr;
  if (mb.last_error) last_error = error_view(*mb.last_error);
  json app_error = nullptr;
  if (st.app_error) {
    app_error = error_view(*st.app_error);
    // Only a mailbox that should be polling is stopped by the app's error; a paused
    // one or one that needs a new consent keeps its own, truer state.
    if (mb.status == "connected" || mb.status == "error") last_error = app_error;
  }
  auto window = [](const rate_limit& r, std::uint64_t used) {
    return json{{"used", used},
                {"limit", r.count},
                {"window_s", std::chrono::duration<double>(r.window).count()}};
  };
  bool running = rt != st.runtime.end();
  auto poll = mb.poll_interval_s > 0 ? mb.poll_interval_s : st.cfg.poll_interval.count();
  auto stored = st.ingest.store->counters(mb.id);
  json counters = stored ? *stored : json::object();
  auto outbound = st.ingest.outbox->counters(mb.id);
  counters["sent"] = outbound ? (*outbound)["sent"] : json(0);
  counters["failed"] = outbound ? (*outbound)["failed"] : json(0);
  auto send_window = window(st.cfg.send_rate, running ? rt->second.sending.used : 0);
  send_window["held_until"] = running && !rt->second.sending.held_until.empty()
                                  ? json(rt->second.sending.held_until)
                                  : json(nullptr);
  // Paused until the later of Graph's asks, for fetching or for sending.
  std::string paused;
  if (running)
    paused = std::max(rt->second.paused_until, rt->second.sending.paused_until);
  return {
      {"id", mb.id},
      {"address", mb.address},
      {"status", mb.status},
      {"created_at", mb.created_at},
      {"connected_at", mb.connected_at.empty() ? json(nullptr) : json(mb.connected_at)},
      {"poll_interval_s", poll},
      {"backfill_days", mb.backfill_days},
      {"last_poll_at", rt == st.runtime.end() || rt->second.last_poll_at.empty()
                           ? json(nullptr)
                           : json(rt->second.last_poll_at)},
      {"last_error", last_error},
      // MAILBOX actors restarted after a failure since the process started.
      {"restarts", rt == st.runtime.end() ? 0u : rt->second.restarts},
      {"app_error", app_error},
      {"counters", counters},
      // Why the mailbox cannot send for now (no permission, no token); emails wait.
      {"send_error", running && !rt->second.sending.code.empty()
                         ? json{{"code", rt->second.sending.code},
                                {"message", rt->second.sending.message}}
                         : json(nullptr)},
      {"throttle",
       {{"paused_until", paused.empty() ? json(nullptr) : json(paused)},
        {"fetch", window(st.cfg.fetch_rate, running ? rt->second.fetch_used : 0)},
        {"send", send_window}}}};
}

void stage_mailbox(storage::batch& changes, const storage::mailbox_record& mb) {
  changes.put(storage::family::mailboxes, mb.id, storage::to_json(mb).dump());
}

std::optional<net::response> commit(api_pointer self, storage::batch& changes) {
  if (auto err = self->state.db->commit(changes, storage::durability::durable)) {
    spdlog::error("api: storage write failed: {}", render(err));
    return rest::error_response(500, "storage_failure",
                                "the change could not be stored; nothing was changed");
  }
  return std::nullopt;
}

bool address_free_for(api_pointer self, const storage::mailbox_record& mb,
                      storage::batch& changes,
                      std::optional<storage::mailbox_record>& released) {
  auto& st = self->state;
  auto held = st.addresses.find(net::to_lower(mb.address));
  if (held == st.addresses.end() || held->second == mb.id) return true;
  auto other = st.mailboxes.find(held->second);
  if (other == st.mailboxes.end()) return true;
  auto o = other->second;
  bool live_state = (!o.state_expires_at.empty() && o.state_expires_at > now_rfc3339()) ||
                    st.signing_in.count(o.id) > 0;
  if (o.status != "pending_authorization" || live_state) return false;
  // A pending mailbox gives its address up when its state expires, or once its one
  // sign-in link was used without connecting it. An expired state record stays until
  // its link is used or the next start, to say "expired".
  bool expired = !o.state_expires_at.empty();
  o.state_hash.clear();
  o.state_expires_at.clear();
  o.last_error = storage::error_record{
      "authorization_expired",
      expired ? "the sign-in was not finished in time; the address was given up"
              : "the sign-in link was used without connecting the mailbox; the address "
                "was given up",
      now_rfc3339(), "authorization"};
  stage_mailbox(changes, o);
  released = std::move(o);
  return true;
}

void apply_release(api_pointer self, std::optional<storage::mailbox_record>& released) {
  if (!released) return;
  auto id = released->id;
  self->state.mailboxes[id] = std::move(*released);
  released.reset();
}

label_settings labels_of(api_pointer self, const std::string& account_id) {
  label_settings out;
  auto a = self->state.accounts.find(account_id);
  if (a == self->state.accounts.end()) return out;
  out.processed = a->second.settings.processed_label;
  out.rejected = a->second.settings.rejected_label;
  out.mark_as_read = a->second.settings.mark_as_read;
  return out;
}

void start_mailbox(api_pointer self, const std::string& id, bool spread) {
  auto& st = self->state;
  auto mb = st.mailboxes.find(id);
  if (mb == st.mailboxes.end() || mb->second.status == "paused" ||
      mb->second.status == "pending_authorization" ||
      mb->second.status == "reauthorization_required")
    return;
  auto& rt = st.runtime[id];
  if (rt.actor) return;
  if (rt.stopping) { // the old one first
    rt.start_when_down = true;
    return;
  }
  const auto& record = mb->second;
  mailbox_config cfg;
  cfg.id = id;
  cfg.account_id = record.account_id;
  cfg.address = record.address;
  cfg.graph_url = st.cfg.graph_url;
  cfg.poll_interval = record.poll_interval_s > 0
                          ? std::chrono::seconds{record.poll_interval_s}
                          : st.cfg.poll_interval;
  // New mail: received since the connection (Graph's clock), or backfill_days before.
  auto connected = net::parse_rfc3339(record.connected_at);
  cfg.since =
      net::format_rfc3339((connected ? *connected : std::chrono::system_clock::now()) -
                          std::chrono::hours{24 * record.backfill_days});
  cfg.max_message_size = st.cfg.max_message_size;
  cfg.max_attempts = st.cfg.max_attempts;
  cfg.retry_initial = st.cfg.retry_initial;
  if (spread) {
    std::uniform_int_distribution<std::int64_t> draw{
        0,
        std::chrono::duration_cast<std::chrono::milliseconds>(cfg.poll_interval).count() -
            1};
    cfg.first_poll = std::chrono::milliseconds{draw(st.rng)};
  }
  cfg.fetch_rate = st.cfg.fetch_rate;
  cfg.labels = labels_of(self, record.account_id);
  cfg.send.rate = st.cfg.send_rate;
  cfg.send.bytes = st.cfg.send_bytes;
  cfg.send.recipients = st.cfg.send_recipients;
  cfg.send.sent_items_grace = st.cfg.sent_items_grace;
  mailbox_peers peers;
  peers.listener = caf::actor_cast<poll_listener_actor>(self);
  peers.converter = static_cast<std::uint32_t>(std::hash<std::string>{}(id) %
                                               std::max(st.ingest.converters, 1u));
  peers.store = st.ingest.store;
  peers.throttle = st.ingest.throttle;
  peers.outbox = st.ingest.outbox;
  peers.metrics = st.metrics;
  rt.actor = self->spawn<caf::monitored>(mailbox, std::move(cfg), std::move(peers));
  rt.started = std::chrono::steady_clock::now();
  st.by_actor[rt.actor.address()] = id;
}

void stop_mailbox(api_pointer self, const std::string& id) {
  auto& st = self->state;
  auto rt = st.runtime.find(id);
  if (rt == st.runtime.end() || !rt->second.actor) return;
  // Still known by its address: its down message tells when a replacement may start.
  self->send_exit(rt->second.actor, caf::exit_reason::user_shutdown);
  rt->second.stopping = std::move(rt->second.actor);
  rt->second.actor = nullptr;
  rt->second.start_when_down = false;
  rt->second.paused_until.clear(); // a stopped mailbox is not throttled
  rt->second.fetch_used = 0;
  rt->second.sending = {};
}

std::string log_name(api_pointer self, const std::string& mailbox_id) {
  auto i = self->state.mailboxes.find(mailbox_id);
  return (i == self->state.mailboxes.end() ? std::string{"?"} : i->second.account_id) +
         "/" + mailbox_id;
}

} // namespace api_detail

namespace {

/// Loads accounts, API key hashes, mailboxes and address holders from storage.
caf::error load(api_pointer self) {
  auto& st = self->state;
  auto err = st.db->scan(storage::family::accounts, storage::account_prefix,
                         [&](std::string_view, std::string_view value) {
                           if (auto a = storage::account_from_json(std::string{value})) {
                             for (const auto& h : a->api_key_hashes)
                               st.api_keys[h] = a->id;
                             st.accounts[a->id] = std::move(*a);
                           }
                           return true;
                         });
  if (err) return err;
  err = st.db->scan(storage::family::mailboxes, "",
                    [&](std::string_view, std::string_view value) {
                      if (auto m = storage::mailbox_from_json(std::string{value})) {
                        if (!m->connected_at.empty())
                          st.ingest.connected->add(m->address);
                        st.mailboxes[m->id] = std::move(*m);
                      }
                      return true;
                    });
  if (err) return err;
  err = st.db->scan(storage::family::meta, "address/",
                    [&](std::string_view key, std::string_view value) {
                      st.addresses[std::string{key.substr(8)}] = std::string{value};
                      return true;
                    });
  if (err) return err;
  // Expired sign-in states are of no use any more.
  auto expired = st.db->start_batch();
  auto now = now_rfc3339();
  err = st.db->scan(storage::family::meta, storage::oauth_state_prefix,
                    [&](std::string_view key, std::string_view value) {
                      auto rec = storage::oauth_state_from_json(std::string{value});
                      if (!rec || rec->expires_at <= now)
                        expired.erase(storage::family::meta, key);
                      return true;
                    });
  if (err || expired.size() == 0) return err;
  return st.db->commit(expired, storage::durability::relaxed);
}

/// 401 without a usable token; the caller otherwise.
std::variant<caller, net::response> authenticate(api_pointer self,
                                                 const http_request& req) {
  auto value = rest::header(req, "Authorization");
  auto unauthorized = [] {
    auto res =
        rest::error_response(401, "unauthorized", "send Authorization: Bearer <token>");
    res.set(boost::beast::http::field::www_authenticate, "Bearer");
    return res;
  };
  if (value.size() < 8 || !net::iequals(value.substr(0, 7), "Bearer "))
    return unauthorized();
  auto token = value.substr(7);
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  if (token.empty()) return unauthorized();
  if (storage::constant_time_equal(token, self->state.cfg.admin_token))
    return caller{true, {}};
  auto hash = storage::token_hash(token);
  auto i = self->state.api_keys.find(hash);
  if (i == self->state.api_keys.end() || !storage::constant_time_equal(i->first, hash))
    return unauthorized();
  return caller{false, i->second};
}

struct route_match {
  std::string name; ///< the route as metrics label it, e.g. "/api/v1/mailboxes/{id}"
  std::vector<std::string> methods;
  enum kind { open, admin, account } access = open;
  std::string id; ///< the {id} part, if any
};

std::optional<route_match> match_route(std::string_view path) {
  using k = route_match::kind;
  if (path == "/healthz") return route_match{"/healthz", {"GET"}, k::open, {}};
  if (path == "/metrics") return route_match{"/metrics", {"GET"}, k::open, {}};
  if (path == "/oauth/callback")
    return route_match{"/oauth/callback", {"GET"}, k::open, {}};
  if (path == "/api/v1/accounts")
    return route_match{"/api/v1/accounts", {"GET", "POST"}, k::admin, {}};
  if (path == "/api/v1/account")
    return route_match{"/api/v1/account", {"GET", "PATCH"}, k::account, {}};
  if (path == "/api/v1/mailboxes")
    return route_match{"/api/v1/mailboxes", {"GET", "POST"}, k::account, {}};
  if (path == "/api/v1/tickets")
    return route_match{"/api/v1/tickets", {"GET"}, k::account, {}};
  if (path == "/api/v1/rejections")
    return route_match{"/api/v1/rejections", {"GET"}, k::account, {}};
  if (path == "/api/v1/outbox")
    return route_match{"/api/v1/outbox", {"GET"}, k::account, {}};
  static const std::string tickets = "/api/v1/tickets/";
  if (path.substr(0, tickets.size()) == tickets && path.size() > tickets.size()) {
    auto rest = path.substr(tickets.size());
    auto slash = rest.find('/');
    auto id = std::string{rest.substr(0, slash)};
    if (id.empty()) return std::nullopt;
    if (slash == std::string_view::npos)
      return route_match{"/api/v1/tickets/{id}", {"GET"}, k::account, id};
    if (rest.substr(slash) == "/comments")
      return route_match{"/api/v1/tickets/{id}/comments", {"POST"}, k::account, id};
    return std::nullopt;
  }
  static const std::string prefix = "/api/v1/mailboxes/";
  if (path.substr(0, prefix.size()) == prefix) {
    auto rest = path.substr(prefix.size());
    auto slash = rest.find('/');
    auto id = std::string{rest.substr(0, slash)};
    if (id.empty()) return std::nullopt;
    if (slash == std::string_view::npos)
      return route_match{"/api/v1/mailboxes/{id}", {"GET", "DELETE"}, k::account, id};
    auto action = rest.substr(slash + 1);
    if (action == "reauthorize" || action == "pause" || action == "resume" ||
        action == "outbound")
      return route_match{
          "/api/v1/mailboxes/{id}/" + std::string{action}, {"POST"}, k::account, id};
  }
  return std::nullopt;
}

std::string render_metrics(api_pointer self) {
  auto& st = self->state;
  std::map<std::string, int> by_status = {{"pending_authorization", 0},
                                          {"connected", 0},
                                          {"paused", 0},
                                          {"reauthorization_required", 0},
                                          {"error", 0}};
  for (const auto& [id, mb] : st.mailboxes)
    ++by_status[mb.status];
  for (const auto& [status, n] : by_status)
    st.metrics->set("exconnect_mailboxes", {{"status", status}}, n);
  st.metrics->set("exconnect_accounts", {}, static_cast<double>(st.accounts.size()));
  return st.metrics->render();
}

void dispatch(api_pointer self, const http_request& req, const net::responder_ptr& out) {
  auto [raw_path, query] = net::split_target(req.target);
  auto route = match_route(raw_path);
  auto route_name = route ? route->name : std::string{"unknown"};
  auto metrics = self->state.metrics;
  reply_fn reply = [metrics, out, route_name, method = req.method](net::response res) {
    metrics->add("exconnect_http_requests_total",
                 {{"route", route_name},
                  {"method", method},
                  {"status", std::to_string(res.result_int())}});
    out->send(std::move(res));
  };
  if (!route)
    return reply(
        rest::error_response(404, "not_found", "no route for " + std::string{raw_path}));
  if (std::find(route->methods.begin(), route->methods.end(), req.method) ==
      route->methods.end()) {
    std::string allowed;
    for (const auto& m : route->methods)
      allowed += (allowed.empty() ? "" : ", ") + m;
    auto res = rest::error_response(405, "method_not_allowed",
                                    req.method + " is not allowed here; use " + allowed);
    res.set(boost::beast::http::field::allow, allowed);
    return reply(std::move(res));
  }
  if (route->access == route_match::open) {
    if (route->name == "/healthz") {
      auto up = std::chrono::steady_clock::now() - self->state.started;
      json body = {
          {"status", "ok"},
          {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(up).count()},
          {"app_error", nullptr}};
      if (self->state.app_error)
        body["app_error"] = {{"code", self->state.app_error->code},
                             {"message", self->state.app_error->message},
                             {"at", self->state.app_error->at}};
      return reply(rest::json_response(200, body));
    }
    if (route->name == "/metrics") {
      net::response res{boost::beast::http::status::ok, 11};
      res.set(boost::beast::http::field::content_type,
              "text/plain; version=0.0.4; charset=utf-8");
      res.body() = render_metrics(self);
      return reply(std::move(res));
    }
    return oauth_callback(self, req, reply);
  }
  auto who = authenticate(self, req);
  if (auto* refused = std::get_if<net::response>(&who)) return reply(std::move(*refused));
  auto& c = std::get<caller>(who);
  if ((route->access == route_match::admin) != c.admin)
    return reply(rest::error_response(403, "forbidden",
                                      c.admin
                                          ? "the admin token cannot use account routes"
                                          : "this route needs the admin token"));
  const auto& m = req.method;
  const auto& name = route->name;
  if (name == "/api/v1/accounts")
    return m == "POST" ? create_account(self, req, reply) : list_accounts(self, reply);
  if (name == "/api/v1/account")
    return m == "GET" ? get_account(self, c, reply) : patch_account(self, c, req, reply);
  if (name == "/api/v1/mailboxes")
    return m == "POST" ? create_mailbox(self, c, req, reply)
                       : list_mailboxes(self, c, reply);
  if (name == "/api/v1/mailboxes/{id}")
    return m == "GET" ? get_mailbox(self, c, route->id, reply)
                      : delete_mailbox(self, c, route->id, reply);
  if (name == "/api/v1/tickets") return list_tickets(self, c, req, reply);
  if (name == "/api/v1/tickets/{id}") return get_ticket(self, c, route->id, reply);
  if (name == "/api/v1/tickets/{id}/comments")
    return post_comment(self, c, route->id, req, reply);
  if (name == "/api/v1/outbox") return list_outbox(self, c, req, reply);
  if (name == "/api/v1/mailboxes/{id}/outbound")
    return queue_outbound(self, c, route->id, req, reply);
  if (name == "/api/v1/rejections") return list_rejections(self, c, req, reply);
  if (name == "/api/v1/mailboxes/{id}/reauthorize")
    return reauthorize_mailbox(self, c, route->id, reply);
  if (name == "/api/v1/mailboxes/{id}/pause")
    return pause_mailbox(self, c, route->id, reply);
  return resume_mailbox(self, c, route->id, reply);
}

/// Writes a status change of a mailbox; logs (does not throw) if storage fails.
void save_status(api_pointer self, storage::mailbox_record& mb) {
  auto changes = self->state.db->start_batch();
  stage_mailbox(changes, mb);
  if (auto err = self->state.db->commit(changes, storage::durability::durable))
    spdlog::error("api: cannot store the status of mailbox {}/{}: {}", mb.account_id,
                  mb.id, render(err));
}

} // namespace

api_self_actor::behavior_type api(api_pointer self, api_config cfg, storage::db* db,
                                  const storage::vault* vault, net::metrics* metrics,
                                  ingest_services ingest) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.db = db;
  st.vault = vault;
  st.metrics = metrics;
  st.ingest = std::move(ingest);
  metrics->describe("exconnect_http_requests_total", "counter",
                    "REST API requests by route, method and status.");
  metrics->describe("exconnect_mailboxes", "gauge", "Mailboxes by status.");
  metrics->describe("exconnect_accounts", "gauge", "Accounts.");
  metrics->describe("exconnect_actor_restarts_total", "counter",
                    "Actors restarted after a failure, by kind (mailbox, helpdesk, "
                    "token_service, converter, http_client).");
  if (auto err = load(self)) {
    spdlog::error("api: cannot load accounts and mailboxes: {}", render(err));
    self->quit(err);
    return api_self_actor::behavior_type::make_empty_behavior();
  }
  spdlog::info("api: {} accounts, {} mailboxes", st.accounts.size(), st.mailboxes.size());
  // The TOKEN SERVICE finds its listener by name, also after a restart of its own.
  service::put(self->system(), caf::actor_cast<token_events_actor>(self));
  self->send(service::get<token_service_actor>(self->system()), atom::subscribe_v,
             caf::actor_cast<token_events_actor>(self));
  for (const auto& [id, mb] : st.mailboxes)
    if (mb.status == "connected" || mb.status == "error")
      start_mailbox(self, id, true); // spread over the interval, not in lockstep
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.by_actor.find(dm.source);
    if (i == st.by_actor.end()) return;
    auto id = i->second;
    st.by_actor.erase(i);
    auto found = st.runtime.find(id);
    if (found == st.runtime.end()) return; // deleted
    auto& rt = found->second;
    if (rt.stopping && rt.stopping.address() == dm.source) {
      rt.stopping = nullptr;
      if (rt.start_when_down) {
        rt.start_when_down = false;
        start_mailbox(self, id);
      }
      return;
    }
    rt.actor = nullptr;
    if (!dm.reason || dm.reason == caf::exit_reason::user_shutdown) return;
    spdlog::error("api: mailbox {} failed: {}", log_name(self, id), render(dm.reason));
    st.metrics->add("exconnect_actor_restarts_total", {{"kind", "mailbox"}});
    ++rt.restarts;
    if (std::chrono::steady_clock::now() - rt.started > std::chrono::seconds{60})
      rt.failures = 0;
    auto delay = std::min(std::chrono::milliseconds{100 << std::min(rt.failures, 9u)},
                          std::chrono::milliseconds{60'000});
    ++rt.failures;
    self->delayed_send(self, delay, atom::internal_v, atom::restart_v, id);
  });
  self->set_exit_handler([=](caf::exit_msg& em) {
    // MAILBOX actors are monitored, not linked: stop them explicitly.
    for (auto& [id, rt] : self->state.runtime) {
      if (rt.actor) self->send_exit(rt.actor, em.reason);
      if (rt.stopping) self->send_exit(rt.stopping, em.reason);
    }
    self->quit(em.reason);
  });
  return {
      [=](const http_request& req, const net::responder_ptr& out) {
        dispatch(self, req, out);
      },
      [=](atom::reauth, const std::string& id, const std::string& reason) {
        auto i = self->state.mailboxes.find(id);
        if (i == self->state.mailboxes.end()) return;
        auto& mb = i->second;
        stop_mailbox(self, id);
        if (mb.status == "reauthorization_required" ||
            mb.status == "pending_authorization")
          return;
        spdlog::warn("api: mailbox {} needs a new consent: {}", log_name(self, id),
                     reason);
        // Even a paused mailbox: resume must not skip the new consent.
        mb.last_error = storage::error_record{"reauthorization_required", reason,
                                              now_rfc3339(), "token"};
        mb.status = "reauthorization_required";
        save_status(self, mb);
      },
      [=](atom::app_status, const std::string& code, const std::string& message) {
        if (code.empty())
          self->state.app_error.reset();
        else
          self->state.app_error = storage::error_record{
              "app_credentials_rejected",
              "the login service refuses the connector's own app credentials (" + code +
                  "): " + message + " — fix the client secret; every grant is kept",
              now_rfc3339(), "token"};
      },
      [=](atom::polled, const std::string& id, const poll_result& r) {
        auto i = self->state.mailboxes.find(id);
        if (i == self->state.mailboxes.end()) return;
        auto& mb = i->second;
        auto& rt = self->state.runtime[id];
        rt.paused_until = r.paused_until;
        rt.fetch_used = r.fetch_used;
        rt.restarts += r.restarts;
        if (r.ok) {
          rt.last_poll_at = r.at;
          const auto& f = r.failed_message;
          // A message that failed does not stop the mailbox: it stays connected, and
          // the error shows until a poll goes by without one.
          std::optional<storage::error_record> error;
          if (!f.step.empty())
            error = storage::error_record{f.code, f.message, f.at, f.step};
          bool same = error && mb.last_error && mb.last_error->code == error->code &&
                      mb.last_error->step == error->step;
          if (mb.status == "error" || (mb.last_error.has_value() != error.has_value()) ||
              (error && !same)) {
            if (mb.status == "error") mb.status = "connected";
            mb.last_error = std::move(error);
            save_status(self, mb);
          }
          return;
        }
        if (r.grant_gone || r.code == "app_credentials_rejected") return;
        bool persistent = r.code == "ErrorAccessDenied" || r.code == "ErrorInvalidUser" ||
                          r.code == "MailboxNotEnabledForRESTAPI";
        auto status = persistent && mb.status == "connected" ? "error" : mb.status;
        // A failing mailbox fails on every poll: write only when something changes,
        // keeping the time the error began.
        if (mb.last_error && mb.last_error->code == r.code &&
            mb.last_error->message == r.message && mb.status == status)
          return;
        mb.last_error = storage::error_record{r.code, r.message, r.at, r.step};
        mb.status = status;
        save_status(self, mb);
      },
      [=](atom::sent, const std::string& id, const send_status& s) {
        auto rt = self->state.runtime.find(id);
        if (rt != self->state.runtime.end() && rt->second.actor) rt->second.sending = s;
      },
      [=](atom::internal, atom::restart, const std::string& id) {
        start_mailbox(self, id);
      },
  };
}

} // namespace exc

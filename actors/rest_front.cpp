#include "actors/rest_front.hpp"

#include "app/rest/routes.hpp"
#include "messages/error.hpp"
#include "messages/services.hpp"
#include "net/url.hpp"
#include "storage/secret_file.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace exc {

using nlohmann::json;
using namespace rest;

namespace {

/// The caller, from its token: the admin token, or an API key the REGISTRY knows;
/// else a 401.
void authenticate(rest_pointer self, const http_request& req, const reply_fn& reply,
                  std::function<void(caller)> then) {
  auto value = header(req, "Authorization");
  auto unauthorized = [] {
    auto res = error_response(401, "unauthorized", "send Authorization: Bearer <token>");
    res.set(boost::beast::http::field::www_authenticate, "Bearer");
    return res;
  };
  if (value.size() < 8 || !net::iequals(value.substr(0, 7), "Bearer "))
    return reply(unauthorized());
  auto token = value.substr(7);
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  if (token.empty()) return reply(unauthorized());
  if (storage::constant_time_equal(token, self->state.cfg.admin_token))
    return then(caller{true, {}});
  self->request(registry(self), registry_timeout, atom::authenticate_v,
                storage::token_hash(token))
      .then(
          [then](const std::string& account) {
            then(caller{false, account});
          },
          [reply, unauthorized](const caf::error& err) {
            if (is(err, ec::not_found)) return reply(unauthorized());
            reply(refusal(err));
          });
}

/// The routes of the REST API.
enum class route_id {
  healthz,
  metrics,
  oauth_callback,
  admin_consent_callback,
  graph_notifications,
  accounts,
  account,
  mailboxes,
  tickets,
  rejections,
  outbox,
  ticket,
  ticket_comments,
  mailbox,
  mailbox_reauthorize,
  mailbox_pause,
  mailbox_resume,
  mailbox_outbound,
  rejection_recover,
  tenants,
  tenant_consent,
  tenant,
  webhook_deliveries,
  webhook_retry,
};

struct route_match {
  route_id route;
  std::string name; ///< the route as metrics label it, e.g. "/api/v1/mailboxes/{id}"
  std::vector<std::string> methods;
  enum kind { open, admin, account } access = open;
  std::string id; ///< the {id} part, if any
};

/// The {id} of a path `prefix` + {id} + `suffix` (an id is not empty and has no '/').
std::optional<std::string> id_between(std::string_view path, std::string_view prefix,
                                      std::string_view suffix) {
  if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
  auto rest = path.substr(prefix.size());
  auto id = rest.substr(0, rest.find('/'));
  if (id.empty() || rest.substr(id.size()) != suffix) return std::nullopt;
  return std::string{id};
}

std::optional<route_match> match_route(std::string_view path) {
  using k = route_match::kind;
  using r = route_id;
  // Fixed paths: their name is the path.
  static const route_match fixed[] = {
      {r::healthz, "/healthz", {"GET"}, k::open, {}},
      {r::metrics, "/metrics", {"GET"}, k::open, {}},
      {r::oauth_callback, "/oauth/callback", {"GET"}, k::open, {}},
      {r::admin_consent_callback, "/oauth/admin-consent", {"GET"}, k::open, {}},
      {r::graph_notifications, "/graph/notifications", {"POST"}, k::open, {}},
      {r::graph_notifications, "/graph/lifecycle", {"POST"}, k::open, {}},
      {r::tenants, "/api/v1/tenants", {"GET"}, k::account, {}},
      {r::tenant_consent, "/api/v1/tenants/consent", {"POST"}, k::account, {}},
      {r::accounts, "/api/v1/accounts", {"GET", "POST"}, k::admin, {}},
      {r::account, "/api/v1/account", {"GET", "PATCH"}, k::account, {}},
      {r::mailboxes, "/api/v1/mailboxes", {"GET", "POST"}, k::account, {}},
      {r::tickets, "/api/v1/tickets", {"GET"}, k::account, {}},
      {r::rejections, "/api/v1/rejections", {"GET"}, k::account, {}},
      {r::outbox, "/api/v1/outbox", {"GET"}, k::account, {}},
      {r::webhook_deliveries, "/api/v1/webhook/deliveries", {"GET"}, k::account, {}},
      {r::webhook_retry, "/api/v1/webhook/deliveries/retry", {"POST"}, k::account, {}},
  };
  for (const auto& match : fixed)
    if (path == match.name) return match;
  static const std::string tickets = "/api/v1/tickets/";
  if (path.substr(0, tickets.size()) == tickets && path.size() > tickets.size()) {
    auto rest = path.substr(tickets.size());
    auto slash = rest.find('/');
    auto id = std::string{rest.substr(0, slash)};
    if (id.empty()) return std::nullopt;
    if (slash == std::string_view::npos)
      return route_match{r::ticket, "/api/v1/tickets/{id}", {"GET"}, k::account, id};
    if (rest.substr(slash) == "/comments")
      return route_match{
          r::ticket_comments, "/api/v1/tickets/{id}/comments", {"POST"}, k::account, id};
    return std::nullopt;
  }
  if (auto id = id_between(path, "/api/v1/rejections/", "/recover"))
    return route_match{r::rejection_recover,
                       "/api/v1/rejections/{id}/recover",
                       {"POST"},
                       k::account,
                       *id};
  if (auto id = id_between(path, "/api/v1/webhook/deliveries/", "/retry"))
    return route_match{r::webhook_retry,
                       "/api/v1/webhook/deliveries/{id}/retry",
                       {"POST"},
                       k::account,
                       *id};
  static const std::string tenants = "/api/v1/tenants/";
  if (path.substr(0, tenants.size()) == tenants) {
    auto id = std::string{path.substr(tenants.size())};
    if (id.empty() || id.find('/') != std::string::npos) return std::nullopt;
    return route_match{
        r::tenant, "/api/v1/tenants/{id}", {"GET", "DELETE"}, k::account, id};
  }
  static const std::string prefix = "/api/v1/mailboxes/";
  if (path.substr(0, prefix.size()) == prefix) {
    auto rest = path.substr(prefix.size());
    auto slash = rest.find('/');
    auto id = std::string{rest.substr(0, slash)};
    if (id.empty()) return std::nullopt;
    if (slash == std::string_view::npos)
      return route_match{
          r::mailbox, "/api/v1/mailboxes/{id}", {"GET", "DELETE"}, k::account, id};
    static const std::pair<const char*, route_id> actions[] = {
        {"reauthorize", r::mailbox_reauthorize},
        {"pause", r::mailbox_pause},
        {"resume", r::mailbox_resume},
        {"outbound", r::mailbox_outbound}};
    auto action = rest.substr(slash + 1);
    for (const auto& [word, route] : actions)
      if (action == word)
        return route_match{route,
                           "/api/v1/mailboxes/{id}/" + std::string{word},
                           {"POST"},
                           k::account,
                           id};
  }
  return std::nullopt;
}

void route_to(rest_pointer self, const route_match& route, const caller& c,
              const http_request& req, const reply_fn& reply);

/// Counts each answer in the request metric (route and method from fixed sets), then
/// sends it.
reply_fn metered(rest_pointer self, const std::optional<route_match>& route,
                 const std::string& method, std::function<void(net::response)> send) {
  return [metrics = self->state.stores.metrics, send = std::move(send),
          route_name = route ? route->name : std::string{"unknown"},
          method = net::method_label(method)](net::response res) {
    metrics->add("exconnect_http_requests_total",
                 {{"route", route_name},
                  {"method", method},
                  {"status", std::to_string(res.result_int())}});
    send(std::move(res));
  };
}

/// 404 for no route, 405 for a method the route does not take.
std::optional<net::response> route_refusal(const std::optional<route_match>& route,
                                           std::string_view raw_path,
                                           const std::string& method) {
  if (!route)
    return error_response(404, "not_found", "no route for " + std::string{raw_path});
  if (std::find(route->methods.begin(), route->methods.end(), method) !=
      route->methods.end())
    return std::nullopt;
  std::string allowed;
  for (const auto& m : route->methods)
    allowed += (allowed.empty() ? "" : ", ") + m;
  auto res = error_response(405, "method_not_allowed",
                            method + " is not allowed here; use " + allowed);
  res.set(boost::beast::http::field::allow, allowed);
  return res;
}

/// 403 for the admin token on an account route and an API key on an admin route.
std::optional<net::response> access_refusal(const route_match& route, const caller& c) {
  if ((route.access == route_match::admin) == c.admin) return std::nullopt;
  return error_response(403, "forbidden",
                        c.admin ? "the admin token cannot use account routes"
                                : "this route needs the admin token");
}

/// Decides from its headers whether a request's body is read: only for a route that
/// exists, takes the method, and whose caller is authenticated and allowed.
void admit(rest_pointer self, const http_request& req, const net::admission_ptr& decide) {
  auto raw_path = net::split_target(req.target).first;
  auto route = match_route(raw_path);
  auto reply = metered(self, route, req.method,
                       [decide](net::response res) { decide->refuse(std::move(res)); });
  if (auto refused = route_refusal(route, raw_path, req.method))
    return reply(std::move(*refused));
  if (route->access == route_match::open) return decide->admit();
  authenticate(self, req, reply, [=, r = *route](caller c) {
    if (auto refused = access_refusal(r, c)) return reply(std::move(*refused));
    decide->admit();
  });
}

void dispatch(rest_pointer self, const http_request& req, const net::responder_ptr& out) {
  auto raw_path = net::split_target(req.target).first;
  auto route = match_route(raw_path);
  auto reply = metered(self, route, req.method,
                       [out](net::response res) { out->send(std::move(res)); });
  if (auto refused = route_refusal(route, raw_path, req.method))
    return reply(std::move(*refused));
  if (route->access == route_match::open) {
    if (route->route == route_id::healthz) {
      auto up = std::chrono::steady_clock::now() - self->state.started;
      auto uptime = std::chrono::duration_cast<std::chrono::seconds>(up).count();
      self->request(registry(self), std::chrono::seconds{5}, atom::health_v)
          .then(
              [reply, uptime](const storage::error_record& app) {
                json body = {
                    {"status", "ok"}, {"uptime_s", uptime}, {"app_error", nullptr}};
                if (!app.code.empty())
                  body["app_error"] = {
                      {"code", app.code}, {"message", app.message}, {"at", app.at}};
                reply(json_response(200, body));
              },
              refuse_with(reply));
      return;
    }
    if (route->route == route_id::metrics) {
      net::response res{boost::beast::http::status::ok, 11};
      res.set(boost::beast::http::field::content_type,
              "text/plain; version=0.0.4; charset=utf-8");
      res.body() = self->state.stores.metrics->render();
      return reply(std::move(res));
    }
    if (route->route == route_id::admin_consent_callback)
      return admin_consent_callback(self, req, reply);
    if (route->route == route_id::graph_notifications)
      return receive_notification(self, req, reply);
    return oauth_callback(self, req, reply);
  }
  authenticate(self, req, reply,
               [=](caller c) { route_to(self, *route, c, req, reply); });
}

/// Calls the route's handler for an authenticated caller.
void route_to(rest_pointer self, const route_match& route, const caller& c,
              const http_request& req, const reply_fn& reply) {
  if (auto refused = access_refusal(route, c)) return reply(std::move(*refused));
  const auto& m = req.method;
  const auto& id = route.id;
  switch (route.route) {
  case route_id::accounts:
    return m == "POST" ? create_account(self, req, reply) : list_accounts(self, reply);
  case route_id::account:
    return m == "GET" ? get_account(self, c, reply) : patch_account(self, c, req, reply);
  case route_id::mailboxes:
    return m == "POST" ? create_mailbox(self, c, req, reply)
                       : list_mailboxes(self, c, req, reply);
  case route_id::mailbox:
    return m == "GET" ? get_mailbox(self, c, id, reply)
                      : delete_mailbox(self, c, id, reply);
  case route_id::tickets:
    return list_tickets(self, c, req, reply);
  case route_id::ticket:
    return get_ticket(self, c, id, reply);
  case route_id::ticket_comments:
    return post_comment(self, c, id, req, reply);
  case route_id::outbox:
    return list_outbox(self, c, req, reply);
  case route_id::mailbox_outbound:
    return queue_outbound(self, c, id, req, reply);
  case route_id::rejections:
    return list_rejections(self, c, req, reply);
  case route_id::mailbox_reauthorize:
    return reauthorize_mailbox(self, c, id, reply);
  case route_id::mailbox_pause:
    return pause_mailbox(self, c, id, reply);
  case route_id::mailbox_resume:
    return resume_mailbox(self, c, id, reply);
  case route_id::rejection_recover:
    return recover_rejection(self, c, id, reply);
  case route_id::tenants:
    return list_tenants(self, c, reply);
  case route_id::tenant_consent:
    return start_admin_consent(self, c, reply);
  case route_id::tenant:
    return m == "GET" ? get_tenant(self, c, id, reply)
                      : delete_tenant(self, c, id, reply);
  case route_id::webhook_deliveries:
    return list_deliveries(self, c, req, reply);
  case route_id::webhook_retry:
    return retry_deliveries(self, c, id, reply);
  case route_id::healthz:
  case route_id::metrics:
  case route_id::oauth_callback:
  case route_id::admin_consent_callback:
  case route_id::graph_notifications:
    break; // open routes: dispatch answered them
  }
}

} // namespace

rest_actor::behavior_type rest_front(rest_pointer self, rest_config cfg,
                                     rest_stores stores) {
  self->state.cfg = std::move(cfg);
  self->state.stores = stores;
  stores.metrics->describe("exconnect_http_requests_total", "counter",
                           "REST API requests by route, method and status.");
  stores.metrics->describe("exconnect_push_notifications_total", "counter",
                           "Graph's notification items by outcome (accepted: the "
                           "mailbox's subscription; refused: no match).");
  return {
      [=](const http_request& req, const net::responder_ptr& out) {
        dispatch(self, req, out);
      },
      [=](const http_request& req, const net::admission_ptr& decide) {
        admit(self, req, decide);
      },
  };
}

} // namespace exc

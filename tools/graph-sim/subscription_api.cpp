// graph-sim's change notifications, as Microsoft documents them for mail:
// POST/GET/PATCH/DELETE /subscriptions, the validation handshake, notifications POSTed
// (and retried, by the notifier) on every change a subscription asks for, lifecycle
// events through the control API, and the switches that drop or delay notifications.
#include "simulator.hpp"

#include "message_fields.hpp"
#include "net/time_format.hpp"
#include "net/url.hpp"

#include <boost/beast/http.hpp>

#include <algorithm>

namespace graph_sim {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

/// The mailbox and folder a subscription's resource names: "users/{id or
/// address}/mailFolders('inbox')/messages", "…/mailFolders/inbox/messages",
/// "…/messages" (every folder), or the same below "me/".
struct resource_path {
  std::string user; ///< "" for me/
  std::string folder;
};

std::optional<resource_path> parse_resource(std::string r) {
  if (!r.empty() && r.front() == '/') r.erase(0, 1);
  auto parts = std::vector<std::string>{};
  std::size_t at = 0;
  while (at <= r.size()) {
    auto slash = r.find('/', at);
    if (slash == std::string::npos) slash = r.size();
    parts.push_back(r.substr(at, slash - at));
    at = slash + 1;
  }
  resource_path out;
  std::size_t next = 0;
  if (parts.size() >= 2 && net::iequals(parts[0], "users")) {
    out.user = net::to_lower(parts[1]);
    next = 2;
  } else if (!parts.empty() && net::iequals(parts[0], "me")) {
    next = 1;
  } else {
    return std::nullopt;
  }
  auto rest =
      std::vector<std::string>(parts.begin() + static_cast<long>(next), parts.end());
  if (rest.size() == 1 && net::iequals(rest[0], "messages")) return out;
  if (rest.size() == 2 && rest[1] == "messages") {
    auto f = net::to_lower(rest[0]); // mailFolders('Inbox')
    if (f.rfind("mailfolders('", 0) == 0 && f.size() > 15 &&
        f.substr(f.size() - 2) == "')")
      out.folder = f.substr(13, f.size() - 15);
    else
      return std::nullopt;
    return out;
  }
  if (rest.size() == 3 && net::iequals(rest[0], "mailFolders") &&
      net::iequals(rest[2], "messages")) {
    out.folder = net::to_lower(rest[1]);
    return out;
  }
  return std::nullopt;
}

/// https, or http to a loopback address (graph-sim's allowance for local tests).
bool acceptable_url(const std::string& url) {
  if (url.rfind("https://", 0) == 0) return url.size() > 8;
  for (const char* loopback : {"http://127.0.0.1:", "http://localhost:", "http://[::1]:"})
    if (url.rfind(loopback, 0) == 0) return true;
  return false;
}

std::optional<std::set<std::string>> parse_change_types(const std::string& text) {
  std::set<std::string> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    auto comma = text.find(',', at);
    if (comma == std::string::npos) comma = text.size();
    auto one = text.substr(at, comma - at);
    if (one != "created" && one != "updated" && one != "deleted") return std::nullopt;
    out.insert(one);
    at = comma + 1;
  }
  return out;
}

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& i : items)
    out += (out.empty() ? "" : ",") + i;
  return out;
}

/// A string field of `body`, if it is one.
std::optional<std::string> text_field(const json& body, const char* name) {
  auto i = body.find(name);
  if (i == body.end() || !i->is_string()) return std::nullopt;
  return i->get<std::string>();
}

} // namespace

std::optional<net::response> simulator::read_expiry(const call& c, const json& body,
                                                    sys_time& out) {
  auto text = body.is_object() ? text_field(body, "expirationDateTime")
                               : std::optional<std::string>{};
  auto expires = text ? net::parse_rfc3339(*text) : std::nullopt;
  if (!expires)
    return graph_error(c, 400, "InvalidRequest",
                       "expirationDateTime: an RFC 3339 date-time is required.");
  if (*expires <= now() || *expires > now() + settings_.subscription_max)
    return graph_error(c, 400, "ExtensionError",
                       "Subscription expiration can only be " +
                           std::to_string(settings_.subscription_max.count()) +
                           " minutes in the future.");
  out = *expires;
  return std::nullopt;
}

json simulator::render_subscription(const subscription& s) const {
  return {{"@odata.context",
           "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity"},
          {"id", s.id},
          {"resource", s.resource},
          {"applicationId", s.client_id},
          {"changeType", join(s.change_types)},
          {"clientState", s.client_state.empty() ? json{} : json(s.client_state)},
          {"notificationUrl", s.notification_url},
          {"lifecycleNotificationUrl",
           s.lifecycle_url.empty() ? json{} : json(s.lifecycle_url)},
          {"expirationDateTime", net::format_rfc3339(s.expires)},
          {"latestSupportedTlsVersion", "v1_2"}};
}

void simulator::route_subscriptions(std::shared_ptr<call> c,
                                    const net::responder_ptr& out) {
  const auto& seg = c->segments;
  auto method = c->req.method();
  c->endpoint = seg.size() == 2   ? (method == http::verb::post ? "create_subscription"
                                                                : "list_subscriptions")
                : seg.size() == 4 ? "reauthorize_subscription"
                : method == http::verb::patch   ? "update_subscription"
                : method == http::verb::delete_ ? "delete_subscription"
                                                : "get_subscription";
  std::unique_lock<std::mutex> lock{mutex_};
  auto reply = [&](net::response res) { answer(*c, lock, out, std::move(res)); };
  net::response refusal;
  auto token = authenticate(*c, refusal);
  if (!token) return reply(std::move(refusal));
  auto not_allowed = [&] {
    return graph_error(*c, 405, "Request_BadRequest",
                       "The HTTP method '" + std::string{c->req.method_string()} +
                           "' is not supported for this resource.");
  };
  if (seg.size() == 2) {
    if (method == http::verb::post) {
      lock.unlock();
      return create_subscription(c, *token, out);
    }
    if (method != http::verb::get) return reply(not_allowed());
    json list = json::array();
    for (const auto& [id, s] : subscriptions_)
      if (s.client_id == token->client_id && s.expires > now())
        list.push_back(render_subscription(s));
    return reply(json_response(
        200,
        {{"@odata.context", "https://graph.microsoft.com/v1.0/$metadata#subscriptions"},
         {"value", list}}));
  }
  if (seg.size() > 4 || (seg.size() == 4 && seg[3] != "reauthorize"))
    return reply(graph_error(*c, 404, "ResourceNotFound", "Resource not found."));
  auto si = subscriptions_.find(seg[2]);
  if (si == subscriptions_.end() || si->second.client_id != token->client_id ||
      si->second.expires <= now())
    return reply(
        graph_error(*c, 404, "ResourceNotFound",
                    "The object was not found (subscription '" + seg[2] + "')."));
  auto& s = si->second;
  if (seg.size() == 4) {
    if (method != http::verb::post) return reply(not_allowed());
    s.needs_reauthorization = false;
    return reply(net::response{http::status::ok, 11});
  }
  if (method == http::verb::get) return reply(json_response(200, render_subscription(s)));
  if (method == http::verb::delete_) {
    subscriptions_of_[s.mailbox_id].erase(s.id);
    subscriptions_.erase(si);
    return reply(net::response{http::status::no_content, 11});
  }
  if (method != http::verb::patch) return reply(not_allowed());
  auto body = json::parse(c->req.body(), nullptr, false);
  if (auto refused = read_expiry(*c, body, s.expires)) return reply(std::move(*refused));
  s.needs_reauthorization = false; // renewing reauthorizes, as Microsoft allows
  return reply(json_response(200, render_subscription(s)));
}

void simulator::create_subscription(std::shared_ptr<call> c, const access_token& token,
                                    const net::responder_ptr& out) {
  std::unique_lock<std::mutex> lock{mutex_};
  auto reply = [&](net::response res) {
    finish_graph(*c, res);
    if (lock.owns_lock()) lock.unlock();
    out->send(std::move(res));
  };
  auto bad = [&](const std::string& message) {
    return reply(graph_error(*c, 400, "InvalidRequest", message));
  };
  auto body = json::parse(c->req.body(), nullptr, false);
  if (!body.is_object())
    return reply(
        graph_error(*c, 400, "BadRequest", "Unable to read JSON request payload."));
  subscription s;
  auto change_type = text_field(body, "changeType");
  auto types = change_type ? parse_change_types(*change_type) : std::nullopt;
  if (!types)
    return bad(
        "changeType: created, updated, deleted or a comma-separated list of them.");
  s.change_types = std::move(*types);
  auto url = text_field(body, "notificationUrl");
  if (!url || !acceptable_url(*url))
    return bad("notificationUrl: the URL must use https (graph-sim also takes http to a "
               "loopback address).");
  s.notification_url = *url;
  if (body.contains("lifecycleNotificationUrl") &&
      !body["lifecycleNotificationUrl"].is_null()) {
    auto lifecycle = text_field(body, "lifecycleNotificationUrl");
    if (!lifecycle || !acceptable_url(*lifecycle))
      return bad("lifecycleNotificationUrl: the URL must use https.");
    s.lifecycle_url = *lifecycle;
  }
  if (body.contains("clientState") && !body["clientState"].is_null()) {
    auto state = text_field(body, "clientState");
    if (!state || state->size() > 128)
      return bad("clientState: a string of at most 128 characters.");
    s.client_state = *state;
  }
  if (auto refused = read_expiry(*c, body, s.expires)) return reply(std::move(*refused));
  auto resource = text_field(body, "resource");
  auto where = resource ? parse_resource(*resource) : std::nullopt;
  if (!where)
    return bad("resource: graph-sim takes users/{id}/mailFolders('{folder}')/messages or "
               "users/{id}/messages.");
  s.resource = *resource;
  s.folder = where->folder;
  if (where->user.empty() && token.app_only)
    return reply(
        graph_error(*c, 400, "BadRequest",
                    "/me request is only valid with delegated authentication flow."));
  auto* mb = find_mailbox(where->user.empty() ? token.user : where->user);
  if (!mb)
    return reply(graph_error(*c, 404, "ErrorInvalidUser",
                             "The requested user '" + where->user + "' is invalid."));
  // Delegated tokens may subscribe to their user's own mailbox only (the .Shared scopes
  // do not extend to subscriptions); app-only tokens to any mailbox they may open.
  bool allowed =
      token.app_only
          ? may_open(token, *mb, false) && app_may_open(token.client_id, *mb)
          : token.user == mb->address && !mb->shared && may_open(token, *mb, false);
  if (!allowed)
    return reply(graph_error(
        *c, 403, "ExtensionError",
        "Operation: Create; Exception: [Status Code: Forbidden; Reason: Access is "
        "denied. Check credentials and try again.]"));
  s.id = new_guid();
  s.client_id = token.client_id;
  s.mailbox_id = mb->id;
  auto validation_token = "Validation: Testing client application reachability for "
                          "subscription Request-Id: " +
                          new_guid();
  lock.unlock();
  // The handshake, without the lock: the endpoint may call graph-sim meanwhile.
  auto shared = std::make_shared<subscription>(std::move(s));
  auto finish = [this, c, out, shared](bool ok, const std::string& why) {
    std::unique_lock<std::mutex> guard{mutex_};
    net::response res =
        ok ? json_response(201, render_subscription(*shared))
           : graph_error(*c, 400, "ValidationError",
                         "Subscription validation request failed. Notification endpoint "
                         "must respond with 200 OK to validation request: " +
                             why);
    if (ok) {
      subscriptions_of_[shared->mailbox_id].insert(shared->id);
      subscriptions_[shared->id] = *shared;
    }
    finish_graph(*c, res);
    guard.unlock();
    out->send(std::move(res));
  };
  notifier_->validate(shared->notification_url, validation_token,
                      [this, shared, validation_token, finish](bool ok, std::string why) {
                        if (!ok || shared->lifecycle_url.empty()) return finish(ok, why);
                        notifier_->validate(shared->lifecycle_url, validation_token,
                                            [finish](bool ok2, std::string why2) {
                                              finish(ok2,
                                                     "lifecycleNotificationUrl: " + why2);
                                            });
                      });
}

void simulator::notify(const mailbox& mb, const message& m, const char* change_type) {
  auto i = subscriptions_of_.find(mb.id);
  if (i == subscriptions_of_.end()) return;
  auto t = now();
  for (const auto& id : i->second) {
    auto& s = subscriptions_.at(id);
    if (s.expires <= t || !s.change_types.count(change_type) ||
        (!s.folder.empty() && s.folder != m.folder))
      continue;
    auto path = "Users/" + mb.id + "/Messages/" + m.id;
    json item = {{"subscriptionId", s.id},
                 {"subscriptionExpirationDateTime", net::format_rfc3339(s.expires)},
                 {"changeType", change_type},
                 {"resource", path},
                 {"resourceData",
                  {{"@odata.type", "#Microsoft.Graph.Message"},
                   {"@odata.id", path},
                   {"@odata.etag", "W/\"" + std::to_string(m.change) + "\""},
                   {"id", m.id}}},
                 {"clientState", s.client_state.empty() ? json{} : json(s.client_state)},
                 {"tenantId", settings_.tenant_id}};
    ++s.notifications;
    notifier_->deliver(s.notification_url, json{{"value", json::array({item})}}.dump());
  }
}

void simulator::send_lifecycle(const subscription& s, const std::string& event) {
  json item = {{"subscriptionId", s.id},
               {"subscriptionExpirationDateTime", net::format_rfc3339(s.expires)},
               {"tenantId", settings_.tenant_id},
               {"clientState", s.client_state.empty() ? json{} : json(s.client_state)},
               {"lifecycleEvent", event}};
  notifier_->deliver(s.lifecycle_url, json{{"value", json::array({item})}}.dump());
}

net::response simulator::control_subscriptions(call& c) {
  const auto& seg = c.segments;
  auto method = c.req.method();
  if (seg.size() == 2) {
    if (method != http::verb::get)
      return graph_error(c, 405, "MethodNotAllowed", "Method not allowed on " + c.path);
    json list = json::array();
    auto t = now();
    for (const auto& [id, s] : subscriptions_) {
      auto* mb = find_mailbox(s.mailbox_id);
      list.push_back({{"id", id},
                      {"client_id", s.client_id},
                      {"mailbox", mb ? mb->address : ""},
                      {"resource", s.resource},
                      {"change_type", join(s.change_types)},
                      {"notification_url", s.notification_url},
                      {"lifecycle_url", s.lifecycle_url},
                      {"expires", net::format_rfc3339(s.expires)},
                      {"expired", s.expires <= t},
                      {"needs_reauthorization", s.needs_reauthorization},
                      {"notifications", s.notifications}});
    }
    return json_response(200, {{"subscriptions", list}});
  }
  if (seg.size() != 4 || seg[3] != "lifecycle" || method != http::verb::post)
    return graph_error(c, 404, "ResourceNotFound", "No control route " + c.path);
  auto si = subscriptions_.find(seg[2]);
  if (si == subscriptions_.end())
    return graph_error(c, 404, "ResourceNotFound", "No subscription '" + seg[2] + "'.");
  auto body = json::parse(c.req.body(), nullptr, false);
  auto event = body.is_object() ? text_field(body, "event") : std::nullopt;
  if (!event || (*event != "reauthorizationRequired" && *event != "subscriptionRemoved" &&
                 *event != "missed"))
    return graph_error(c, 400, "BadRequest",
                       "field 'event': reauthorizationRequired, subscriptionRemoved or "
                       "missed");
  if (si->second.lifecycle_url.empty())
    return graph_error(c, 409, "Conflict",
                       "the subscription has no lifecycleNotificationUrl: Graph sends "
                       "lifecycle events only there");
  send_lifecycle(si->second, *event);
  if (*event == "reauthorizationRequired") si->second.needs_reauthorization = true;
  if (*event == "subscriptionRemoved") {
    subscriptions_of_[si->second.mailbox_id].erase(si->first);
    subscriptions_.erase(si);
  }
  return json_response(202, {{"event", *event}});
}

net::response simulator::control_notifications(call& c) {
  auto method = c.req.method();
  if (method == http::verb::put) {
    auto body = json::parse(c.req.body(), nullptr, false);
    if (!body.is_object())
      return graph_error(c, 400, "BadRequest", "the body must be a JSON object");
    auto current = notifier_->switches();
    bool drop = current["drop"];
    std::int64_t delay = current["delay_ms"];
    if (body.contains("drop")) {
      if (!body["drop"].is_boolean())
        return graph_error(c, 400, "BadRequest", "field 'drop': expected a boolean");
      drop = body["drop"];
    }
    if (body.contains("delay_ms")) {
      if (!body["delay_ms"].is_number_unsigned())
        return graph_error(c, 400, "BadRequest",
                           "field 'delay_ms': expected a non-negative integer");
      delay = body["delay_ms"];
    }
    notifier_->set_switches(drop, std::chrono::milliseconds{delay});
  } else if (method != http::verb::get) {
    return graph_error(c, 405, "MethodNotAllowed", "Method not allowed on " + c.path);
  }
  auto out = notifier_->switches();
  out["stats"] = notifier_->stats();
  return json_response(200, out);
}

} // namespace graph_sim

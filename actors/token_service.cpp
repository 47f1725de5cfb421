#include "actors/token_service.hpp"

#include "messages/error.hpp"
#include "messages/services.hpp"
#include "messages/storage_requests.hpp"
#include "messages/tenant_key.hpp"
#include "net/url.hpp"
#include "storage/secret_file.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace exc {

using nlohmann::json;
using self_ptr = token_service_actor::stateful_pointer<token_service_state>;

const char* to_string(token_outcome o) {
  switch (o) {
  case token_outcome::granted:
    return "ok";
  case token_outcome::grant_gone:
    return "invalid_grant";
  case token_outcome::app_rejected:
    return "invalid_client";
  case token_outcome::transient:
    return "transient";
  }
  return "transient";
}

classified_token_response classify_token_response(const net::client_response& res) {
  classified_token_response out;
  if (!res.ok()) {
    out.code = net::to_string(res.error);
    out.message = res.error_message;
    return out; // transient
  }
  auto body = json::parse(res.body, nullptr, false);
  if (res.status == 200) {
    if (body.is_object() && body.value("access_token", json{}).is_string()) {
      out.outcome = token_outcome::granted;
      out.grant.access_token = body["access_token"].get<std::string>();
      if (body.value("refresh_token", json{}).is_string())
        out.grant.refresh_token = body["refresh_token"].get<std::string>();
      auto expires = body.value("expires_in", json{});
      if (expires.is_number_integer())
        out.grant.expires_in = expires.get<std::int64_t>();
      else if (expires.is_string()) // some deployments send it as a string
        out.grant.expires_in = std::atoll(expires.get<std::string>().c_str());
      if (out.grant.expires_in <= 0) out.grant.expires_in = 3600;
      if (body.value("scope", json{}).is_string())
        out.grant.scope = body["scope"].get<std::string>();
      return out;
    }
    out.code = "bad_response";
    out.message = "token endpoint answered 200 without an access_token";
    return out; // transient
  }
  auto& codes = out.codes;
  if (body.is_object()) {
    out.code = body.value("error", json{}).is_string() ? body["error"].get<std::string>()
                                                       : std::string{};
    auto description = body.value("error_description", json{});
    if (description.is_string()) {
      auto text = description.get<std::string>();
      out.message = text.substr(0, text.find_first_of("\r\n"));
    }
    if (body.value("error_codes", json{}).is_array())
      for (const auto& c : body["error_codes"])
        if (c.is_number_integer()) codes.push_back(c.get<long long>());
  }
  if (out.code.empty()) out.code = "http_" + std::to_string(res.status);
  if (out.message.empty())
    out.message = "token endpoint answered " + std::to_string(res.status);
  auto has_code = [&](std::initializer_list<long long> wanted) {
    return std::any_of(codes.begin(), codes.end(), [&](long long c) {
      return std::find(wanted.begin(), wanted.end(), c) != wanted.end();
    });
  };
  if (out.code == "invalid_client" || out.code == "unauthorized_client" ||
      has_code({7000215, 7000222, 7000218, 700016}))
    out.outcome = token_outcome::app_rejected;
  else if (out.code == "temporarily_unavailable" || res.status == 429 ||
           res.status >= 500)
    out.outcome = token_outcome::transient;
  else if (out.code == "invalid_grant" || out.code == "interaction_required" ||
           out.code == "consent_required" || out.code == "login_required" ||
           out.code == "invalid_scope" || has_code({70008, 700082, 50173, 65001}))
    out.outcome = token_outcome::grant_gone;
  else
    out.outcome = token_outcome::transient; // unknown: do not give up a grant over it
  return out;
}

namespace {

/// Who hears token events: the subscriber, else the one registered by name (a
/// restarted TOKEN SERVICE has no subscriber).
token_events_actor
listener(token_service_actor::stateful_pointer<token_service_state> self) {
  if (self->state.listener) return self->state.listener;
  return service::get<token_events_actor>(self->system());
}

/// The next delay after `failures` failures in a row, with jitter.
std::chrono::milliseconds backoff(self_ptr self, unsigned failures) {
  const auto& cfg = self->state.cfg;
  auto delay = cfg.backoff_initial;
  for (unsigned i = 1; i < failures && delay < cfg.backoff_max; ++i)
    delay *= 2;
  delay = std::min(delay, cfg.backoff_max);
  std::uniform_int_distribution<long long> jitter{delay.count() / 2, delay.count()};
  return std::chrono::milliseconds{jitter(self->state.rng)};
}

void count(self_ptr self, const char* kind, token_outcome o) {
  self->state.metrics->add("exconnect_token_requests_total",
                           {{"kind", kind}, {"result", to_string(o)}});
}

net::client_request token_request(self_ptr self, net::params form) {
  const auto& cfg = self->state.cfg;
  form.emplace_back("client_id", cfg.client_id);
  form.emplace_back("client_secret", cfg.client_secret);
  net::client_request req;
  req.method = "POST";
  req.url = cfg.token_url;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  req.body = net::encode_query(form);
  req.timeout = cfg.request_timeout;
  return req;
}

/// Adopts the secret file's content if it changed; true if it did.
bool reload_secret(self_ptr self) {
  auto& st = self->state;
  if (st.cfg.client_secret_file.empty()) return false;
  st.secret_checked_at = self->clock().now();
  auto secret = storage::read_secret_file(st.cfg.client_secret_file);
  if (!secret) {
    auto problem = render(secret.error());
    if (problem != st.secret_problem)
      spdlog::warn("token-service: cannot use the client secret file: {}", problem);
    st.secret_problem = std::move(problem);
    return false;
  }
  st.secret_problem.clear();
  if (*secret == st.cfg.client_secret) return false;
  spdlog::info("token-service: the client secret file changed; trying the new secret");
  st.cfg.client_secret = std::move(*secret);
  st.app_retry_at = self->clock().now(); // the next ask tries it at once
  return true;
}

/// While the app's secret is refused, refreshes wait for the app's backoff; the first
/// attempt after it probes whether the secret works again.
caf::error gate(self_ptr self, const token_entry& e, caf::actor_clock::time_point now) {
  auto& st = self->state;
  if (!st.app_error_code.empty()) {
    // The operator fixes a refused secret by rewriting the secret file: look at it at
    // most once a second so the fix takes effect without waiting out the backoff.
    if (now >= st.secret_checked_at + std::chrono::seconds{1}) reload_secret(self);
    if (now < st.app_retry_at)
      return make_error(ec::app_credentials_rejected, st.app_error_message);
  }
  if (e.failures > 0 && now < e.retry_at) return e.last_error;
  return {};
}

void set_app_error(self_ptr self, const classified_token_response& r) {
  auto& st = self->state;
  ++st.app_failures;
  st.app_retry_at = self->clock().now() + backoff(self, st.app_failures);
  reload_secret(self);
  bool changed = st.app_error_code != r.code || st.app_error_message != r.message;
  st.app_error_code = r.code;
  st.app_error_message = r.message;
  if (changed) {
    spdlog::error("token-service: the login service refuses the app's credentials: {}",
                  r.message);
    st.metrics->set("exconnect_app_credentials_ok", {}, 0);
    if (auto to = listener(self)) self->send(to, atom::app_status_v, r.code, r.message);
  }
}

void clear_app_error(self_ptr self) {
  auto& st = self->state;
  st.app_failures = 0;
  if (st.app_error_code.empty()) return;
  spdlog::info("token-service: the login service accepts the app's credentials again");
  st.app_error_code.clear();
  st.app_error_message.clear();
  st.metrics->set("exconnect_app_credentials_ok", {}, 1);
  if (auto to = listener(self))
    self->send(to, atom::app_status_v, std::string{}, std::string{});
}

/// Whether `e` holds a token that has not expired.
bool valid(self_ptr self, const token_entry& e) {
  return e.access_token && self->clock().now() < e.expires_at;
}

/// Puts `id`'s token into the token cache, fresh until its refresh is due (callers ask
/// this service from then on, which refreshes it), or takes it out.
void publish(self_ptr self, const std::string& id, const token_entry& e) {
  auto* cache = self->state.cache;
  if (!cache) return;
  if (valid(self, e) && e.reauth_reason.empty())
    cache->put(id, e.access_token, e.expires_at - self->state.cfg.refresh_margin);
  else
    cache->drop(id);
}

/// Ends a refresh: waiters get the token if one is still valid, else `err`.
void finish(self_ptr self, token_entry& e, const caf::error& err) {
  e.refreshing = false;
  auto waiters = std::move(e.waiters);
  e.waiters.clear();
  bool ok = valid(self, e);
  for (auto& w : waiters) {
    if (!err || ok)
      w.deliver(*e.access_token);
    else
      w.deliver(err);
  }
}

void mark_grant_gone(self_ptr self, const std::string& id, token_entry& e,
                     const std::string& reason) {
  spdlog::warn("token-service: mailbox {} needs a new consent: {}", id, reason);
  e.reauth_reason = reason.empty() ? "the grant is gone" : reason;
  e.access_token.reset();
  publish(self, id, e);
  if (auto to = listener(self)) self->send(to, atom::reauth_v, id, e.reauth_reason);
  finish(self, e, make_error(ec::reauthorization_required, e.reauth_reason));
}

/// The refresh worked: the mailbox has its access token.
void accept_grant(self_ptr self, const std::string& id, token_entry& e,
                  const token_grant& grant) {
  e.access_token = std::make_shared<const std::string>(grant.access_token);
  e.expires_at = self->clock().now() + std::chrono::seconds{grant.expires_in};
  e.failures = 0;
  e.last_error = {};
  publish(self, id, e);
  clear_app_error(self);
  finish(self, e, {});
}

/// The rotated refresh token could not be stored: tried again after a backoff.
void rotation_failed(self_ptr self, const std::string& id, token_entry& e,
                     const caf::error& err) {
  spdlog::error("token-service: cannot store the rotated refresh token of {}: {}", id,
                render(err));
  ++e.failures;
  e.retry_at = self->clock().now() + backoff(self, e.failures);
  e.last_error = make_error(ec::token_unavailable, render(err));
  finish(self, e, e.last_error);
}

/// The entry an answer of the token endpoint is for (nullptr if it was forgotten
/// meanwhile), and the answer sorted into `r`.
token_entry* answered(self_ptr self, const std::string& id,
                      const net::client_response& res, classified_token_response& r) {
  auto i = self->state.entries.find(id);
  if (i == self->state.entries.end()) return nullptr;
  r = classify_token_response(res);
  return &i->second;
}

/// A transient failure: the entry's askers get it, the next try waits a backoff.
void failed_transiently(self_ptr self, const std::string& id, token_entry& e,
                        const classified_token_response& r, const char* what) {
  ++e.failures;
  e.retry_at = self->clock().now() + backoff(self, e.failures);
  e.last_error = make_error(ec::token_unavailable, r.code + ": " + r.message);
  spdlog::warn("token-service: {} for {} failed ({} in a row): {}", what, id, e.failures,
               render(e.last_error));
  finish(self, e, e.last_error);
}

void on_refreshed(self_ptr self, const std::string& id, const std::string& old_refresh,
                  const net::client_response& res) {
  auto& st = self->state;
  classified_token_response r;
  auto* entry = answered(self, id, res, r);
  if (!entry) return; // forgotten meanwhile
  auto& e = *entry;
  count(self, "refresh", r.outcome);
  switch (r.outcome) {
  case token_outcome::granted: {
    // Rotation: the new refresh token is durable before the new access token is
    // handed to anyone. If that fails the old one still works at Microsoft.
    if (r.grant.refresh_token.empty() || r.grant.refresh_token == old_refresh)
      return accept_grant(self, id, e, r.grant);
    storage::batch changes;
    if (auto err = st.credentials->stage_store(changes, id, r.grant.refresh_token))
      return rotation_failed(self, id, e, err);
    storage_requests::commit_awaited(self, std::move(changes),
                                     storage::durability::durable,
                                     [=, grant = r.grant](const caf::error& err) {
                                       auto i = self->state.entries.find(id);
                                       if (i == self->state.entries.end())
                                         return; // forgotten meanwhile
                                       if (err)
                                         return rotation_failed(self, id, i->second, err);
                                       accept_grant(self, id, i->second, grant);
                                     });
    return;
  }
  case token_outcome::grant_gone:
    mark_grant_gone(self, id, e, r.message);
    return;
  case token_outcome::app_rejected:
    set_app_error(self, r);
    finish(self, e, make_error(ec::app_credentials_rejected, r.message));
    return;
  case token_outcome::transient:
    return failed_transiently(self, id, e, r, "refresh");
  }
}

void on_app_token(self_ptr self, const std::string& id, const net::client_response& res) {
  classified_token_response r;
  auto* entry = answered(self, id, res, r);
  if (!entry) return; // forgotten meanwhile
  auto& e = *entry;
  // Only a refused secret (AADSTS7000215, 7000222, 7000218) is about the app
  // everywhere. Anything else refused here is this tenant's doing (the app removed,
  // 700016, 7000229, or disabled, 7000112): its consent is gone, the other tenants and
  // mailboxes go on.
  bool secret_refused = std::any_of(r.codes.begin(), r.codes.end(), [](long long c) {
    return c == 7000215 || c == 7000222 || c == 7000218;
  });
  if (r.outcome == token_outcome::app_rejected && !secret_refused)
    r.outcome = token_outcome::grant_gone;
  count(self, "app", r.outcome);
  switch (r.outcome) {
  case token_outcome::granted:
    return accept_grant(self, id, e, r.grant);
  case token_outcome::grant_gone:
    return mark_grant_gone(self, id, e,
                           "the tenant's administrator consent is gone: " + r.message);
  case token_outcome::app_rejected:
    set_app_error(self, r);
    return finish(self, e, make_error(ec::app_credentials_rejected, r.message));
  case token_outcome::transient:
    return failed_transiently(self, id, e, r, "app-only token");
  }
}

/// A tenant's app-only token: client credentials at the tenant's token endpoint.
void start_app_token(self_ptr self, const std::string& id, token_entry& e) {
  auto& st = self->state;
  auto tenant = tenant_of_key(id);
  if (!plausible_tenant_id(tenant))
    return finish(self, e,
                  make_error(ec::token_unavailable, "not a tenant id: " + tenant));
  e.refreshing = true;
  auto req = token_request(self, {{"grant_type", "client_credentials"},
                                  {"scope", "https://graph.microsoft.com/.default"}});
  req.url = st.cfg.login_url + "/" + tenant + "/oauth2/v2.0/token";
  self->request(service::get<http_actor>(self->system()),
                st.cfg.request_timeout + std::chrono::seconds{5}, std::move(req))
      .then([=](const net::client_response& res) { on_app_token(self, id, res); },
            [=](const caf::error& err) {
              net::client_response res;
              res.error = net::transport_error::io;
              res.error_message = render(err);
              on_app_token(self, id, res);
            });
}

void start_refresh(self_ptr self, const std::string& id, token_entry& e) {
  auto& st = self->state;
  if (!tenant_of_key(id).empty()) return start_app_token(self, id, e);
  e.refreshing = true;
  storage::batch reseal;
  auto stored = st.credentials->load(id, reseal);
  // A record sealed with a retired master key: sealed again, durably, in passing.
  storage_requests::commit(self, std::move(reseal), storage::durability::durable,
                           [id](const caf::error& err) {
                             if (err)
                               spdlog::warn("token-service: cannot reseal the grant of "
                                            "{}: {}",
                                            id, render(err));
                           });
  if (!stored) {
    e.last_error = make_error(ec::token_unavailable, render(stored.error()));
    ++e.failures;
    e.retry_at = self->clock().now() + backoff(self, e.failures);
    finish(self, e, e.last_error);
    return;
  }
  if (!*stored) {
    mark_grant_gone(self, id, e, "no grant is stored for this mailbox");
    return;
  }
  auto refresh_token = **stored;
  auto req = token_request(self, {{"grant_type", "refresh_token"},
                                  {"refresh_token", refresh_token},
                                  {"scope", st.cfg.scope}});
  self->request(service::get<http_actor>(self->system()),
                st.cfg.request_timeout + std::chrono::seconds{5}, std::move(req))
      .then(
          [=](const net::client_response& res) {
            on_refreshed(self, id, refresh_token, res);
          },
          [=](const caf::error& err) {
            net::client_response res;
            res.error = net::transport_error::io;
            res.error_message = render(err);
            on_refreshed(self, id, refresh_token, res);
          });
}

} // namespace

token_service_actor::behavior_type
token_service(token_service_actor::stateful_pointer<token_service_state> self,
              token_service_config cfg, const storage::credential_store* credentials,
              net::metrics* metrics, token_cache* cache) {
  auto& st = self->state;
  st.cache = cache;
  if (cache) cache->clear(); // what a previous TOKEN SERVICE published it may not know
  st.cfg = std::move(cfg);
  st.credentials = credentials;
  st.metrics = metrics;
  metrics->describe(
      "exconnect_token_requests_total", "counter",
      "Requests to the token endpoint by kind (refresh, code, app) and result "
      "class (ok, invalid_grant, invalid_client, transient).");
  metrics->describe("exconnect_app_credentials_ok", "gauge",
                    "1 while the login service accepts the app's client credentials.");
  metrics->set("exconnect_app_credentials_ok", {}, 1);
  return {
      [=](atom::token, const std::string& id) -> caf::result<std::string> {
        auto& e = self->state.entries[id];
        if (!e.reauth_reason.empty())
          return make_error(ec::reauthorization_required, e.reauth_reason);
        auto now = self->clock().now();
        bool usable = valid(self, e);
        if (usable && now + self->state.cfg.refresh_margin < e.expires_at)
          return *e.access_token;
        if (!e.refreshing) {
          if (auto err = gate(self, e, now)) {
            if (usable) return *e.access_token;
            return err;
          }
        }
        if (usable) { // refresh ahead of expiry; the current token still works
          if (!e.refreshing) start_refresh(self, id, e);
          return *e.access_token;
        }
        auto rp = self->make_response_promise<std::string>();
        e.waiters.push_back(rp);
        if (!e.refreshing) start_refresh(self, id, e);
        return rp;
      },
      [=](atom::redeem, const std::string& code, const std::string& verifier,
          const std::string& redirect_uri) -> caf::result<token_grant> {
        auto rp = self->make_response_promise<token_grant>();
        // A sign-in may be the first request after the operator fixed the secret.
        auto now = self->clock().now();
        if (!self->state.app_error_code.empty() &&
            now >= self->state.secret_checked_at + std::chrono::seconds{1})
          reload_secret(self);
        auto req = token_request(self, {{"grant_type", "authorization_code"},
                                        {"code", code},
                                        {"redirect_uri", redirect_uri},
                                        {"code_verifier", verifier},
                                        {"scope", self->state.cfg.scope}});
        self->request(service::get<http_actor>(self->system()),
                      self->state.cfg.request_timeout + std::chrono::seconds{5},
                      std::move(req))
            .then(
                [=](const net::client_response& res) mutable {
                  auto r = classify_token_response(res);
                  count(self, "code", r.outcome);
                  switch (r.outcome) {
                  case token_outcome::granted:
                    clear_app_error(self);
                    if (r.grant.refresh_token.empty())
                      rp.deliver(make_error(ec::code_refused,
                                            "no refresh token granted: the scope "
                                            "offline_access is missing"));
                    else
                      rp.deliver(r.grant);
                    return;
                  case token_outcome::app_rejected:
                    set_app_error(self, r);
                    rp.deliver(make_error(ec::app_credentials_rejected, r.message));
                    return;
                  case token_outcome::grant_gone:
                    rp.deliver(make_error(ec::code_refused, r.code + ": " + r.message));
                    return;
                  case token_outcome::transient:
                    rp.deliver(
                        make_error(ec::token_unavailable, r.code + ": " + r.message));
                    return;
                  }
                },
                [=](const caf::error& err) mutable {
                  count(self, "code", token_outcome::transient);
                  rp.deliver(make_error(ec::token_unavailable, render(err)));
                });
        return rp;
      },
      [=](atom::adopt, const std::string& id,
          const token_grant& grant) -> caf::result<bool> {
        storage::batch changes;
        if (auto err =
                self->state.credentials->stage_store(changes, id, grant.refresh_token))
          return err;
        auto rp = self->make_response_promise<bool>();
        storage_requests::commit_awaited(self, std::move(changes),
                                         storage::durability::durable,
                                         [=](const caf::error& err) mutable {
                                           if (err) {
                                             rp.deliver(err);
                                             return;
                                           }
                                           auto& e = self->state.entries[id];
                                           e.reauth_reason.clear();
                                           accept_grant(self, id, e, grant);
                                           rp.deliver(true);
                                         });
        return rp;
      },
      [=](atom::invalidate, const std::string& id, const std::string& access_token) {
        auto i = self->state.entries.find(id);
        if (i != self->state.entries.end() && i->second.access_token &&
            *i->second.access_token == access_token) {
          i->second.access_token.reset();
          publish(self, id, i->second);
        }
      },
      [=](atom::forget, const std::string& id) -> caf::result<bool> {
        auto i = self->state.entries.find(id);
        if (i != self->state.entries.end()) {
          auto e = std::move(i->second);
          self->state.entries.erase(i);
          e.access_token.reset();
          publish(self, id, e);
          finish(self, e, make_error(ec::reauthorization_required, "mailbox deleted"));
        }
        storage::batch changes;
        self->state.credentials->stage_erase(changes, id);
        auto rp = self->make_response_promise<bool>();
        storage_requests::commit_awaited(self, std::move(changes),
                                         storage::durability::durable,
                                         [=](const caf::error& err) mutable {
                                           if (err)
                                             rp.deliver(err);
                                           else
                                             rp.deliver(true);
                                         });
        return rp;
      },
      [=](atom::subscribe, const token_events_actor& listener) {
        self->state.listener = listener;
        if (!self->state.app_error_code.empty())
          self->send(listener, atom::app_status_v, self->state.app_error_code,
                     self->state.app_error_message);
      },
  };
}

} // namespace exc

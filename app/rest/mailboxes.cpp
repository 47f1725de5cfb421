// Mailbox routes: connect, list, show, reauthorize, pause, resume, delete; the mailbox
// view joins the REGISTRY's record with its MAILBOX's live status.
#include "app/rest/routes.hpp"

#include "net/time_format.hpp"

#include "messages/error.hpp"
#include "net/url.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <optional>

namespace exc::rest {

using nlohmann::json;

namespace {

/// A plausible mailbox address: local@domain, printable ASCII without spaces, one '@',
/// a dot in the domain. Graph decides the rest.
bool address_ok(const std::string& s) {
  auto at = s.find('@');
  if (s.size() > 254 || at == std::string::npos || at == 0 || at + 1 >= s.size() ||
      s.find('@', at + 1) != std::string::npos)
    return false;
  auto domain = s.substr(at + 1);
  if (domain.find('.') == std::string::npos || domain.front() == '.' ||
      domain.back() == '.')
    return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return c > 0x20 && c < 0x7f && c != '/' && c != '\\' && c != '?' && c != '#' &&
           c != '"' && c != '<' && c != '>' && c != ',' && c != ';';
  });
}

std::optional<net::response> integer_field(const json& j, const char* name,
                                           std::int64_t min, std::int64_t max,
                                           std::int64_t& out) {
  if (!j.contains(name)) return std::nullopt;
  const auto& v = j[name];
  if (!v.is_number_integer() || v.get<std::int64_t>() < min ||
      v.get<std::int64_t>() > max)
    return error_response(400, "invalid_field",
                          std::string{name} + " must be an integer from " +
                              std::to_string(min) + " to " + std::to_string(max),
                          name);
  out = v.get<std::int64_t>();
  return std::nullopt;
}

/// The live status of every running mailbox among `entries`, asked of their
/// MAILBOXes (one that does not answer in time shows without it); then `done`.
void with_status(rest_pointer self, std::vector<mailbox_entry> entries,
                 std::function<void(const std::vector<mailbox_entry>&,
                                    const std::vector<std::optional<live_status>>&)>
                     done) {
  struct join {
    std::vector<mailbox_entry> entries;
    std::vector<std::optional<live_status>> status;
    std::size_t left = 0;
  };
  auto j = std::make_shared<join>();
  j->entries = std::move(entries);
  j->status.resize(j->entries.size());
  for (const auto& e : j->entries)
    if (e.actor) ++j->left;
  if (j->left == 0) return done(j->entries, j->status);
  auto finish = [j, done] {
    if (--j->left == 0) done(j->entries, j->status);
  };
  for (std::size_t i = 0; i < j->entries.size(); ++i) {
    if (!j->entries[i].actor) continue;
    self->request(j->entries[i].actor, std::chrono::seconds{5}, atom::status_v)
        .then(
            [j, i, finish](const live_status& s) {
              j->status[i] = s;
              finish();
            },
            [finish](const caf::error&) { finish(); });
  }
}

json mailbox_view(rest_pointer self, const mailbox_entry& e,
                  const std::optional<live_status>& live) {
  const auto& st = self->state;
  const auto& mb = e.record;
  auto error_view = [](const storage::error_record& r) {
    return json{{"code", r.code},
                {"message", r.message},
                {"at", r.at},
                {"step", r.step.empty() ? json(nullptr) : json(r.step)}};
  };
  json last_error = nullptr;
  if (mb.last_error) last_error = error_view(*mb.last_error);
  json app_error = nullptr;
  if (!e.app_error.code.empty()) {
    app_error = error_view(e.app_error);
    // Only a mailbox that should be polling is stopped by the app's error; a paused
    // one or one that needs a new consent keeps its own, truer state.
    if (storage::polls(mb.status)) last_error = app_error;
  }
  auto window = [](const rate_limit& r, std::uint64_t used) {
    return json{{"used", used},
                {"limit", r.count},
                {"window_s", std::chrono::duration<double>(r.window).count()}};
  };
  live_status now = live.value_or(live_status{});
  auto poll = mb.poll_interval_s > 0 ? mb.poll_interval_s : st.cfg.poll_interval.count();
  auto stored = st.stores.helpdesk->counters(mb.id);
  json counters = stored ? *stored : json::object();
  auto outbound = st.stores.outbox->counters(mb.id);
  counters["sent"] = outbound ? (*outbound)["sent"] : json(0);
  counters["failed"] = outbound ? (*outbound)["failed"] : json(0);
  auto send_window = window(st.cfg.send_rate, now.sending.used);
  send_window["held_until"] =
      now.sending.held_until.empty() ? json(nullptr) : json(now.sending.held_until);
  // Paused until the later of Graph's asks, for fetching or for sending.
  auto paused = std::max(now.paused_until, now.sending.paused_until);
  auto or_null = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
  auto at_ms = [&](std::int64_t ms) {
    return ms > 0 ? json(net::format_rfc3339(std::chrono::system_clock::time_point{
                        std::chrono::milliseconds{ms}}))
                  : json(nullptr);
  };
  // Change notifications: null when off (or the mailbox does not run).
  json push = nullptr;
  if (now.push_enabled)
    push = json{{"subscribed", !now.push.subscription_id.empty()},
                {"expires_at", now.push.subscription_id.empty()
                                   ? json(nullptr)
                                   : at_ms(now.push.expires_ms)},
                {"last_notification_at", or_null(now.last_notification_at)},
                {"error", or_null(now.push.error)}};
  return {
      {"id", mb.id},
      {"address", mb.address},
      {"tenant_id", mb.tenant_id.empty() ? json(nullptr) : json(mb.tenant_id)},
      {"status", to_string(mb.status)},
      {"created_at", mb.created_at},
      {"connected_at", mb.connected_at.empty() ? json(nullptr) : json(mb.connected_at)},
      {"poll_interval_s", poll},
      {"backfill_days", mb.backfill_days},
      {"last_poll_at", e.last_poll_at.empty() ? json(nullptr) : json(e.last_poll_at)},
      {"last_error", last_error},
      // MAILBOX actors and their children restarted after a failure since the start.
      {"restarts", e.restarts},
      {"app_error", app_error},
      {"counters", counters},
      // Why the mailbox cannot send for now (no permission, no token); emails wait.
      {"send_error", now.sending.code.empty() ? json(nullptr)
                                              : json{{"code", now.sending.code},
                                                     {"message", now.sending.message}}},
      {"push", push},
      {"throttle",
       {{"paused_until", paused.empty() ? json(nullptr) : json(paused)},
        {"fetch", window(st.cfg.fetch_rate, now.fetch_used)},
        {"send", send_window}}}};
}

/// Replies with the mailbox's view.
void reply_view(rest_pointer self, const mailbox_entry& e, unsigned status,
                const reply_fn& reply) {
  render_mailbox(self, e,
                 [status, reply](json view) { reply(json_response(status, view)); });
}

/// As refusal(), and a taken address names the field.
std::function<void(const caf::error&)> refuse_address(const reply_fn& reply) {
  return [reply](const caf::error& err) {
    if (is(err, ec::address_in_use))
      return reply(error_response(409, "address_in_use", context_of(err), "address"));
    reply(refusal(err));
  };
}

} // namespace

void render_mailbox(rest_pointer self, const mailbox_entry& e,
                    std::function<void(nlohmann::json)> done) {
  with_status(self, {e},
              [self, done](const std::vector<mailbox_entry>& entries,
                           const std::vector<std::optional<live_status>>& s) {
                auto view = mailbox_view(self, entries[0], s[0]);
                if (!entries[0].authorize_url.empty())
                  view["authorize_url"] = entries[0].authorize_url;
                done(std::move(view));
              });
}

void create_mailbox(rest_pointer self, const caller& who, const http_request& req,
                    const reply_fn& reply) {
  auto body = read_object(req);
  if (auto* bad = std::get_if<net::response>(&body)) return reply(std::move(*bad));
  auto& j = std::get<json>(body);
  if (auto bad = reject_unknown_fields(
          j, {"address", "poll_interval_s", "backfill_days", "tenant_id"}))
    return reply(std::move(*bad));
  if (!j.contains("address"))
    return reply(error_response(400, "missing_field", "address is required", "address"));
  if (!j["address"].is_string() || !address_ok(j["address"].get<std::string>()))
    return reply(error_response(400, "invalid_field", "address must be an e-mail address",
                                "address"));
  storage::mailbox_record mb;
  mb.address = j["address"].get<std::string>();
  if (auto bad = integer_field(j, "poll_interval_s", 1, 86'400, mb.poll_interval_s))
    return reply(std::move(*bad));
  if (auto bad = integer_field(j, "backfill_days", 0, 365, mb.backfill_days))
    return reply(std::move(*bad));
  if (j.contains("tenant_id")) {
    // One of the account's consented tenants: the mailbox needs no sign-in.
    const auto& t = j["tenant_id"];
    if (!t.is_string() || t.get<std::string>().empty() ||
        t.get<std::string>().size() > 64)
      return reply(error_response(400, "invalid_field",
                                  "tenant_id must be the id of one of this account's "
                                  "tenants",
                                  "tenant_id"));
    mb.tenant_id = t.get<std::string>();
  }
  mb.account_id = who.account_id;
  auto refused = refuse_address(reply);
  // Through a tenant, the REGISTRY asks the login service and Graph before it answers.
  auto wait = mb.tenant_id.empty() ? registry_timeout : std::chrono::seconds{200};
  self->request(registry(self), wait, atom::connect_v, std::move(mb))
      .then([=](const mailbox_entry& e) { reply_view(self, e, 201, reply); },
            [reply, refused](const caf::error& err) {
              if (is(err, ec::invalid_argument)) // no such tenant of the account
                return reply(
                    error_response(400, "invalid_field", context_of(err), "tenant_id"));
              refused(err);
            });
}

void list_mailboxes(rest_pointer self, const caller& who, const http_request& req,
                    const reply_fn& reply) {
  auto query = read_page_query(req);
  if (auto* bad = std::get_if<net::response>(&query)) return reply(std::move(*bad));
  const auto& [params, limit] = std::get<page_query>(query);
  auto after = net::find_param(params, "after").value_or("");
  self->request(registry(self), registry_timeout, atom::mailboxes_v, who.account_id,
                after, static_cast<std::uint32_t>(limit))
      .then(
          [=](mailbox_page& page) {
            auto next = page.next.empty() ? json(nullptr) : json(page.next);
            with_status(
                self, std::move(page.entries),
                [self, reply, next](const std::vector<mailbox_entry>& entries,
                                    const std::vector<std::optional<live_status>>& s) {
                  json list = json::array();
                  for (std::size_t i = 0; i < entries.size(); ++i)
                    list.push_back(mailbox_view(self, entries[i], s[i]));
                  reply(json_response(200, {{"mailboxes", list}, {"next", next}}));
                });
          },
          refuse_with(reply));
}

void get_mailbox(rest_pointer self, const caller& who, const std::string& id,
                 const reply_fn& reply) {
  self->request(registry(self), registry_timeout, atom::mailbox_v, who.account_id, id)
      .then([=](const mailbox_entry& e) { reply_view(self, e, 200, reply); },
            refuse_with(reply));
}

void reauthorize_mailbox(rest_pointer self, const caller& who, const std::string& id,
                         const reply_fn& reply) {
  self->request(registry(self), registry_timeout, atom::reauthorize_v, who.account_id, id)
      .then(
          [reply](const std::string& url) {
            reply(json_response(200, {{"authorize_url", url}}));
          },
          refuse_address(reply));
}

void pause_mailbox(rest_pointer self, const caller& who, const std::string& id,
                   const reply_fn& reply) {
  self->request(registry(self), registry_timeout, atom::pause_v, who.account_id, id)
      .then([=](const mailbox_entry& e) { reply_view(self, e, 200, reply); },
            refuse_with(reply));
}

void resume_mailbox(rest_pointer self, const caller& who, const std::string& id,
                    const reply_fn& reply) {
  self->request(registry(self), registry_timeout, atom::resume_v, who.account_id, id)
      .then([=](const mailbox_entry& e) { reply_view(self, e, 200, reply); },
            refuse_with(reply));
}

void delete_mailbox(rest_pointer self, const caller& who, const std::string& id,
                    const reply_fn& reply) {
  self->request(registry(self), registry_timeout, atom::remove_v, who.account_id, id)
      .then([reply](bool) { reply(no_content()); }, refuse_with(reply));
}

} // namespace exc::rest

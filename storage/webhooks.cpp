#include "storage/webhooks.hpp"

#include "net/time_format.hpp"
#include "net/url.hpp"
#include "storage/helpdesk.hpp"
#include "storage/json_fields.hpp"

#include <algorithm>

namespace storage {

using detail::num;
using detail::str;
using nlohmann::json;

namespace {

constexpr const char* config_prefix = "c/";

std::string config_key(const std::string& account) {
  return config_prefix + account;
}

std::string events_prefix(const std::string& account, bool parked) {
  return (parked ? "p/" : "e/") + account + "/";
}

std::string event_key(const std::string& account, const std::string& id, bool parked) {
  return events_prefix(account, parked) + id;
}

/// The sealed secret is binary: base64 in the JSON.
/// An event's body, apart from its record: scans, retries and parking read and rewrite
/// the small record only; the body is read once per try.
std::string body_key(const std::string& account, const std::string& id) {
  return "b/" + account + "/" + id;
}

json config_json(const webhook_config& c) {
  return {{"url", c.url},
          {"sealed_secret", net::base64_encode(c.sealed_secret)},
          {"updated_at", c.updated_at}};
}

} // namespace

namespace {

/// The stored event (what a receiver sent back may be any bytes: replaced if not UTF-8).
std::string event_text(const webhook_event& e) {
  return to_json(e).dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace

std::string webhook_secret_record(const std::string& account) {
  return "webhook/" + account;
}

json to_json(const webhook_event& x) {
  return {{"id", x.id},
          {"account_id", x.account_id},
          {"type", x.type},
          {"order_key", x.order_key},
          {"created_at", x.created_at},
          {"attempts", x.attempts},
          {"first_failure_ms", x.first_failure_ms},
          {"next_at_ms", x.next_at_ms},
          {"last_status", x.last_status},
          {"last_error", x.last_error},
          {"last_attempt_at", x.last_attempt_at},
          {"parked_at", x.parked_at}};
}

std::optional<webhook_event> webhook_event_from_json(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object() || str(j, "id").empty()) return std::nullopt;
  webhook_event x;
  x.id = str(j, "id");
  x.account_id = str(j, "account_id");
  x.type = str(j, "type");
  x.order_key = str(j, "order_key");
  x.created_at = str(j, "created_at");
  x.attempts = static_cast<std::uint32_t>(num(j, "attempts"));
  x.first_failure_ms = num(j, "first_failure_ms");
  x.next_at_ms = num(j, "next_at_ms");
  x.last_status = static_cast<unsigned>(num(j, "last_status"));
  x.last_error = str(j, "last_error");
  x.last_attempt_at = str(j, "last_attempt_at");
  x.parked_at = str(j, "parked_at");
  return x;
}

json delivery_view(const webhook_event& x) {
  auto or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  auto state = !x.parked_at.empty() ? "parked" : x.attempts > 0 ? "failing" : "waiting";
  json next = nullptr;
  if (x.parked_at.empty() && x.next_at_ms > 0)
    next = net::format_rfc3339(
        std::chrono::system_clock::time_point{std::chrono::milliseconds{x.next_at_ms}});
  return {{"event_id", x.id},
          {"type", x.type},
          {"created_at", x.created_at},
          {"state", state},
          {"attempts", x.attempts},
          {"last_attempt_at", or_null(x.last_attempt_at)},
          {"last_status", x.last_status == 0 ? json(nullptr) : json(x.last_status)},
          {"last_error", or_null(x.last_error)},
          {"next_attempt_at", next},
          {"parked_at", or_null(x.parked_at)}};
}

caf::expected<std::optional<webhook_config>>
webhook_store::config(const std::string& account) const {
  auto stored = db_.get(family::webhooks, config_key(account));
  if (!stored) return stored.error();
  if (!*stored) return std::optional<webhook_config>{};
  auto j = json::parse(**stored, nullptr, false);
  auto sealed = net::base64_decode(str(j, "sealed_secret"));
  if (!j.is_object() || str(j, "url").empty() || !sealed)
    return std::optional<webhook_config>{};
  return webhook_config{str(j, "url"), std::move(*sealed), str(j, "updated_at")};
}

caf::expected<std::vector<std::string>> webhook_store::accounts() const {
  std::vector<std::string> out;
  auto err = db_.scan(
      family::webhooks, config_prefix, [&](std::string_view key, std::string_view) {
        out.emplace_back(key.substr(std::string_view{config_prefix}.size()));
        return true;
      });
  if (err) return err;
  return out;
}

caf::expected<std::vector<webhook_event>>
webhook_store::events(const std::string& account, bool parked, const std::string& after,
                      std::size_t limit) const {
  std::vector<webhook_event> out;
  if (limit == 0) return out;
  auto err = db_.scan(
      family::webhooks, events_prefix(account, parked),
      [&](std::string_view, std::string_view value) {
        if (auto e = webhook_event_from_json(std::string{value})) out.push_back(*e);
        return out.size() < limit;
      },
      after);
  if (err) return err;
  return out;
}

caf::expected<std::optional<webhook_event>>
webhook_store::event(const std::string& account, const std::string& id,
                     bool parked) const {
  auto stored = db_.get(family::webhooks, event_key(account, id, parked));
  if (!stored) return stored.error();
  if (!*stored) return std::optional<webhook_event>{};
  return webhook_event_from_json(**stored);
}

void webhook_store::stage_config(batch& changes, const std::string& account,
                                 const std::optional<webhook_config>& config) const {
  if (config)
    changes.put(family::webhooks, config_key(account), config_json(*config).dump());
  else
    changes.erase(family::webhooks, config_key(account));
}

caf::expected<bool> webhook_store::stage_event(batch& changes, const std::string& account,
                                               const char* type,
                                               const std::string& order_key,
                                               const json& data) const {
  auto hook = db_.get(family::webhooks, config_key(account));
  if (!hook) return hook.error();
  if (!*hook) return false;
  webhook_event e;
  e.id = time_ordered_id("evt_");
  e.account_id = account;
  e.type = type;
  e.order_key = order_key;
  e.created_at = net::format_rfc3339(std::chrono::system_clock::now());
  stage_update(changes, e);
  changes.put(family::webhooks, body_key(account, e.id),
              json{{"id", e.id},
                   {"type", e.type},
                   {"created_at", e.created_at},
                   {"account_id", account},
                   {"data", data}}
                  .dump(-1, ' ', false, json::error_handler_t::replace));
  return true;
}

caf::expected<std::optional<std::string>>
webhook_store::body(const std::string& account, const std::string& id) const {
  return db_.get(family::webhooks, body_key(account, id));
}

void webhook_store::stage_update(batch& changes, const webhook_event& e) const {
  changes.put(family::webhooks, event_key(e.account_id, e.id, false), event_text(e));
}

void webhook_store::stage_delivered(batch& changes, const webhook_event& e) const {
  changes.erase(family::webhooks, event_key(e.account_id, e.id, false));
  changes.erase(family::webhooks, body_key(e.account_id, e.id));
}

void webhook_store::stage_park(batch& changes, const webhook_event& e) const {
  changes.erase(family::webhooks, event_key(e.account_id, e.id, false));
  changes.put(family::webhooks, event_key(e.account_id, e.id, true), event_text(e));
}

void webhook_store::stage_unpark(batch& changes, const webhook_event& e) const {
  changes.erase(family::webhooks, event_key(e.account_id, e.id, true));
  changes.put(family::webhooks, event_key(e.account_id, e.id, false), event_text(e));
}

void webhook_store::stage_drop(batch& changes, const webhook_event& e) const {
  changes.erase(family::webhooks, event_key(e.account_id, e.id, false));
  changes.erase(family::webhooks, event_key(e.account_id, e.id, true));
  changes.erase(family::webhooks, body_key(e.account_id, e.id));
}

std::vector<std::string> webhook_store::accounts_in(const batch& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes.changes()) {
    if (c.where != family::webhooks || c.erase || c.key.rfind("e/", 0) != 0) continue;
    auto account = c.key.substr(2, c.key.find('/', 2) - 2);
    if (std::find(out.begin(), out.end(), account) == out.end()) out.push_back(account);
  }
  return out;
}

} // namespace storage

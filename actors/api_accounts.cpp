// The API's account routes: accounts (operator) and the caller's own account settings.
#include "actors/api_routes.hpp"

#include "net/url.hpp"
#include "storage/secret_file.hpp"

#include <algorithm>

namespace exc::api_detail {

using nlohmann::json;

namespace {

json account_view(const storage::account_record& a) {
  auto settings = storage::to_json(a.settings);
  return {{"id", a.id},
          {"name", a.name},
          {"created_at", a.created_at},
          {"labels", settings["labels"]},
          {"mark_as_read", settings["mark_as_read"]},
          {"headers", settings["headers"]}};
}

void stage_account(storage::batch& changes, const storage::account_record& a) {
  changes.put(storage::family::accounts, storage::account_key(a.id),
              storage::to_json(a).dump());
}

bool printable(const std::string& s) {
  return std::none_of(s.begin(), s.end(),
                      [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

/// A header field name we may put into outbound mail: letters, digits and '-'.
bool header_name_ok(const std::string& s) {
  if (s.empty() || s.size() > 76 || s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-'; });
}

/// Headers the connector writes itself: a configured name may not replace them.
bool header_name_reserved(const std::string& s) {
  static const char* const reserved[] = {"from",        "sender",
                                         "reply-to",    "to",
                                         "cc",          "bcc",
                                         "subject",     "date",
                                         "message-id",  "in-reply-to",
                                         "references",  "mime-version",
                                         "return-path", "received",
                                         "x-mailer",    "auto-submitted",
                                         "precedence",  "x-auto-response-suppress"};
  auto lower = net::to_lower(s);
  if (lower.rfind("content-", 0) == 0) return true;
  return std::any_of(std::begin(reserved), std::end(reserved),
                     [&](const char* r) { return lower == r; });
}

} // namespace

void create_account(api_pointer self, const http_request& req, const reply_fn& reply) {
  auto body = rest::read_object(req);
  if (auto* bad = std::get_if<net::response>(&body)) return reply(std::move(*bad));
  auto& j = std::get<json>(body);
  if (auto bad = rest::reject_unknown_fields(j, {"name"})) return reply(std::move(*bad));
  if (!j.contains("name"))
    return reply(rest::error_response(400, "missing_field", "name is required", "name"));
  if (!j["name"].is_string())
    return reply(
        rest::error_response(400, "invalid_field", "name must be a string", "name"));
  auto name = j["name"].get<std::string>();
  if (name.empty() || name.size() > 200 || !printable(name))
    return reply(rest::error_response(
        400, "invalid_field", "name must be 1 to 200 printable characters", "name"));
  storage::account_record a;
  a.id = "acc_" + storage::random_token(12);
  a.name = name;
  a.created_at = now_rfc3339();
  auto key = "exk_" + storage::random_token(32);
  a.api_key_hashes.push_back(storage::token_hash(key));
  auto changes = self->state.db->start_batch();
  stage_account(changes, a);
  changes.put(storage::family::accounts, storage::api_key_key(a.api_key_hashes.front()),
              a.id);
  if (auto failed = commit(self, changes)) return reply(std::move(*failed));
  self->state.api_keys[a.api_key_hashes.front()] = a.id;
  auto view = account_view(a);
  view["api_key"] = key; // shown once, never again
  self->state.accounts[a.id] = std::move(a);
  reply(rest::json_response(201, view));
}

void list_accounts(api_pointer self, const reply_fn& reply) {
  json list = json::array();
  for (const auto& [id, a] : self->state.accounts)
    list.push_back({{"id", a.id}, {"name", a.name}, {"created_at", a.created_at}});
  reply(rest::json_response(200, {{"accounts", list}}));
}

void get_account(api_pointer self, const caller& who, const reply_fn& reply) {
  auto i = self->state.accounts.find(who.account_id);
  if (i == self->state.accounts.end()) return reply(not_found());
  reply(rest::json_response(200, account_view(i->second)));
}

void patch_account(api_pointer self, const caller& who, const http_request& req,
                   const reply_fn& reply) {
  auto i = self->state.accounts.find(who.account_id);
  if (i == self->state.accounts.end()) return reply(not_found());
  auto body = rest::read_object(req);
  if (auto* bad = std::get_if<net::response>(&body)) return reply(std::move(*bad));
  auto& j = std::get<json>(body);
  if (auto bad = rest::reject_unknown_fields(j, {"labels", "mark_as_read", "headers"}))
    return reply(std::move(*bad));
  auto updated = i->second; // validated in full before anything changes
  auto invalid = [&](const std::string& field, const std::string& message) {
    reply(rest::error_response(400, "invalid_field", message, field));
  };
  if (j.contains("labels")) {
    const auto& labels = j["labels"];
    if (!labels.is_object()) return invalid("labels", "labels must be an object");
    if (auto bad =
            rest::reject_unknown_fields(labels, {"processed", "rejected"}, "labels."))
      return reply(std::move(*bad));
    for (const char* which : {"processed", "rejected"}) {
      if (!labels.contains(which)) continue;
      auto field = std::string{"labels."} + which;
      const auto& v = labels[which];
      if (!v.is_string() || v.get<std::string>().empty() ||
          v.get<std::string>().size() > 255 || !printable(v.get<std::string>()))
        return invalid(field, field + " must be 1 to 255 printable characters");
      (which == std::string{"processed"} ? updated.settings.processed_label
                                         : updated.settings.rejected_label) = v;
    }
    if (updated.settings.processed_label == updated.settings.rejected_label)
      return invalid("labels.rejected", "the two labels must differ");
  }
  if (j.contains("mark_as_read")) {
    if (!j["mark_as_read"].is_boolean())
      return invalid("mark_as_read", "mark_as_read must be true or false");
    updated.settings.mark_as_read = j["mark_as_read"].get<bool>();
  }
  if (j.contains("headers")) {
    const auto& headers = j["headers"];
    if (!headers.is_object()) return invalid("headers", "headers must be an object");
    if (auto bad = rest::reject_unknown_fields(
            headers, {"account_id", "email_id", "mailer"}, "headers."))
      return reply(std::move(*bad));
    for (const auto& [k, v] : headers.items()) {
      auto field = "headers." + k;
      if (!v.is_string()) return invalid(field, field + " must be a string");
      auto value = v.get<std::string>();
      if (k == "mailer" ? (value.empty() || value.size() > 200 || !printable(value))
                        : !header_name_ok(value))
        return invalid(field,
                       k == "mailer"
                           ? field + " must be 1 to 200 printable characters"
                           : field + " must be a header name (letters, digits, '-')");
      if (k != "mailer" && header_name_reserved(value))
        return invalid(field, field + " may not be " + value +
                                  ": the connector writes that header itself");
      updated.settings.headers[k] = value;
    }
    if (net::to_lower(updated.settings.headers["account_id"]) ==
        net::to_lower(updated.settings.headers["email_id"]))
      return invalid("headers.email_id",
                     "headers.account_id and headers.email_id must differ");
  }
  auto changes = self->state.db->start_batch();
  stage_account(changes, updated);
  if (auto failed = commit(self, changes)) return reply(std::move(*failed));
  i->second = std::move(updated);
  // Running mailboxes label with the new names from their next message on.
  auto labels = labels_of(self, who.account_id);
  for (const auto& [id, mb] : self->state.mailboxes) {
    auto rt = self->state.runtime.find(id);
    if (mb.account_id == who.account_id && rt != self->state.runtime.end() &&
        rt->second.actor)
      self->send(rt->second.actor, atom::settings_v, labels);
  }
  reply(rest::json_response(200, account_view(i->second)));
}

} // namespace exc::api_detail

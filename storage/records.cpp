#include "storage/records.hpp"

#include "net/url.hpp"
#include "storage/json_fields.hpp"
#include "storage/plain_mailbox_reader.hpp"

namespace storage {

using nlohmann::json;

namespace {

using detail::num;
using detail::str;

json parse_object(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return json{};
  return j; // moved (a conditional expression would copy the whole document)
}

json error_json(const std::optional<error_record>& e) {
  if (!e) return nullptr;
  return {{"code", e->code}, {"message", e->message}, {"at", e->at}, {"step", e->step}};
}

std::optional<error_record> error_from(const json& j) {
  if (!j.contains("last_error") || !j["last_error"].is_object()) return std::nullopt;
  const auto& e = j["last_error"];
  return error_record{str(e, "code"), str(e, "message"), str(e, "at"), str(e, "step")};
}

} // namespace

json to_json(const account_settings& x) {
  return {{"labels", {{"processed", x.processed_label}, {"rejected", x.rejected_label}}},
          {"mark_as_read", x.mark_as_read},
          {"list_mail", x.reject_list_mail ? "reject" : "ticket"},
          {"headers", x.headers}};
}

json to_json(const account_record& x) {
  return {{"id", x.id},
          {"name", x.name},
          {"created_at", x.created_at},
          {"api_key_hashes", x.api_key_hashes},
          {"settings", to_json(x.settings)}};
}

json to_json(const mailbox_record& x) {
  json j = {{"id", x.id},
            {"account_id", x.account_id},
            {"address", x.address},
            {"status", to_string(x.status)},
            {"created_at", x.created_at},
            {"poll_interval_s", x.poll_interval_s},
            {"backfill_days", x.backfill_days},
            {"connected_at", x.connected_at},
            {"state_hash", x.state_hash},
            {"state_expires_at", x.state_expires_at},
            {"last_error", error_json(x.last_error)}};
  if (!x.tenant_id.empty()) j["tenant_id"] = x.tenant_id;
  return j;
}

json to_json(const oauth_state_record& x) {
  return {{"account_id", x.account_id},
          {"mailbox_id", x.mailbox_id},
          {"sealed_verifier", net::base64_encode(x.sealed_verifier)},
          {"expires_at", x.expires_at}};
}

std::optional<account_record> account_from_json(const std::string& text) {
  auto j = parse_object(text);
  if (str(j, "id").empty()) return std::nullopt;
  account_record x;
  x.id = str(j, "id");
  x.name = str(j, "name");
  x.created_at = str(j, "created_at");
  x.api_key_hashes = detail::strings(j, "api_key_hashes");
  if (j.contains("settings") && j["settings"].is_object()) {
    const auto& s = j["settings"];
    if (s.contains("labels") && s["labels"].is_object()) {
      auto processed = str(s["labels"], "processed");
      auto rejected = str(s["labels"], "rejected");
      if (!processed.empty()) x.settings.processed_label = processed;
      if (!rejected.empty()) x.settings.rejected_label = rejected;
    }
    if (s.contains("mark_as_read") && s["mark_as_read"].is_boolean())
      x.settings.mark_as_read = s["mark_as_read"].get<bool>();
    x.settings.reject_list_mail = str(s, "list_mail") == "reject";
    if (s.contains("headers") && s["headers"].is_object())
      for (const auto& [k, v] : s["headers"].items())
        if (v.is_string()) x.settings.headers[k] = v.get<std::string>();
  }
  return x;
}

const char* to_string(mailbox_status s) {
  switch (s) {
  case mailbox_status::pending_authorization:
    return "pending_authorization";
  case mailbox_status::connected:
    return "connected";
  case mailbox_status::paused:
    return "paused";
  case mailbox_status::reauthorization_required:
    return "reauthorization_required";
  case mailbox_status::error:
    return "error";
  }
  return "error";
}

std::optional<mailbox_status> mailbox_status_from(const std::string& name) {
  for (auto s : mailbox_statuses)
    if (name == to_string(s)) return s;
  return std::nullopt;
}

std::optional<mailbox_record> mailbox_from_json(std::string_view text) {
  mailbox_record x;
  std::string status;
  if (!detail::read_plain_mailbox(text, x, status)) {
    // Escapes, text beyond ASCII, nesting, or not JSON at all: as a document.
    auto j = parse_object(std::string{text});
    x = mailbox_record{};
    x.id = str(j, "id");
    x.account_id = str(j, "account_id");
    x.address = str(j, "address");
    status = str(j, "status");
    x.created_at = str(j, "created_at");
    x.poll_interval_s = num(j, "poll_interval_s");
    x.backfill_days = num(j, "backfill_days");
    x.connected_at = str(j, "connected_at");
    x.state_hash = str(j, "state_hash");
    x.state_expires_at = str(j, "state_expires_at");
    x.last_error = error_from(j);
    x.tenant_id = str(j, "tenant_id");
  }
  if (x.id.empty() || x.account_id.empty()) return std::nullopt;
  auto status_value = mailbox_status_from(status);
  if (!status_value) return std::nullopt;
  x.status = *status_value;
  return x;
}

json to_json(const tenant_record& x) {
  return {{"tenant_id", x.tenant_id},
          {"account_id", x.account_id},
          {"consented", x.consented},
          {"consented_at", x.consented_at},
          {"last_error", error_json(x.last_error)}};
}

std::optional<tenant_record> tenant_from_json(const std::string& text) {
  auto j = parse_object(text);
  if (str(j, "tenant_id").empty() || str(j, "account_id").empty()) return std::nullopt;
  tenant_record x;
  x.tenant_id = str(j, "tenant_id");
  x.account_id = str(j, "account_id");
  x.consented = !j.contains("consented") || j["consented"] != false;
  x.consented_at = str(j, "consented_at");
  x.last_error = error_from(j);
  return x;
}

std::optional<oauth_state_record> oauth_state_from_json(const std::string& text) {
  auto j = parse_object(text);
  if (str(j, "account_id").empty()) return std::nullopt;
  oauth_state_record x;
  x.account_id = str(j, "account_id");
  x.mailbox_id = str(j, "mailbox_id");
  auto sealed = net::base64_decode(str(j, "sealed_verifier"));
  if (!sealed) return std::nullopt;
  x.sealed_verifier = *sealed;
  x.expires_at = str(j, "expires_at");
  return x;
}

std::string account_key(const std::string& id) {
  return account_prefix + id;
}
std::string api_key_key(const std::string& hash) {
  return "api_key/" + hash;
}
std::string address_key(const std::string& address) {
  return "address/" + net::to_lower(address);
}
std::string oauth_state_key(const std::string& state_hash) {
  return oauth_state_prefix + state_hash;
}
std::string tenant_key(const std::string& tenant_id) {
  return tenant_prefix + net::to_lower(tenant_id);
}

} // namespace storage

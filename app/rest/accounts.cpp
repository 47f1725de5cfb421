// Account routes: accounts (operator) and the caller's own account settings.
#include "app/rest/routes.hpp"

#include "messages/error.hpp"

#include "net/url.hpp"
#include "storage/secret_file.hpp"

#include <algorithm>

namespace exc::rest {

using nlohmann::json;

namespace {

/// The account as the contract shows it, with its webhook (none for a new account).
json account_view(const storage::account_record& a, json webhook = nullptr) {
  auto settings = storage::to_json(a.settings);
  return {{"id", a.id},
          {"name", a.name},
          {"created_at", a.created_at},
          {"labels", settings["labels"]},
          {"mark_as_read", settings["mark_as_read"]},
          {"list_mail", settings["list_mail"]},
          {"headers", settings["headers"]},
          {"webhook", std::move(webhook)}};
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

void create_account(rest_pointer self, const http_request& req, const reply_fn& reply) {
  auto body = read_object(req);
  if (auto* bad = std::get_if<net::response>(&body)) return reply(std::move(*bad));
  auto& j = std::get<json>(body);
  if (auto bad = reject_unknown_fields(j, {"name"})) return reply(std::move(*bad));
  if (!j.contains("name"))
    return reply(error_response(400, "missing_field", "name is required", "name"));
  if (!j["name"].is_string())
    return reply(error_response(400, "invalid_field", "name must be a string", "name"));
  auto name = j["name"].get<std::string>();
  if (name.empty() || name.size() > 200 || !printable(name))
    return reply(error_response(400, "invalid_field",
                                "name must be 1 to 200 printable characters", "name"));
  self->request(registry(self), registry_timeout, atom::create_v, name)
      .then(
          [reply](const new_account& created) {
            auto view = account_view(created.account);
            view["api_key"] = created.api_key; // shown once, never again
            reply(json_response(201, view));
          },
          refuse_with(reply));
}

void list_accounts(rest_pointer self, const reply_fn& reply) {
  self->request(registry(self), registry_timeout, atom::accounts_v)
      .then(
          [reply](const std::vector<storage::account_record>& accounts) {
            json list = json::array();
            for (const auto& a : accounts)
              list.push_back(
                  {{"id", a.id}, {"name", a.name}, {"created_at", a.created_at}});
            reply(json_response(200, {{"accounts", list}}));
          },
          refuse_with(reply));
}

void get_account(rest_pointer self, const caller& who, const reply_fn& reply) {
  self->request(registry(self), registry_timeout, atom::account_v, who.account_id)
      .then(
          [=](const storage::account_record& a) {
            reply(json_response(200, account_view(a, webhook_view(self, a.id))));
          },
          refuse_with(reply));
}

namespace {

/// The account's settings with the request's changes, validated in full before
/// anything changes; or the 400 answer.
std::variant<storage::account_settings, net::response>
updated_settings(storage::account_settings updated, const json& j) {
  auto invalid = [&](const std::string& field, const std::string& message) {
    return error_response(400, "invalid_field", message, field);
  };
  if (j.contains("labels")) {
    const auto& labels = j["labels"];
    if (!labels.is_object()) return invalid("labels", "labels must be an object");
    if (auto bad = reject_unknown_fields(labels, {"processed", "rejected"}, "labels."))
      return std::move(*bad);
    for (const char* which : {"processed", "rejected"}) {
      if (!labels.contains(which)) continue;
      auto field = std::string{"labels."} + which;
      const auto& v = labels[which];
      if (!v.is_string() || v.get<std::string>().empty() ||
          v.get<std::string>().size() > 255 || !printable(v.get<std::string>()))
        return invalid(field, field + " must be 1 to 255 printable characters");
      (which == std::string{"processed"} ? updated.processed_label
                                         : updated.rejected_label) = v;
    }
    if (updated.processed_label == updated.rejected_label)
      return invalid("labels.rejected", "the two labels must differ");
  }
  if (j.contains("mark_as_read")) {
    if (!j["mark_as_read"].is_boolean())
      return invalid("mark_as_read", "mark_as_read must be true or false");
    updated.mark_as_read = j["mark_as_read"].get<bool>();
  }
  if (j.contains("list_mail")) {
    const auto& v = j["list_mail"];
    if (v != "ticket" && v != "reject")
      return invalid("list_mail", "list_mail must be \"ticket\" or \"reject\"");
    updated.reject_list_mail = v == "reject";
  }
  if (j.contains("headers")) {
    const auto& headers = j["headers"];
    if (!headers.is_object()) return invalid("headers", "headers must be an object");
    if (auto bad = reject_unknown_fields(headers, {"account_id", "email_id", "mailer"},
                                         "headers."))
      return std::move(*bad);
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
      updated.headers[k] = value;
    }
    if (net::to_lower(updated.headers["account_id"]) ==
        net::to_lower(updated.headers["email_id"]))
      return invalid("headers.email_id",
                     "headers.account_id and headers.email_id must differ");
  }
  return updated;
}

/// Reads the account's settings, applies the request's changes and stores them if
/// nobody changed them meanwhile; else reads again (at most `tries` times). Then calls
/// `done`.
void update_settings(rest_pointer self, const std::string& account, const json& j,
                     const reply_fn& reply, int tries, std::function<void()> done) {
  self->request(registry(self), registry_timeout, atom::account_v, account)
      .then(
          [=](const storage::account_record& a) {
            auto updated = updated_settings(a.settings, j);
            if (auto* bad = std::get_if<net::response>(&updated))
              return reply(std::move(*bad));
            self->request(registry(self), registry_timeout, atom::settings_v, account,
                          a.settings, std::get<storage::account_settings>(updated))
                .then([done](const storage::account_record&) { done(); },
                      [=](const caf::error& err) {
                        if (is(err, ec::conflict) && tries > 1)
                          return update_settings(self, account, j, reply, tries - 1,
                                                 done);
                        if (is(err, ec::conflict))
                          return reply(error_response(
                              409, "conflict",
                              "the settings kept changing meanwhile; try again"));
                        reply(refusal(err));
                      });
          },
          refuse_with(reply));
}

} // namespace

void patch_account(rest_pointer self, const caller& who, const http_request& req,
                   const reply_fn& reply) {
  auto body = read_object(req);
  if (auto* bad = std::get_if<net::response>(&body)) return reply(std::move(*bad));
  auto j = std::get<json>(std::move(body));
  if (auto bad = reject_unknown_fields(
          j, {"labels", "mark_as_read", "list_mail", "headers", "webhook"}))
    return reply(std::move(*bad));
  // The webhook is checked first, stored after the settings: a request with a bad
  // part changes nothing.
  std::optional<webhook_settings> hook;
  if (j.contains("webhook")) {
    auto read = read_webhook(j["webhook"]);
    if (auto* bad = std::get_if<net::response>(&read)) return reply(std::move(*bad));
    hook = std::get<webhook_settings>(std::move(read));
    j.erase("webhook");
  }
  auto account = who.account_id;
  auto answer = [=] { get_account(self, caller{false, account}, reply); };
  auto then = [=] {
    if (!hook) return answer();
    set_webhook(self, account, *hook, reply, answer);
  };
  if (j.empty()) return then();
  update_settings(self, account, j, reply, 3, then);
}

} // namespace exc::rest

// Webhook routes: the account's webhook (its part of the account), and the events the
// receiver has not taken yet.
#include "app/rest/routes.hpp"

#include "messages/error.hpp"
#include "storage/webhooks.hpp"

#include <algorithm>

namespace exc::rest {

using nlohmann::json;

namespace {

webhook_actor webhooks(rest_pointer self) {
  return service::get<webhook_actor>(self->system());
}

/// A receiver's URL: https, or http to this machine (a local receiver, a test).
bool receiver_url_ok(const std::string& text) {
  auto url = net::parse_url(text);
  if (!url || text.size() > 2048) return false;
  return url->scheme == "https" || net::is_loopback_host(url->host);
}

} // namespace

json webhook_view(rest_pointer self, const std::string& account) {
  auto config = self->state.stores.webhooks->config(account);
  if (!config || !*config) return nullptr; // the secret never shows
  return {{"url", (*config)->url}, {"updated_at", (*config)->updated_at}};
}

std::variant<webhook_settings, net::response> read_webhook(const json& v) {
  if (v.is_null()) return webhook_settings{};
  auto invalid = [](const std::string& field, const std::string& message) {
    return error_response(400, "invalid_field", message, field);
  };
  if (!v.is_object())
    return invalid("webhook", "webhook must be an object {\"url\", \"secret\"} or null");
  if (auto bad = reject_unknown_fields(v, {"url", "secret"}, "webhook."))
    return std::move(*bad);
  for (const char* field : {"url", "secret"})
    if (!v.contains(field))
      return error_response(400, "missing_field",
                            std::string{"webhook."} + field + " is required",
                            std::string{"webhook."} + field);
  if (!v["url"].is_string() || !receiver_url_ok(v["url"].get<std::string>()))
    return invalid("webhook.url", "webhook.url must be an https:// URL (http:// only to "
                                  "a loopback address), at most 2048 characters");
  const auto& secret = v["secret"];
  auto printable = [](const std::string& s) {
    return std::all_of(s.begin(), s.end(),
                       [](unsigned char c) { return c > 0x20 && c < 0x7f; });
  };
  if (!secret.is_string() || secret.get<std::string>().size() < 16 ||
      secret.get<std::string>().size() > 256 || !printable(secret.get<std::string>()))
    return invalid("webhook.secret",
                   "webhook.secret must be 16 to 256 printable ASCII characters");
  return webhook_settings{v["url"].get<std::string>(), secret.get<std::string>()};
}

void set_webhook(rest_pointer self, const std::string& account,
                 const webhook_settings& settings, const reply_fn& reply,
                 std::function<void()> done) {
  self->request(webhooks(self), registry_timeout, atom::settings_v, account, settings)
      .then([done](bool) { done(); }, refuse_with(reply));
}

void list_deliveries(rest_pointer self, const caller& who, const http_request& req,
                     const reply_fn& reply) {
  auto query = read_page_query(req);
  if (auto* bad = std::get_if<net::response>(&query)) return reply(std::move(*bad));
  const auto& [params, n] = std::get<page_query>(query);
  auto state = net::find_param(params, "state").value_or("");
  if (!state.empty() && state != "failing" && state != "parked")
    return reply(error_response(400, "invalid_field",
                                "state must be \"failing\" or \"parked\"", "state"));
  auto after = net::find_param(params, "after").value_or("");
  // Failing events are the waiting ones tried before; a page looks at so many of them.
  constexpr std::size_t look_at = 1'000;
  std::vector<storage::webhook_event> found;
  for (bool parked : {false, true}) {
    if (!state.empty() && parked != (state == "parked")) continue;
    auto events = self->state.stores.webhooks->events(who.account_id, parked, after,
                                                      parked ? n + 1 : look_at);
    if (!events) return reply(refusal(events.error()));
    for (auto& e : *events)
      if (parked || e.attempts > 0) found.push_back(std::move(e));
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  json list = json::array();
  for (std::size_t i = 0; i < found.size() && i < n; ++i)
    list.push_back(storage::delivery_view(found[i]));
  json next = found.size() > n ? json(found[n - 1].id) : json(nullptr);
  reply(json_response(200, {{"deliveries", list}, {"next", next}}));
}

void retry_deliveries(rest_pointer self, const caller& who, const std::string& id,
                      const reply_fn& reply) {
  self->request(webhooks(self), registry_timeout, atom::retry_v, who.account_id, id)
      .then(
          [reply](std::uint64_t count) {
            reply(json_response(202, {{"retried", count}}));
          },
          refuse_with(reply));
}

} // namespace exc::rest

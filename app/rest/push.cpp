// Graph's change and lifecycle notifications (POST /graph/notifications and
// /graph/lifecycle ?mailbox=<id>): the validation handshake, and the items handed to the
// mailbox's MAILBOX, which records them before the 202 goes back.
#include "app/rest/routes.hpp"

#include "messages/error.hpp"

#include <spdlog/spdlog.h>

namespace exc::rest {

namespace {

/// A notification POST carries at most this many items (Graph sends far fewer).
constexpr std::size_t max_items = 1'000;

/// The items of Graph's {"value":[…]}, or why the body is not that.
std::variant<std::vector<push_item>, std::string> read_items(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("value") || !j["value"].is_array())
    return std::string{"the body must be Graph's {\"value\":[…]}"};
  if (j["value"].size() > max_items)
    return "at most " + std::to_string(max_items) + " items";
  std::vector<push_item> out;
  for (const auto& v : j["value"]) {
    auto text = [&](const char* name) {
      auto i = v.is_object() ? v.find(name) : v.end();
      return v.is_object() && i != v.end() && i->is_string() ? i->get<std::string>()
                                                             : std::string{};
    };
    push_item item;
    item.subscription_id = text("subscriptionId");
    item.client_state = text("clientState");
    item.lifecycle_event = text("lifecycleEvent");
    if (item.subscription_id.empty())
      return std::string{"an item without subscriptionId"};
    out.push_back(std::move(item));
  }
  return out;
}

/// Counts notification items by outcome.
void count(net::metrics* metrics, const char* outcome, std::size_t n) {
  if (n > 0)
    metrics->add("exconnect_push_notifications_total", {{"outcome", outcome}},
                 static_cast<double>(n));
}

} // namespace

void receive_notification(rest_pointer self, const http_request& req,
                          const reply_fn& reply) {
  auto params = net::parse_query(net::split_target(req.target).second);
  if (!params) return reply(error_response(400, "invalid_request", "bad query string"));
  // Graph's check that the URL is ours: the token back, as text, at once.
  if (auto token = net::find_param(*params, "validationToken")) {
    net::response res{boost::beast::http::status::ok, 11};
    res.set(boost::beast::http::field::content_type, "text/plain; charset=utf-8");
    res.body() = *token;
    return reply(std::move(res));
  }
  auto mailbox = net::find_param(*params, "mailbox");
  if (!mailbox || mailbox->empty())
    return reply(error_response(400, "invalid_request", "?mailbox=<id> is missing"));
  auto items = read_items(req.body);
  if (auto* why = std::get_if<std::string>(&items))
    return reply(error_response(400, "invalid_request", *why));
  // Graph waits 3 s for the answer: the MAILBOX records the notification durably first.
  self->request(registry(self), std::chrono::milliseconds{2500}, atom::notify_v, *mailbox,
                std::move(std::get<std::vector<push_item>>(items)))
      .then(
          [reply, metrics = self->state.stores.metrics](const push_outcome& out) {
            count(metrics, "accepted", out.accepted);
            count(metrics, "refused", out.refused);
            reply(json_response(202,
                                {{"accepted", out.accepted}, {"refused", out.refused}}));
          },
          [reply, id = *mailbox,
           metrics = self->state.stores.metrics](const caf::error& err) {
            if (is(err, ec::forbidden)) {
              count(metrics, "refused", 1);
              spdlog::warn("mailbox {}: a notification that matches no subscription of "
                           "it was refused (wrong clientState?)",
                           id);
            }
            reply(refusal(err));
          });
}

} // namespace exc::rest

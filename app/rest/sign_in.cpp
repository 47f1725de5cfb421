// The browser's way back from Microsoft's sign-in (GET /oauth/callback): the REGISTRY
// finishes the sign-in; a browser gets a page, a script (Accept: application/json) JSON.
#include "app/rest/routes.hpp"

#include "messages/error.hpp"

namespace exc::rest {

using nlohmann::json;

namespace {

/// How long a sign-in may take: the code exchange and Graph's check of the grant.
constexpr std::chrono::seconds sign_in_timeout{200};

struct callback_reply {
  reply_fn reply;
  bool json_wanted = false;

  void fail(net::response refused) const {
    if (json_wanted) return reply(std::move(refused));
    auto body = json::parse(refused.body(), nullptr, false);
    auto message =
        body.is_object() ? body["error"].value("message", std::string{}) : std::string{};
    reply(html_response(refused.result_int(), "The mailbox was not connected", message));
  }
  void connected(rest_pointer self, const mailbox_entry& e) const {
    if (!json_wanted)
      return reply(
          html_response(200, "Mailbox connected",
                        e.record.address + " is connected. You can close this window."));
    render_mailbox(self, e, [r = reply](json view) { r(json_response(200, view)); });
  }
};

} // namespace

void oauth_callback(rest_pointer self, const http_request& req, const reply_fn& reply) {
  callback_reply out{reply,
                     net::to_lower(header(req, "Accept")).find("application/json") !=
                         std::string::npos};
  auto query = net::parse_query(net::split_target(req.target).second);
  if (!query)
    return out.fail(
        error_response(400, "invalid_request", "the query string is malformed"));
  auto state = net::find_param(*query, "state");
  if (!state || state->empty())
    return out.fail(error_response(400, "invalid_state", "the sign-in carries no state"));
  sign_in_return back;
  back.state = *state;
  back.code = net::find_param(*query, "code").value_or("");
  back.error = net::find_param(*query, "error").value_or("");
  back.error_description = net::find_param(*query, "error_description").value_or("");
  self->request(registry(self), sign_in_timeout, atom::callback_v, std::move(back))
      .then([self, out](const mailbox_entry& e) { out.connected(self, e); },
            [out](const caf::error& err) { out.fail(refusal(err)); });
}

} // namespace exc::rest

// The browser's way back from Microsoft's sign-in (GET /oauth/callback) and from an
// administrator's consent for a tenant (GET /oauth/admin-consent): the REGISTRY
// finishes them; a browser gets a page, a script (Accept: application/json) JSON.
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
  const char* failure_title = "The mailbox was not connected";

  void fail(net::response refused) const {
    if (json_wanted) return reply(std::move(refused));
    auto body = json::parse(refused.body(), nullptr, false);
    auto message =
        body.is_object() ? body["error"].value("message", std::string{}) : std::string{};
    reply(html_response(refused.result_int(), failure_title, message));
  }
  void connected(rest_pointer self, const mailbox_entry& e) const {
    if (!json_wanted)
      return reply(
          html_response(200, "Mailbox connected",
                        e.record.address + " is connected. You can close this window."));
    render_mailbox(self, e, [r = reply](json view) { r(json_response(200, view)); });
  }
};

/// The callback's query, or nullopt once `out` answered 400 (malformed, or no state).
std::optional<net::params> callback_query(const http_request& req,
                                          const callback_reply& out) {
  auto query = net::parse_query(net::split_target(req.target).second);
  if (!query) {
    out.fail(error_response(400, "invalid_request", "the query string is malformed"));
    return std::nullopt;
  }
  auto state = net::find_param(*query, "state");
  if (!state || state->empty()) {
    out.fail(error_response(400, "invalid_state", "the link's answer carries no state"));
    return std::nullopt;
  }
  return query;
}

bool wants_json(const http_request& req) {
  return net::to_lower(header(req, "Accept")).find("application/json") !=
         std::string::npos;
}

} // namespace

void oauth_callback(rest_pointer self, const http_request& req, const reply_fn& reply) {
  callback_reply out{reply, wants_json(req)};
  auto query = callback_query(req, out);
  if (!query) return;
  sign_in_return back;
  back.state = net::find_param(*query, "state").value_or("");
  back.code = net::find_param(*query, "code").value_or("");
  back.error = net::find_param(*query, "error").value_or("");
  back.error_description = net::find_param(*query, "error_description").value_or("");
  self->request(registry(self), sign_in_timeout, atom::callback_v, std::move(back))
      .then([self, out](const mailbox_entry& e) { out.connected(self, e); },
            [out](const caf::error& err) { out.fail(refusal(err)); });
}

void admin_consent_callback(rest_pointer self, const http_request& req,
                            const reply_fn& reply) {
  callback_reply out{reply, wants_json(req), "The tenant was not connected"};
  auto query = callback_query(req, out);
  if (!query) return;
  admin_consent_return back;
  back.state = net::find_param(*query, "state").value_or("");
  back.tenant = net::find_param(*query, "tenant").value_or("");
  back.admin_consent = net::find_param(*query, "admin_consent").value_or("");
  back.error = net::find_param(*query, "error").value_or("");
  back.error_description = net::find_param(*query, "error_description").value_or("");
  self->request(registry(self), sign_in_timeout, atom::consent_v, std::move(back))
      .then(
          [out](const storage::tenant_record& t) {
            if (out.json_wanted) return out.reply(json_response(200, tenant_view(t)));
            out.reply(html_response(200, "Tenant connected",
                                    "The administrator consent for tenant " +
                                        t.tenant_id +
                                        " is recorded. You can close this window."));
          },
          [out](const caf::error& err) { out.fail(refusal(err)); });
}

} // namespace exc::rest

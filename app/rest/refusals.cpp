// What the REST front answers when an actor refuses a request or does not answer.
#include "app/rest/routes.hpp"

#include "messages/error.hpp"

#include <spdlog/spdlog.h>

namespace exc::rest {

registry_actor registry(rest_pointer self) {
  return service::get<registry_actor>(self->system());
}

net::response not_found() {
  return error_response(404, "not_found", "no such resource");
}

namespace {

/// Our error code -> HTTP status and the contract's code.
struct mapping {
  ec code;
  unsigned status;
  const char* name;
};

constexpr mapping mappings[] = {
    {ec::not_found, 404, "not_found"},
    {ec::address_in_use, 409, "address_in_use"},
    {ec::tenant_in_use, 409, "tenant_in_use"},
    {ec::forbidden, 403, "forbidden"},
    {ec::invalid_state, 409, "invalid_state"},
    {ec::conflict, 409, "idempotency_key_reused"},
    {ec::ticket_full, 409, "ticket_full"},
    {ec::too_many_pending, 409, "too_many_pending"},
    {ec::not_recoverable, 409, "not_recoverable"},
    {ec::already_recovered, 409, "already_recovered"},
    {ec::too_many_sign_ins, 429, "too_many_sign_ins"},
    {ec::mailbox_deleted, 400, "mailbox_deleted"},
    {ec::sign_in_unknown, 400, "invalid_state"},
    {ec::sign_in_expired, 400, "state_expired"},
    {ec::consent_refused, 400, "consent_refused"},
    {ec::invalid_argument, 400, "invalid_request"},
    {ec::code_refused, 400, "code_refused"},
    {ec::grant_refused, 400, "grant_does_not_open_mailbox"},
    {ec::app_credentials_rejected, 502, "app_credentials_rejected"},
    {ec::token_unavailable, 502, "login_unavailable"},
    {ec::graph_failure, 502, "graph_unavailable"},
    {ec::crypto_failure, 500, "internal_error"},
    {ec::storage_failure, 500, "storage_failure"},
};

/// The N of a context ending "try again in N s"; 60 if there is none.
std::string retry_after(const std::string& context) {
  static const std::string marker = "try again in ";
  auto at = context.rfind(marker);
  if (at == std::string::npos) return "60";
  auto digits = context.substr(at + marker.size());
  digits = digits.substr(0, digits.find(' '));
  bool number = !digits.empty() && digits.size() <= 6 &&
                digits.find_first_not_of("0123456789") == std::string::npos;
  return number ? digits : "60";
}

} // namespace

net::response refusal(const caf::error& err) {
  for (const auto& m : mappings)
    if (is(err, m.code)) {
      auto message = context_of(err);
      if (m.code == ec::not_found) message = "no such resource";
      auto res = error_response(m.status, m.name, message.empty() ? m.name : message);
      if (m.status == 429)
        res.set(boost::beast::http::field::retry_after, retry_after(message));
      return res;
    }
  spdlog::warn("rest: no answer: {}", render(err));
  auto res = error_response(
      503, "unavailable", "the service did not answer (it may be restarting); try again");
  res.set(boost::beast::http::field::retry_after, "1");
  return res;
}

std::function<void(const caf::error&)> refuse_with(const reply_fn& reply) {
  return [reply](const caf::error& err) { reply(refusal(err)); };
}

} // namespace exc::rest

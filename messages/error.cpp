#include "messages/error.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace exc {

const char* to_string(ec code) {
  switch (code) {
  case ec::unspecified:
    return "unspecified";
  case ec::data_dir_unusable:
    return "data_dir_unusable";
  case ec::storage_failure:
    return "storage_failure";
  case ec::schema_mismatch:
    return "schema_mismatch";
  case ec::crypto_failure:
    return "crypto_failure";
  case ec::unknown_key:
    return "unknown_key";
  case ec::invalid_key:
    return "invalid_key";
  case ec::invalid_argument:
    return "invalid_argument";
  case ec::reauthorization_required:
    return "reauthorization_required";
  case ec::app_credentials_rejected:
    return "app_credentials_rejected";
  case ec::token_unavailable:
    return "token_unavailable";
  case ec::code_refused:
    return "code_refused";
  case ec::not_found:
    return "not_found";
  case ec::conflict:
    return "conflict";
  case ec::graph_failure:
    return "graph_failure";
  case ec::address_in_use:
    return "address_in_use";
  case ec::invalid_state:
    return "invalid_state";
  case ec::sign_in_unknown:
    return "sign_in_unknown";
  case ec::sign_in_expired:
    return "sign_in_expired";
  case ec::consent_refused:
    return "consent_refused";
  case ec::mailbox_deleted:
    return "mailbox_deleted";
  case ec::grant_refused:
    return "grant_refused";
  case ec::conversion_timeout:
    return "conversion_timeout";
  case ec::ticket_full:
    return "ticket_full";
  case ec::too_many_sign_ins:
    return "too_many_sign_ins";
  case ec::too_many_pending:
    return "too_many_pending";
  case ec::not_recoverable:
    return "not_recoverable";
  case ec::already_recovered:
    return "already_recovered";
  case ec::tenant_in_use:
    return "tenant_in_use";
  case ec::forbidden:
    return "forbidden";
  }
  return "unknown_error_code";
}

caf::error make_error(ec code) {
  return {static_cast<std::uint8_t>(code), error_category};
}

caf::error make_error(ec code, std::string context) {
  return {static_cast<std::uint8_t>(code), error_category,
          caf::make_message(std::move(context))};
}

bool is(const caf::error& err, ec code) {
  return err && err.category() == error_category &&
         err.code() == static_cast<std::uint8_t>(code);
}

std::string context_of(const caf::error& err) {
  const auto& ctx = err.context();
  return ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0) : std::string{};
}

std::string render(const caf::error& err) {
  if (!err) return {};
  if (err.category() != error_category) return caf::to_string(err);
  std::string out = to_string(static_cast<ec>(err.code()));
  const auto& ctx = err.context();
  if (ctx.match_elements<std::string>()) out += ": " + ctx.get_as<std::string>(0);
  return out;
}

} // namespace exc

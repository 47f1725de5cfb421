// fuzz-rest-json: a JSON body, as an API client wrote it, sent to every route that reads
// one: account creation, account settings, mailbox creation, a ticket comment and mail
// queued for an external helpdesk. Each route checks it all the way to the typed
// request it hands to the REGISTRY or the HELPDESK, and renders the answer.
#include "rest_harness.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

void send(const char* method, const char* target, const std::string& token,
          const std::string& body) {
  exc::http_request req;
  req.method = method;
  req.target = target;
  req.headers = {{"Authorization", "Bearer " + token},
                 {"Content-Type", "application/json"},
                 {"Idempotency-Key", "fuzz-key"}};
  req.body = body;
  fuzz::rest_answer(std::move(req));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body{reinterpret_cast<const char*>(data), size};
  const std::string key = "key_fuzz"; // any API key is the account's (rest_harness)
  send("POST", "/api/v1/accounts", fuzz::admin_token, body);
  send("PATCH", "/api/v1/account", key, body);
  send("POST", "/api/v1/mailboxes", key, body);
  send("POST", "/api/v1/tickets/t_fuzz/comments", key, body);
  send("POST", "/api/v1/mailboxes/mb_fuzz/outbound", key, body);
  return 0;
}

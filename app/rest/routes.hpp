#pragma once

// The REST front's route handlers, split by resource, and what they share. Each one
// reads and checks the request, asks the actor that owns the answer (the REGISTRY, the
// HELPDESK, a MAILBOX) or reads storage, and renders the reply.

#include "actors/rest_front.hpp"
#include "app/rest/responses.hpp"
#include "messages/services.hpp"
#include "net/url.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <variant>
#include <vector>

namespace exc::rest {

/// Sends the answer (and counts it in the metrics); may be called later, from a
/// response handler of the REST front.
using reply_fn = std::function<void(net::response)>;

/// Who is calling: the operator (admin token) or an account (its API key).
struct caller {
  bool admin = false;
  std::string account_id;
};

// accounts (accounts.cpp)
void create_account(rest_pointer self, const http_request& req, const reply_fn& reply);
void list_accounts(rest_pointer self, const reply_fn& reply);
void get_account(rest_pointer self, const caller& who, const reply_fn& reply);
void patch_account(rest_pointer self, const caller& who, const http_request& req,
                   const reply_fn& reply);

// mailboxes (mailboxes.cpp)
void create_mailbox(rest_pointer self, const caller& who, const http_request& req,
                    const reply_fn& reply);
void list_mailboxes(rest_pointer self, const caller& who, const http_request& req,
                    const reply_fn& reply);
void get_mailbox(rest_pointer self, const caller& who, const std::string& id,
                 const reply_fn& reply);
void reauthorize_mailbox(rest_pointer self, const caller& who, const std::string& id,
                         const reply_fn& reply);
void pause_mailbox(rest_pointer self, const caller& who, const std::string& id,
                   const reply_fn& reply);
void resume_mailbox(rest_pointer self, const caller& who, const std::string& id,
                    const reply_fn& reply);
void delete_mailbox(rest_pointer self, const caller& who, const std::string& id,
                    const reply_fn& reply);
/// The mailbox as the contract shows it (its live status asked of its MAILBOX), to
/// `done`.
void render_mailbox(rest_pointer self, const mailbox_entry& e,
                    std::function<void(nlohmann::json)> done);

// Graph's change notifications (push.cpp)
/// POST /graph/notifications and /graph/lifecycle: validation handshake, or the items
/// for the ?mailbox= (202 once recorded, 403 if none matches its subscription).
void receive_notification(rest_pointer self, const http_request& req,
                          const reply_fn& reply);

// webhooks (webhooks.cpp)
/// The account's webhook as the contract shows it ({"url","updated_at"}, never the
/// secret), or null.
nlohmann::json webhook_view(rest_pointer self, const std::string& account);
/// The request's "webhook": null (remove it) or {"url","secret"}; or the 400 answer.
std::variant<webhook_settings, net::response> read_webhook(const nlohmann::json& v);
/// Stores the account's webhook through the WEBHOOK DISPATCHER, then calls `done`.
void set_webhook(rest_pointer self, const std::string& account,
                 const webhook_settings& settings, const reply_fn& reply,
                 std::function<void()> done);
/// GET /api/v1/webhook/deliveries: the failing and parked events, oldest first.
void list_deliveries(rest_pointer self, const caller& who, const http_request& req,
                     const reply_fn& reply);
/// POST /api/v1/webhook/deliveries/retry ("" id: all) and …/{id}/retry.
void retry_deliveries(rest_pointer self, const caller& who, const std::string& id,
                      const reply_fn& reply);

// tickets and rejections (tickets.cpp)
/// A listing's query: its parameters and its mailbox_id ("" if absent).
struct listing_query {
  net::params params;
  std::string mailbox;
};
/// Reads the query; a mailbox_id must be the caller's (asked of the REGISTRY). Calls
/// `then` with it, or replies with a 400 or 404.
void read_listing_query(rest_pointer self, const caller& who, const http_request& req,
                        const reply_fn& reply, std::function<void(listing_query)> then);
/// A listing's `limit` (1 to 100, default 50), or a 400 answer.
std::variant<std::size_t, net::response> page_limit(const net::params& params);
/// A paged listing's query string and its `limit`; or the 400 answer.
struct page_query {
  net::params params;
  std::size_t limit = 50;
};
std::variant<page_query, net::response> read_page_query(const http_request& req);
void list_tickets(rest_pointer self, const caller& who, const http_request& req,
                  const reply_fn& reply);
void get_ticket(rest_pointer self, const caller& who, const std::string& id,
                const reply_fn& reply);
/// POST /api/v1/rejections/{id}/recover: the mail becomes a ticket or comment, once.
void recover_rejection(rest_pointer self, const caller& who, const std::string& id,
                       const reply_fn& reply);
void list_rejections(rest_pointer self, const caller& who, const http_request& req,
                     const reply_fn& reply);

// outbound (outbox.cpp)
void post_comment(rest_pointer self, const caller& who, const std::string& ticket_id,
                  const http_request& req, const reply_fn& reply);
void queue_outbound(rest_pointer self, const caller& who, const std::string& mailbox_id,
                    const http_request& req, const reply_fn& reply);
void list_outbox(rest_pointer self, const caller& who, const http_request& req,
                 const reply_fn& reply);

// sign-in (sign_in.cpp)
void oauth_callback(rest_pointer self, const http_request& req, const reply_fn& reply);
/// GET /oauth/admin-consent: the browser is back from an administrator's consent.
void admin_consent_callback(rest_pointer self, const http_request& req,
                            const reply_fn& reply);

// tenants (tenants.cpp)
/// The tenant as the contract shows it.
nlohmann::json tenant_view(const storage::tenant_record& t);
/// POST /api/v1/tenants/consent: a link for an administrator's consent.
void start_admin_consent(rest_pointer self, const caller& who, const reply_fn& reply);
void list_tenants(rest_pointer self, const caller& who, const reply_fn& reply);
void get_tenant(rest_pointer self, const caller& who, const std::string& id,
                const reply_fn& reply);
void delete_tenant(rest_pointer self, const caller& who, const std::string& id,
                   const reply_fn& reply);

// shared (refusals.cpp)
/// How long the REST front waits for the REGISTRY (a sign-in waits longer: it redeems
/// a code and asks Graph).
constexpr std::chrono::seconds registry_timeout{60};
registry_actor registry(rest_pointer self);
net::response not_found();
/// The answer for an error of the REGISTRY, the HELPDESK or a MAILBOX: our error codes
/// become their HTTP status and contract code; anything else (the actor is down or did
/// not answer in time) is a 503.
net::response refusal(const caf::error& err);
/// Replies with refusal(err).
std::function<void(const caf::error&)> refuse_with(const reply_fn& reply);

} // namespace exc::rest

#pragma once

// Internal to the API actor: the route handlers, split by resource, and what they share.

#include "actors/api.hpp"
#include "actors/rest.hpp"
#include "messages/services.hpp"
#include "net/url.hpp"

#include <functional>
#include <string>

namespace exc::api_detail {

/// Sends the answer (and counts it in the metrics); may be called later, from a
/// response handler of the API.
using reply_fn = std::function<void(net::response)>;

/// Who is calling: the operator (admin token) or an account (its API key).
struct caller {
  bool admin = false;
  std::string account_id;
};

// accounts (api_accounts.cpp)
void create_account(api_pointer self, const http_request& req, const reply_fn& reply);
void list_accounts(api_pointer self, const reply_fn& reply);
void get_account(api_pointer self, const caller& who, const reply_fn& reply);
void patch_account(api_pointer self, const caller& who, const http_request& req,
                   const reply_fn& reply);

// mailboxes (api_mailboxes.cpp)
void create_mailbox(api_pointer self, const caller& who, const http_request& req,
                    const reply_fn& reply);
void list_mailboxes(api_pointer self, const caller& who, const reply_fn& reply);
void get_mailbox(api_pointer self, const caller& who, const std::string& id,
                 const reply_fn& reply);
void reauthorize_mailbox(api_pointer self, const caller& who, const std::string& id,
                         const reply_fn& reply);
void pause_mailbox(api_pointer self, const caller& who, const std::string& id,
                   const reply_fn& reply);
void resume_mailbox(api_pointer self, const caller& who, const std::string& id,
                    const reply_fn& reply);
void delete_mailbox(api_pointer self, const caller& who, const std::string& id,
                    const reply_fn& reply);

// tickets and rejections (api_tickets.cpp)
/// A listing's query: its parameters and its mailbox_id ("" if absent).
struct listing_query {
  net::params params;
  std::string mailbox;
};
/// The query, with mailbox_id checked to be the caller's; else a 400 or 404 answer.
std::variant<listing_query, net::response>
read_listing_query(api_pointer self, const caller& who, const http_request& req);
/// A listing's `limit` (1 to 100, default 50), or a 400 answer.
std::variant<std::size_t, net::response> page_limit(const net::params& params);
void list_tickets(api_pointer self, const caller& who, const http_request& req,
                  const reply_fn& reply);
void get_ticket(api_pointer self, const caller& who, const std::string& id,
                const reply_fn& reply);
void list_rejections(api_pointer self, const caller& who, const http_request& req,
                     const reply_fn& reply);

// outbound (api_outbox.cpp)
void post_comment(api_pointer self, const caller& who, const std::string& ticket_id,
                  const http_request& req, const reply_fn& reply);
void queue_outbound(api_pointer self, const caller& who, const std::string& mailbox_id,
                    const http_request& req, const reply_fn& reply);
void list_outbox(api_pointer self, const caller& who, const http_request& req,
                 const reply_fn& reply);

// OAuth (api_oauth.cpp)
/// A fresh state and PKCE pair for the mailbox, stored; the authorize URL to send the
/// browser to, or an error answer.
std::variant<std::string, net::response> begin_authorization(api_pointer self,
                                                             storage::mailbox_record& mb,
                                                             storage::batch& changes);
void oauth_callback(api_pointer self, const http_request& req, const reply_fn& reply);

// shared (api.cpp)
std::string now_rfc3339();
/// The caller's mailbox `id`; nullptr if there is none or it is another account's.
storage::mailbox_record* find_mailbox(api_pointer self, const caller& who,
                                      const std::string& id);
nlohmann::json mailbox_view(api_pointer self, const storage::mailbox_record& mb);
/// Puts the mailbox record into `changes`.
void stage_mailbox(storage::batch& changes, const storage::mailbox_record& mb);
/// Commits durably; on failure a 500 answer.
std::optional<net::response> commit(api_pointer self, storage::batch& changes);
/// The account's label settings, as its MAILBOXes use them.
label_settings labels_of(api_pointer self, const std::string& account_id);
/// Starts / stops the MAILBOX actor of a connected mailbox. `spread`: its first poll
/// comes at a random point of its interval (many mailboxes starting at once).
void start_mailbox(api_pointer self, const std::string& id, bool spread = false);
void stop_mailbox(api_pointer self, const std::string& id);
/// The mailbox's address is held by nobody else: either free, held by `mb` itself, or
/// by a pending mailbox without a live state (expired, or its link used and failed). That
/// one gives the address up: its new record is staged in `changes` and returned in
/// `released`, to be applied once `changes` are committed.
bool address_free_for(api_pointer self, const storage::mailbox_record& mb,
                      storage::batch& changes,
                      std::optional<storage::mailbox_record>& released);
/// Applies what address_free_for released, after the commit.
void apply_release(api_pointer self, std::optional<storage::mailbox_record>& released);

net::response not_found();

/// The TOKEN SERVICE as it runs now.
token_service_actor tokens(api_pointer self);

/// "<account id>/<mailbox id>": how log lines name a mailbox.
std::string log_name(api_pointer self, const std::string& mailbox_id);

} // namespace exc::api_detail

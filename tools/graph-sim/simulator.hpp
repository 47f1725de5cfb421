#pragma once

#include "model.hpp"
#include "net/http_server.hpp"
#include "net/url.hpp"
#include "notifier.hpp"

#include <boost/asio/io_context.hpp>

#include <nlohmann/json.hpp>

#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>

/// graph-sim: a strict stand-in for Microsoft's identity platform (login) and the
/// Graph v1.0 mail API, plus a control API under /_sim/ for tests. One `simulator`
/// serves every request of one net::http_server.
namespace graph_sim {

/// One request as the route handlers see it.
struct call {
  net::request req;
  std::string path;  ///< decoded-free path, e.g. "/v1.0/users/a@b/messages"
  net::params query; ///< decoded query parameters
  std::vector<std::string> segments; ///< path split on '/', each percent-decoded
  std::string endpoint = "unknown";  ///< name used in the request statistics
  std::chrono::milliseconds hold{0}; ///< answer only after this long (sendMail's hold)
};

class simulator {
public:
  explicit simulator(settings s);

  /// Stops its outgoing calls (notifications); call before the server stops.
  void stop();

  /// Where latency timers run (the server's io_context). Call before serving.
  void attach(boost::asio::io_context& io) { io_ = &io; }

  /// The net::request_handler entry point.
  void handle(net::request&& req, net::responder_ptr out);

  /// Builds graph-sim's answer to errors the HTTP layer detects (413, 400).
  net::response transport_error(unsigned status, const std::string& message);

private:
  // Routing.
  net::response route_login(call& c);
  net::response route_control(call& c);
  void route_graph(std::shared_ptr<call> c, const net::responder_ptr& out);
  /// POST /v1.0/$batch: each inner request through handle(), answered together.
  void route_batch(std::shared_ptr<call> c, const net::responder_ptr& out);
  /// /v1.0/subscriptions[/{id}[/reauthorize]] (subscription_api.cpp).
  void route_subscriptions(std::shared_ptr<call> c, const net::responder_ptr& out);
  /// The bearer token of a Graph call; nullopt with `refusal` set if it has none that
  /// works (401 in Graph's shape).
  std::optional<access_token> authenticate(call& c, net::response& refusal);

  // Login service (login_service.cpp).
  net::response authorize(call& c);
  net::response admin_consent(call& c);
  net::response token(call& c);
  net::response token_from_code(call& c, const app& a, const net::params& form);
  net::response token_from_refresh(call& c, const app& a, const net::params& form);
  net::response token_for_app(call& c, const app& a, const net::params& form);
  nlohmann::json issue_tokens(const std::string& client_id, const std::string& user,
                              const std::set<std::string>& scopes, grant* g);

  // Graph mail API (mail_api.cpp). `token` is already authenticated.
  net::response graph_call(call& c, const access_token& token, mailbox& mb,
                           const std::vector<std::string>& rest);
  net::response list_messages(call& c, mailbox& mb, const std::string& folder);
  net::response get_message(call& c, mailbox& mb, message& m);
  net::response patch_message(call& c, mailbox& mb, message& m);
  net::response delete_message(call& c, mailbox& mb, const std::string& id);

  // Subscriptions and change notifications (subscription_api.cpp).
  void create_subscription(std::shared_ptr<call> c, const access_token& token,
                           const net::responder_ptr& out);
  nlohmann::json render_subscription(const subscription& s) const;
  /// The body's expirationDateTime into `out`, or the refusal (missing, past, beyond
  /// --subscription-max-minutes).
  std::optional<net::response> read_expiry(const call& c, const nlohmann::json& body,
                                           sys_time& out);
  /// Sends the change notifications of `m`'s change to the subscriptions on it.
  void notify(const mailbox& mb, const message& m, const char* change_type);
  /// POSTs a lifecycle event of `s` to its lifecycle URL.
  void send_lifecycle(const subscription& s, const std::string& event);
  net::response control_subscriptions(call& c);
  net::response control_notifications(call& c);

  // Delta query of a folder's messages (delta_api.cpp).
  net::response delta_messages(call& c, mailbox& mb, const std::string& folder);
  /// POST /_sim/mailboxes/{a}/delta/expire, PUT /_sim/delta.
  net::response control_delta_expire(call& c, mailbox& mb);
  net::response control_delta(call& c);
  /// Every change to a mailbox's messages goes through these, so that delta sees it:
  /// a new message stored, a stored one changed (after the change), one removed.
  void store_message(mailbox& mb, message m);
  void touch(mailbox& mb, message& m);
  void remove_message(mailbox& mb, const std::string& id);
  void count_download(mailbox& mb, const std::string& message_id);

  // sendMail (send_api.cpp).
  net::response send_mail(call& c, mailbox& mb);
  net::response refuse_over_limit(call& c, mailbox& mb, const std::string& limit,
                                  const std::string& message,
                                  std::chrono::seconds retry_after);
  /// Appends to the sent log and, if `save_copy`, files the mail in Sent Items.
  void record_sent(mailbox& mb, sent_mail record,
                   std::shared_ptr<const mail::parse_result> parsed, bool save_copy);

  // Control API (control_api.cpp).
  net::response control_apps(call& c);
  net::response control_mailboxes(call& c);
  net::response control_deliver(call& c, mailbox& mb);
  net::response control_list(call& c, mailbox& mb);
  net::response control_stats(call& c);
  net::response control_faults(call& c);
  net::response control_mailbox_faults(call& c, mailbox& mb);
  net::response control_revoke(call& c);
  net::response control_sent(call& c, mailbox& mb);
  net::response control_send(call& c);
  nlohmann::json send_stats() const;

  // Helpers shared by the parts (simulator.cpp).
  sys_time now() const;
  std::string random_token(std::size_t bytes);
  std::string new_guid();
  mailbox* find_mailbox(const std::string& id_or_address);
  /// Stores a new mailbox under its (lower-case) address and id.
  void add_mailbox(mailbox mb);
  bool may_open(const access_token& t, const mailbox& mb, bool write) const;
  bool may_send(const access_token& t, const mailbox& mb) const;
  /// The application access policy of the app (if any) lets its app-only tokens open
  /// `mb`.
  bool app_may_open(const std::string& client_id, const mailbox& mb) const;
  /// A new message of `mb` holding `mime`, with what Exchange derives from it (id,
  /// internetMessageId, conversationId, sentDateTime, size); not stored yet.
  /// `parsed` saves parsing again when the caller has parsed `mime` already.
  message make_message(mailbox& mb, std::shared_ptr<const std::string> mime,
                       sys_time received,
                       std::shared_ptr<const mail::parse_result> parsed = nullptr);
  /// False while a message is still hidden (see message::visible_from).
  bool visible(const message& m, sys_time t) const { return m.visible_from <= t; }
  net::response json_response(unsigned status, const nlohmann::json& body);
  net::response graph_error(const call& c, unsigned status, const std::string& code,
                            const std::string& message);
  net::response aad_error(unsigned status, const std::string& error, int aadsts,
                          const std::string& description);
  net::response redirect(const std::string& location);
  void finish_graph(call& c, net::response& res);
  /// Finishes `res` (finish_graph), lets the lock go and sends it.
  void answer(call& c, std::unique_lock<std::mutex>& lock, const net::responder_ptr& out,
              net::response res);
  void note_listing(const mailbox& mb);
  net::response control_listing_intervals(call& c);
  net::response create_mailboxes_in_bulk(call& c, const nlohmann::json& body);

  settings settings_;
  boost::asio::io_context* io_ = nullptr;
  std::mutex mutex_; ///< guards everything below
  sys_time::duration clock_offset_{0};
  std::mt19937_64 random_;
  std::mt19937_64 fault_random_;
  fault_config faults_;
  std::map<std::string, app> apps_;
  std::unordered_map<std::string, mailbox> mailboxes_; ///< by lower-case address
  /// Lower-case mailbox id -> its key in mailboxes_: Graph's users/{id} takes either,
  /// and a scan per request is too slow at 100,000 mailboxes.
  std::unordered_map<std::string, std::string> address_of_id_;
  std::map<std::string, grant> grants_;
  std::unordered_map<std::string, refresh_token> refresh_tokens_;
  std::unordered_map<std::string, access_token> access_tokens_;
  std::unordered_map<std::string, auth_code> codes_;
  std::unordered_map<std::string, usage> usage_; ///< by "client_id|mailbox id"
  /// Requests accepted per app (client id) in the last app_rate window, oldest first.
  std::unordered_map<std::string, std::deque<std::chrono::steady_clock::time_point>>
      app_requests_;
  std::unordered_map<std::string, download_log> downloads_;    ///< by mailbox id
  std::unordered_map<std::string, send_windows> send_windows_; ///< by mailbox id
  send_options send_;
  stats stats_;
  /// When each mailbox (id) last had its messages listed; since the last reset, the
  /// mailboxes listed and the intervals between two listings of one mailbox (10 ms
  /// buckets): how evenly a connector polls (GET/DELETE /_sim/listing-intervals).
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> last_listing_;
  std::unordered_set<std::string> listed_since_reset_;
  std::map<std::int64_t, std::uint64_t> listing_intervals_;
  std::uint64_t listing_interval_count_ = 0; ///< the sum of listing_intervals_
  std::uint64_t in_flight_ = 0;
  /// Delta's "the same change may come twice": each deltaLink stops one change short,
  /// so the last change of a round comes again in the next (PUT /_sim/delta).
  bool delta_replay_ = false;
  std::map<std::string, subscription> subscriptions_; ///< by id
  /// Mailbox id -> the ids of the subscriptions on its messages.
  std::unordered_map<std::string, std::set<std::string>> subscriptions_of_;
  std::unique_ptr<notifier> notifier_;
};

/// The name under which a Graph request is counted in the statistics, from the path
/// segments after the mailbox (e.g. "list_messages", "get_message_value").
std::string endpoint_name(const std::vector<std::string>& rest,
                          boost::beast::http::verb method);

} // namespace graph_sim

#pragma once

#include "net/http_client.hpp"

#include <chrono>
#include <optional>
#include <string>

/// The Graph requests of a mailbox's change-notification subscription (POST, PATCH
/// /subscriptions) and reading Graph's answers to them.
namespace exc::graph {

/// What a subscription asks for: new mail in the mailbox's Inbox, POSTed to
/// `notification_url` (lifecycle events to `lifecycle_url`) with `client_state`, until
/// `expires` (RFC 3339).
struct subscription_request {
  std::string address;
  std::string notification_url;
  std::string lifecycle_url;
  std::string client_state;
  std::string expires;
};

/// POST /subscriptions for the mailbox's Inbox messages, changeType "created".
net::client_request create_subscription(const std::string& graph_url,
                                        const std::string& access_token,
                                        const subscription_request& what);

/// PATCH /subscriptions/{id} with a new expirationDateTime (which also reauthorizes it).
net::client_request renew_subscription(const std::string& graph_url,
                                       const std::string& access_token,
                                       const std::string& id, const std::string& expires);

/// DELETE /subscriptions/{id}: no more notifications (the mailbox is deleted).
net::client_request delete_subscription(const std::string& graph_url,
                                        const std::string& access_token,
                                        const std::string& id);

/// A subscription as Graph answered it: its id and when it expires.
struct subscription_answer {
  std::string id;
  std::chrono::system_clock::time_point expires;
};

/// The id and expirationDateTime of Graph's subscription JSON; nullopt if it is none.
std::optional<subscription_answer> read_subscription(const std::string& body);

} // namespace exc::graph

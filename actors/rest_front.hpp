#pragma once

#include "messages/interfaces.hpp"
#include "messages/rate_limit.hpp"
#include "net/metrics.hpp"
#include "storage/address_book.hpp"
#include "storage/helpdesk.hpp"
#include "storage/outbox.hpp"
#include "storage/webhooks.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <string>

/// The REST front: routing, authentication and rendering of the REST API, /healthz,
/// /metrics and /oauth/callback. The HTTP server hands each request in as a message;
/// the answer goes back through the connection's responder. It owns no records: it
/// asks the REGISTRY (accounts, mailboxes, sign-in), the HELPDESK (comments, outbound
/// mail) and the MAILBOXes (their live status), and reads tickets, rejections and the
/// outbox from storage. Its state is configuration and handles, so the SUPERVISOR
/// restarts it like any service. The route handlers live in app/rest/.
namespace exc {

struct rest_config {
  std::string admin_token;
  /// Shown for mailboxes without their own.
  std::chrono::seconds poll_interval{60};
  /// The limits the mailbox view shows windows of.
  rate_limit fetch_rate{25, std::chrono::seconds{60}};
  rate_limit send_rate{10, std::chrono::seconds{60}};
};

/// What the REST front reads; each must outlive it.
struct rest_stores {
  net::metrics* metrics = nullptr;
  const storage::helpdesk_store* helpdesk = nullptr; ///< tickets, rejections, counters
  const storage::outbox_store* outbox = nullptr;     ///< the outbox listing
  const address_book* connected = nullptr;           ///< mail to these would loop
  const storage::webhook_store* webhooks = nullptr;  ///< the webhook deliveries
};

struct rest_state {
  static inline const char* name = "rest";
  rest_config cfg;
  rest_stores stores;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

using rest_pointer = rest_actor::stateful_pointer<rest_state>;

/// @param self the actor
/// @param cfg the admin token and what the views show by default
/// @param stores what it reads
rest_actor::behavior_type rest_front(rest_pointer self, rest_config cfg,
                                     rest_stores stores);

} // namespace exc

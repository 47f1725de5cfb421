#pragma once

#include "messages/interfaces.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <string>

/// A MAILBOX: one connected mailbox. For now it proves on its poll timer that the grant
/// still opens the inbox (and so keeps the token fresh); fetching joins it next.
namespace exc {

struct mailbox_config {
  std::string id;
  std::string address;
  std::string graph_url;
  std::chrono::seconds poll_interval{60};
};

struct mailbox_state {
  static inline const char* name = "mailbox";
  mailbox_config cfg;
  token_service_actor tokens;
  http_actor http;
  poll_listener_actor listener;
  std::uint64_t generation = 0; ///< ignores stale timer ticks
  bool polling = false;
};

/// @param self the actor
/// @param cfg which mailbox and how often
/// @param tokens the TOKEN SERVICE
/// @param http the HTTP CLIENT for Graph
/// @param listener hears each poll's outcome (the API)
mailbox_actor::behavior_type mailbox(mailbox_actor::stateful_pointer<mailbox_state> self,
                                     mailbox_config cfg, token_service_actor tokens,
                                     http_actor http, poll_listener_actor listener);

} // namespace exc

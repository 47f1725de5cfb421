#pragma once

// The TOKEN SERVICE and the poll listener, played by actor tests, and a canned answer.

#include "messages/error.hpp"
#include "messages/interfaces.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <string>
#include <vector>

namespace test {

struct token_mock_state {
  int issued = 1; ///< the current token is "at-<issued>"
  int asked = 0;  ///< token requests answered
};

/// Hands out "at-<n>"; an invalidated token makes the next one "at-<n+1>".
inline exc::token_service_actor::behavior_type
token_mock(exc::token_service_actor::stateful_pointer<token_mock_state> self, int) {
  using namespace exc;
  return {
      [=](atom::token, const std::string&) -> caf::result<std::string> {
        ++self->state.asked;
        return "at-" + std::to_string(self->state.issued);
      },
      [=](atom::redeem, const std::string&, const std::string&,
          const std::string&) -> caf::result<token_grant> {
        return make_error(ec::token_unavailable, "not in this test");
      },
      [=](atom::adopt, const std::string&, const token_grant&) { return true; },
      [=](atom::invalidate, const std::string&, const std::string&) {
        ++self->state.issued;
      },
      [=](atom::forget, const std::string&) { return true; },
      [=](atom::subscribe, const token_events_actor&) {},
  };
}

struct listener_state {
  std::vector<exc::poll_result> polls;
  std::vector<exc::send_status> sends;
  std::vector<caf::timespan> pauses; ///< pauses Graph asked for, given back at the gate
  int in_flight = 0;                 ///< slots of the gate held now
  std::size_t idle = 0;              ///< times the SENDER said it has nothing to send
};

/// Hears polls (as a MAILBOX's REGISTRY) and sends (as a SENDER's MAILBOX, also its
/// Graph gate: it lets every request go at once).
using listener_actor = exc::poll_listener_actor::extend_with<exc::send_listener_actor>;

/// Keeps every report.
inline listener_actor::behavior_type
poll_listener(listener_actor::stateful_pointer<listener_state> self, int) {
  using namespace exc;
  return {
      [=](atom::polled, const std::string&, const poll_result& r) {
        self->state.polls.push_back(r);
      },
      [=](atom::sent, const std::string&, const send_status& s) {
        self->state.sends.push_back(s);
      },
      [=](atom::idle, std::uint64_t) { ++self->state.idle; }, // kept running here
      [=](atom::acquire) {
        ++self->state.in_flight;
        return true;
      },
      [=](atom::release, caf::timespan pause) {
        --self->state.in_flight;
        if (pause > caf::timespan{0}) self->state.pauses.push_back(pause);
      },
  };
}

inline net::client_response answer(unsigned status, std::string body,
                                   net::header_list headers = {}) {
  net::client_response res;
  res.status = status;
  res.body = std::move(body);
  res.headers = std::move(headers);
  return res;
}

} // namespace test

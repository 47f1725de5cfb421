#pragma once

// The HTTP CLIENT, played by a test: requests wait until the test answers them.

#include "messages/interfaces.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cstdint>
#include <vector>

namespace test {

using mock_http_actor = exc::http_actor::extend<
    caf::reacts_to<exc::atom::internal, std::uint64_t, net::client_response>>;

struct mock_http_state {
  struct exchange {
    net::client_request request;
    caf::typed_response_promise<net::client_response> promise;
    bool answered = false;
    caf::actor_addr from; ///< who asked
  };
  std::vector<exchange> exchanges;
};

/// Keeps every request; `(internal, i, response)` answers exchange i. (The int only
/// gives spawn an argument.)
inline mock_http_actor::behavior_type
mock_http(mock_http_actor::stateful_pointer<mock_http_state> self, int) {
  return {
      [=](const net::client_request& req) -> caf::result<net::client_response> {
        // Who asked, first: the promise takes the sender out of the message.
        auto from = caf::actor_cast<caf::actor_addr>(self->current_sender());
        auto rp = self->make_response_promise<net::client_response>();
        self->state.exchanges.push_back({req, rp, false, std::move(from)});
        return rp;
      },
      [=](exc::atom::internal, std::uint64_t index, const net::client_response& res) {
        auto& ex = self->state.exchanges.at(index);
        ex.answered = true;
        ex.promise.deliver(res);
      },
  };
}

/// The mock as a test fixture with a member `http` (the mock) uses it: CRTP base of a
/// test_coordinator_fixture.
template <class Fixture>
struct mock_http_access {
  mock_http_state& http_state() {
    auto& f = static_cast<Fixture&>(*this);
    return f.template deref<mock_http_actor::stateful_base<mock_http_state>>(f.http)
        .state;
  }
  std::size_t exchanges() { return http_state().exchanges.size(); }
  const net::client_request& request(std::size_t i) {
    return http_state().exchanges.at(i).request;
  }
  const caf::actor_addr& asked_by(std::size_t i) {
    return http_state().exchanges.at(i).from;
  }
  /// Answers exchange i and runs what follows.
  void reply(std::size_t i, net::client_response res) {
    auto& f = static_cast<Fixture&>(*this);
    f.self->send(f.http, exc::atom::internal_v, static_cast<std::uint64_t>(i),
                 std::move(res));
    f.sched.run();
  }
};

} // namespace test

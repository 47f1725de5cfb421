#pragma once

#include "net/limits/graph_budget.hpp"

#include <caf/actor_addr.hpp>
#include <caf/actor_clock.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

/// One mailbox's door to Graph. Exchange lets a mailbox have 4 requests in flight, and a
/// Retry-After pauses the mailbox, not one request: every Graph request of the mailbox
/// (listing, download, labels, sending) waits here for a slot, in the order they came,
/// and nobody's request leaves while Graph's pause lasts. Owned by the MAILBOX; its
/// children reach it through messages (acquire, release). Each slot and each waiting
/// request belongs to an actor, so that one that ends gives back what it held. Each
/// request that leaves also takes a token of the app's Graph budget, if there is one.
namespace exc {

class graph_gate {
public:
  using time_point = caf::actor_clock::time_point;
  using owner = caf::actor_addr;
  /// Exchange's limit of concurrent requests per mailbox.
  static constexpr std::size_t exchange_limit = 4;

  explicit graph_gate(std::size_t max_in_flight = exchange_limit,
                      graph_budget* budget = nullptr)
      : max_in_flight_{max_in_flight}, budget_{budget} {}

  /// Queues a request of `who`: `enter` runs (from admit) once it may leave.
  void wait(const owner& who, std::function<void()> enter);

  /// A request of `who` is done (answered or failed).
  void leave(const owner& who);

  /// `who` ended: its slots are free and its waiting requests gone.
  void forget(const owner& who);

  /// Graph asked the mailbox to wait until `until` (a later pause wins).
  void pause(time_point until) { paused_until_ = std::max(paused_until_, until); }

  /// Lets waiting requests go, oldest first, while there are free slots, no pause and
  /// tokens in the budget. Returns when to call again if some still wait for a pause to
  /// end or for a token (nullopt: they wait for a slot, or none waits).
  std::optional<time_point> admit(time_point now);

  std::size_t in_flight() const { return held_.size(); }
  std::size_t waiting() const { return waiting_.size(); }
  time_point paused_until() const { return paused_until_; }

private:
  std::size_t max_in_flight_;
  graph_budget* budget_;
  /// When the token the budget reserved for the first waiting request comes.
  std::optional<time_point> reserved_;
  time_point paused_until_{};
  std::vector<owner> held_; ///< one entry per request in flight
  /// Few at most: one per child.
  std::vector<std::pair<owner, std::function<void()>>> waiting_;
};

} // namespace exc

#pragma once

#include "messages/rate_limit.hpp"
#include "net/metrics.hpp"

#include <caf/actor_clock.hpp>

#include <cstdint>
#include <mutex>
#include <optional>

/// The app's own Graph limit across all mailboxes and tenants (Microsoft allows one app
/// 130,000 requests per 10 seconds): a token bucket every Graph request of the process
/// takes a token from at its mailbox's gate. It never lets more than `limit.count`
/// requests through in any window of `limit.window`: it holds at most a fiftieth of the
/// count, and fills at an even rate (count * 0.98 per window), from empty at the start.
/// A request that finds it empty reserves the next token and goes when it comes, in the
/// order the requests asked. Several processes of one app each get their share as their
/// limit. Shared by every MAILBOX; thread-safe.
namespace exc {

class graph_budget {
public:
  using time_point = caf::actor_clock::time_point;

  /// @param limit requests per window (a count of at least 10)
  /// @param metrics counts in exconnect_graph_budget_waits_total each time a request
  ///        found no token (none: not counted there)
  explicit graph_budget(rate_limit limit, net::metrics* metrics = nullptr);

  /// Starts filling at `now`, empty (else the first take starts it): the tokens that
  /// come while the process starts serve its first requests.
  void start(time_point now);
  /// Takes a token at `now`: nullopt if there was one, else the time the token reserved
  /// for the caller comes (the caller goes then, without asking again).
  std::optional<time_point> take(time_point now);

  /// Requests that had to wait for their token so far.
  std::uint64_t waits() const;

private:
  mutable std::mutex mutex_;
  double burst_;                       ///< tokens the bucket holds at most
  double per_ns_;                      ///< tokens added per nanosecond
  double tokens_;                      ///< tokens at `refilled_`
  std::optional<time_point> refilled_; ///< none before the first take
  std::uint64_t waits_ = 0;
  net::metrics* metrics_;
};

} // namespace exc

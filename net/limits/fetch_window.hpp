#pragma once

#include "messages/rate_limit.hpp"
#include "storage/throttle.hpp"

#include <caf/actor_clock.hpp>

#include <string>
#include <vector>

/// Exchange's fetch limit for one mailbox (25 downloads per 60 s by default): when the
/// last downloads happened on an actor's clock, oldest first. Kept by the MAILBOX
/// between polls and by its FETCHER during one; stored on the wall clock so a restart
/// does not start it empty.
namespace exc {

class fetch_window {
public:
  using time_point = caf::actor_clock::time_point;

  fetch_window() = default;
  explicit fetch_window(rate_limit limit) : limit_{limit} {}

  /// Downloads still inside the window at `now` (older ones are dropped).
  std::size_t used(time_point now);

  /// How long from `now` until one more download fits (zero: at once).
  caf::timespan wait(time_point now);

  /// A download counted at `t` (no earlier than the last one).
  void add(time_point t) { times_.push_back(t); }

  /// Stages the window under "<mailbox>/fetch" on the wall clock.
  void stage(storage::batch& changes, const storage::throttle_store& store,
             const std::string& mailbox, time_point now);

  /// Reads what a previous run stored; a download it left in flight ("fetch-pending")
  /// counts at `now`. Stored times are whole milliseconds, cut off: they count 10 ms
  /// later, never earlier than they happened (a window that frees early crosses
  /// Graph's limit).
  caf::error load(const storage::throttle_store& store, const std::string& mailbox,
                  time_point now);

  /// Stages the marker of a download in flight (set before its request leaves) or its
  /// end: a restart in between counts the download.
  static void stage_pending(storage::batch& changes, const storage::throttle_store& store,
                            const std::string& mailbox, bool pending);

  const std::vector<time_point>& times() const { return times_; }

private:
  rate_limit limit_;
  std::vector<time_point> times_;
};

} // namespace exc

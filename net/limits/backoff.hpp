#pragma once

#include "net/http_client.hpp"
#include "storage/throttle.hpp"

#include <caf/actor_clock.hpp>

#include <chrono>
#include <optional>
#include <random>
#include <string>

/// How a mailbox's actors (MAILBOX, SENDER) wait after Graph throttled or failed: the
/// pause Graph asks for, else a backoff; pauses are stored so a restart honours them.
namespace exc {

/// The wait after `failures` failures in a row (at least 1): delay =
/// initial * 2^(failures-1) capped at `max`, drawn in [delay, delay * 5/4] so that
/// mailboxes throttled together do not come back together, and never shorter than the
/// delay: at the cap, one try per `max` at most.
std::chrono::milliseconds backoff_delay(std::chrono::milliseconds initial,
                                        std::chrono::milliseconds max, unsigned failures,
                                        std::minstd_rand& rng);

/// A seed for an actor's jitter: random_device once per thread, not per actor (a
/// FETCHER is spawned per poll, and reading the device costs a system call).
std::uint32_t jitter_seed();

/// The pause Graph's answer asks for: a positive Retry-After on 429 or 503, at most an
/// hour; nullopt otherwise (a Retry-After of zero would make a loop: back off instead).
std::optional<caf::timespan> asked_pause(const net::client_response& res);

/// Throttling or a refused token: the mailbox's trouble, not the message's.
bool mailbox_wide(const net::client_response& res);

/// Stages the end of a pause of `wait` from now under "<mailbox>/<name>"; no store,
/// no change.
void stage_pause(storage::batch& changes, const storage::throttle_store* throttle,
                 const std::string& mailbox, const char* name, caf::timespan wait);

/// What is left of the pause stored under "<mailbox>/<name>" (zero if none or over).
caf::timespan stored_pause(const storage::throttle_store* throttle,
                           const std::string& mailbox, const char* name);

/// `t` on an actor clock whose present is `now`, as RFC 3339 on the wall clock, rounded
/// up to the second (for status reports).
std::string wall_time(caf::actor_clock::time_point t, caf::actor_clock::time_point now);

/// The wall clock as an actor clock sees it (virtual in tests): both read once, then
/// the wall clock moves with the actor clock. Message retry times are stored on the
/// wall clock and compared on the actor clock; a MAILBOX and the children it spawns
/// share one, so that what one stores another compares.
struct wall_clock {
  std::chrono::system_clock::time_point wall_base;
  caf::actor_clock::time_point clock_base;

  /// Reads the wall clock and `now` of an actor clock.
  static wall_clock at(caf::actor_clock::time_point now) {
    return {std::chrono::system_clock::now(), now};
  }

  /// The wall clock (ms since the epoch) when the actor clock reads `now`.
  std::int64_t ms_at(caf::actor_clock::time_point now) const;
};

} // namespace exc

#pragma once

#include <caf/actor_clock.hpp>

#include <chrono>
#include <string_view>

/// When a mailbox polls: at a fixed offset within its poll interval, drawn from its id.
/// The polls of many mailboxes then spread evenly over the interval, and a start that
/// polls them all early (within seconds, not an interval) does not leave them bunched:
/// the second poll of each comes back to its own offset.
namespace exc {

/// Phases fall on ticks of this length: the polls due in one tick fire together, so
/// the actor clock's thread and a scheduler thread wake once per tick instead of once
/// per poll (docs/benchmarks.md#idle-scale).
constexpr std::chrono::milliseconds poll_tick{100};

/// The mailbox's offset within `interval` (a hash of its id), on a tick when the
/// interval spans several.
std::chrono::milliseconds poll_phase(std::string_view mailbox_id,
                                     std::chrono::milliseconds interval);

/// The first instant at or after `not_before` that lies `phase` into an interval, the
/// intervals counted from the clock's epoch (`interval` above 0, `phase` below it).
caf::actor_clock::time_point next_on_phase(caf::actor_clock::time_point not_before,
                                           std::chrono::milliseconds interval,
                                           std::chrono::milliseconds phase);

} // namespace exc

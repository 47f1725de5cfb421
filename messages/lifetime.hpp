#pragma once

#include <caf/actor_addr.hpp>

/// How a child ends with the longer-lived actor above it.
namespace exc {

/// `self` gets a down message when `whom` ends, as with monitor(). CAF keeps a monitor
/// with the monitored actor until that one ends, and the monitor holds a weak reference
/// that keeps the memory of the monitoring actor even after it ended: an actor that
/// spawns a short-lived child per poll would grow by one dead child per poll. So the
/// monitor is taken back when `self` ends, however it ends. Taking it back searches the
/// monitored actor's list of monitors: for a child of an actor with few of them, not for
/// one of the REGISTRY's many MAILBOXes.
template <class Self, class Handle>
void end_with(Self* self, const Handle& whom) {
  self->monitor(whom);
  self->attach_functor([self, addr = whom.address()] { self->demonitor(addr); });
}

} // namespace exc

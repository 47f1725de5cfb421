#include "net/limits/fetch_window.hpp"

#include <algorithm>
#include <chrono>

namespace exc {

namespace {

caf::timespan span(std::chrono::milliseconds ms) {
  return std::chrono::duration_cast<caf::timespan>(ms);
}

} // namespace

std::size_t fetch_window::used(time_point now) {
  auto window = span(limit_.window);
  times_.erase(times_.begin(), std::find_if(times_.begin(), times_.end(),
                                            [&](auto t) { return t + window > now; }));
  return times_.size();
}

caf::timespan fetch_window::wait(time_point now) {
  if (used(now) < limit_.count) return caf::timespan{0};
  return times_.front() + span(limit_.window) - now;
}

void fetch_window::stage(storage::batch& changes, const storage::throttle_store& store,
                         const std::string& mailbox, time_point now) {
  used(now); // drops what left the window
  auto wall = std::chrono::system_clock::now();
  std::vector<storage::throttle_store::time_point> events;
  events.reserve(times_.size());
  for (auto t : times_)
    events.push_back(
        wall - std::chrono::duration_cast<std::chrono::system_clock::duration>(now - t));
  store.stage(changes, mailbox, "fetch", events);
}

caf::error fetch_window::load(const storage::throttle_store& store,
                              const std::string& mailbox, time_point now) {
  auto stored = store.load(mailbox, "fetch");
  if (!stored) return std::move(stored.error());
  auto wall = std::chrono::system_clock::now();
  // A time after now (the wall clock was set back since) counts as now: dropping it
  // would let the window take one download too many.
  for (auto t : *stored)
    times_.push_back(now -
                     std::chrono::duration_cast<caf::timespan>(wall - std::min(t, wall)) +
                     std::chrono::milliseconds{10});
  std::sort(times_.begin(), times_.end());
  auto pending = store.load(mailbox, "fetch-pending");
  if (pending && !pending->empty()) times_.push_back(now);
  used(now);
  return {};
}

void fetch_window::stage_pending(storage::batch& changes,
                                 const storage::throttle_store& store,
                                 const std::string& mailbox, bool pending) {
  std::vector<storage::throttle_store::time_point> marker;
  if (pending) marker.push_back(std::chrono::system_clock::now());
  store.stage(changes, mailbox, "fetch-pending", marker);
}

} // namespace exc

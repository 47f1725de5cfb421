#pragma once

#include <chrono>
#include <thread>

namespace test {

/// Polls `condition` until it holds or `timeout` passes; returns whether it held. For
/// states another process reaches on its own time (a daemon's poll, a refresh).
template <class Condition>
bool eventually(Condition condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10),
                std::chrono::milliseconds interval = std::chrono::milliseconds(2)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    // Polling an observable condition; the deadline bounds it.
    std::this_thread::sleep_for(interval);
  }
  return true;
}

} // namespace test

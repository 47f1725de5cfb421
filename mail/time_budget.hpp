#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>

namespace mail {

/// Thrown by work that was given a time_budget once the budget is spent (or the work
/// was called off).
struct out_of_time : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// How long work on input an outside sender controls may run (a CONVERTER's conversion).
/// Loops over such input call check() per step; it reads the clock only every 256th
/// call, so checking costs nothing measurable. A default budget never runs out.
class time_budget {
public:
  using clock = std::chrono::steady_clock;

  time_budget() = default;
  /// @param allowed how long the work may run from now
  /// @param called_off if given, set from elsewhere to stop the work early (shutdown)
  explicit time_budget(clock::duration allowed,
                       const std::atomic<bool>* called_off = nullptr)
      : deadline_(clock::now() + allowed), called_off_(called_off) {}

  /// Throws out_of_time if the budget is spent (looks at the clock now and then).
  void check() {
    if (deadline_ != clock::time_point::max() && ++calls_ % 256 == 0) check_now();
  }

  /// Throws out_of_time if the budget is spent (looks at the clock now).
  void check_now() const {
    if (called_off_ && called_off_->load(std::memory_order_relaxed))
      throw out_of_time{"the work was called off"};
    if (deadline_ != clock::time_point::max() && clock::now() >= deadline_)
      throw out_of_time{"the time budget is spent"};
  }

private:
  clock::time_point deadline_ = clock::time_point::max();
  const std::atomic<bool>* called_off_ = nullptr;
  std::uint32_t calls_ = 0;
};

} // namespace mail

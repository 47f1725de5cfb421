#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>

namespace mail {

/// Thrown by work that was given a time_budget once the budget is spent.
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
  explicit time_budget(clock::duration allowed) : deadline_(clock::now() + allowed) {}

  /// Throws out_of_time if the budget is spent (looks at the clock now and then).
  void check() {
    if (deadline_ != clock::time_point::max() && ++calls_ % 256 == 0) check_now();
  }

  /// Throws out_of_time if the budget is spent (looks at the clock now).
  void check_now() const {
    if (deadline_ != clock::time_point::max() && clock::now() >= deadline_)
      throw out_of_time{"the time budget is spent"};
  }

private:
  clock::time_point deadline_ = clock::time_point::max();
  std::uint32_t calls_ = 0;
};

} // namespace mail

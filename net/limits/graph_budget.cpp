#include "net/limits/graph_budget.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace exc {

namespace {

/// The share of the count that may go at once; the rest is spread over the window, so
/// that burst + rate * window never exceeds the count. Small: the polls are spread
/// evenly anyway, and a larger burst only lowers the rate a start's 100,000 first polls
/// get (the bucket starts empty).
constexpr double burst_share = 0.02;

} // namespace

graph_budget::graph_budget(rate_limit limit, net::metrics* metrics) : metrics_{metrics} {
  if (metrics_)
    metrics_->describe(
        "exconnect_graph_budget_waits_total", "counter",
        "Graph requests that found the app's Graph budget (--graph-budget) "
        "empty and waited.");
  auto count = static_cast<double>(std::max<std::uint64_t>(limit.count, 1));
  auto window_ns = static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(limit.window).count());
  burst_ = std::max(1.0, std::floor(count * burst_share));
  // A count under 10 (the options refuse one) would leave nothing for the even rate.
  per_ns_ = std::max(count - burst_, 1.0) / std::max(window_ns, 1.0);
  // Empty at first: a process that restarts does not add a burst to what its previous
  // run used in the same window.
  tokens_ = 0;
}

void graph_budget::start(time_point now) {
  std::lock_guard<std::mutex> lock{mutex_};
  if (!refilled_) refilled_ = now;
}

std::optional<graph_budget::time_point> graph_budget::take(time_point now) {
  std::lock_guard<std::mutex> lock{mutex_};
  if (refilled_ && now > *refilled_) {
    auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - *refilled_);
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(elapsed.count()) * per_ns_);
  }
  if (!refilled_ || now > *refilled_) refilled_ = now;
  // The caller's token, now or reserved: below zero the tokens are a queue, and each
  // reservation comes when the tokens added since cover it (first come, first served).
  tokens_ -= 1;
  if (tokens_ >= 0) return std::nullopt;
  ++waits_;
  if (metrics_) metrics_->add("exconnect_graph_budget_waits_total", {});
  // Rounded up: at that time the token is whole.
  auto wait_ns = static_cast<std::int64_t>(std::ceil(-tokens_ / per_ns_));
  return *refilled_ + std::chrono::nanoseconds{std::max<std::int64_t>(wait_ns, 1)};
}

std::uint64_t graph_budget::waits() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return waits_;
}

} // namespace exc

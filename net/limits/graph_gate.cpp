#include "net/limits/graph_gate.hpp"

#include <algorithm>

namespace exc {

void graph_gate::wait(const owner& who, std::function<void()> enter) {
  waiting_.emplace_back(who, std::move(enter));
}

void graph_gate::leave(const owner& who) {
  auto i = std::find(held_.begin(), held_.end(), who);
  if (i != held_.end()) held_.erase(i);
}

void graph_gate::forget(const owner& who) {
  held_.erase(std::remove(held_.begin(), held_.end(), who), held_.end());
  waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(),
                                [&](const auto& w) { return w.first == who; }),
                 waiting_.end());
}

std::optional<graph_gate::time_point> graph_gate::admit(time_point now) {
  std::size_t admitted = 0;
  std::optional<time_point> token_at; // when the budget has a token again
  while (admitted < waiting_.size() && held_.size() < max_in_flight_ &&
         now >= paused_until_) {
    if (budget_) {
      // The first waiting request's token: taken now, or reserved for later.
      if (!reserved_) reserved_ = budget_->take(now);
      if (reserved_ && now < *reserved_) {
        token_at = reserved_;
        break;
      }
      reserved_.reset();
    }
    held_.push_back(waiting_[admitted++].first);
  }
  // Taken out before they run: one may queue again at once.
  std::vector<std::pair<owner, std::function<void()>>> going(
      std::make_move_iterator(waiting_.begin()),
      std::make_move_iterator(waiting_.begin() + admitted));
  waiting_.erase(waiting_.begin(), waiting_.begin() + admitted);
  for (auto& w : going)
    w.second();
  if (!waiting_.empty() && now < paused_until_) return paused_until_;
  if (!waiting_.empty() && token_at) return token_at;
  return std::nullopt;
}

} // namespace exc

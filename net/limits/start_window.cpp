#include "net/limits/start_window.hpp"

#include <algorithm>

namespace exc {

start_window::start_window(std::size_t at_once)
    : at_once_{std::max<std::size_t>(at_once, 1)} {}

void start_window::wait(const std::string& mailbox_id) {
  waiting_.push_back(mailbox_id);
}

std::vector<std::string> start_window::admit() {
  std::vector<std::string> now;
  while (under_way_.size() < at_once_ && !waiting_.empty()) {
    auto id = std::move(waiting_.front());
    waiting_.pop_front();
    if (under_way_.insert(id).second) now.push_back(std::move(id));
  }
  return now;
}

bool start_window::done(const std::string& mailbox_id) {
  if (under_way_.erase(mailbox_id) > 0) return true;
  // Stopped before its turn: it gives up its place in line. Rare (a removal or a pause
  // during a start), so the search is fine.
  auto i = std::find(waiting_.begin(), waiting_.end(), mailbox_id);
  if (i != waiting_.end()) waiting_.erase(i);
  return false;
}

} // namespace exc

#include "net/limits/start_window.hpp"

#include <algorithm>

namespace exc {

start_window::start_window(std::size_t at_once)
    : at_once_{std::max<std::size_t>(at_once, 1)} {}

void start_window::wait(const std::string& mailbox_id) {
  if (queued_.insert(mailbox_id).second) line_.push_back(mailbox_id);
}

std::vector<std::string> start_window::admit() {
  std::vector<std::string> now;
  while (under_way_.size() < at_once_ && !line_.empty()) {
    auto id = std::move(line_.front());
    line_.pop_front();
    if (queued_.erase(id) == 0) continue; // gave up its place
    if (under_way_.insert(id).second) now.push_back(std::move(id));
  }
  return now;
}

bool start_window::done(const std::string& mailbox_id) {
  if (under_way_.erase(mailbox_id) > 0) return true;
  queued_.erase(mailbox_id); // stopped before its turn: it gives up its place
  return false;
}

} // namespace exc

#include "messages/token_cache.hpp"

namespace exc {

token_cache::token token_cache::fresh(const std::string& key, time_point now) const {
  std::lock_guard<std::mutex> lock{mutex_};
  auto i = entries_.find(key);
  if (i == entries_.end() || now >= i->second.fresh_until) return nullptr;
  return i->second.value;
}

void token_cache::put(const std::string& key, token value, time_point fresh_until) {
  std::lock_guard<std::mutex> lock{mutex_};
  auto& e = entries_[key];
  e.value = std::move(value);
  e.fresh_until = fresh_until;
}

void token_cache::drop(const std::string& key) {
  std::lock_guard<std::mutex> lock{mutex_};
  entries_.erase(key);
}

void token_cache::clear() {
  std::lock_guard<std::mutex> lock{mutex_};
  entries_.clear();
}

std::size_t token_cache::size() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return entries_.size();
}

} // namespace exc

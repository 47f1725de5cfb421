#include "storage/pending_writes.hpp"

namespace storage {

std::string pending_writes::key_of(family f, std::string_view key) {
  std::string k;
  k.reserve(key.size() + 1);
  k.push_back(static_cast<char>(f));
  k.append(key);
  return k;
}

std::uint64_t pending_writes::add(const batch& changes) {
  auto seq = ++last_;
  std::vector<std::string> keys;
  keys.reserve(changes.size());
  for (const auto& c : changes.changes()) {
    auto k = key_of(c.where, c.key);
    auto& v = values_[k];
    v.seq = seq;
    if (c.erase)
      v.data.reset();
    else
      v.data = c.value;
    keys.push_back(std::move(k));
  }
  commits_.emplace_back(seq, std::move(keys));
  return seq;
}

void pending_writes::applied(std::uint64_t seq) {
  while (!commits_.empty() && commits_.front().first <= seq) {
    for (const auto& k : commits_.front().second) {
      auto i = values_.find(k);
      // A later commit that wrote the key again keeps it pending.
      if (i != values_.end() && i->second.seq <= seq) values_.erase(i);
    }
    commits_.pop_front();
  }
}

const std::optional<std::string>* pending_writes::find(family f,
                                                       std::string_view key) const {
  auto i = values_.find(key_of(f, key));
  return i == values_.end() ? nullptr : &i->second.data;
}

} // namespace storage

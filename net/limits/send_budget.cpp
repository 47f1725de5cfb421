#include "net/limits/send_budget.hpp"

#include <algorithm>

namespace exc {

send_budget::clock::duration send_budget::window::length() const {
  return std::chrono::duration_cast<clock::duration>(limit.window);
}

send_budget::send_budget(rate_limit mails, rate_limit bytes, rate_limit recipients)
    : mails_{mails}, bytes_{bytes}, recipients_{recipients} {}

void send_budget::record(clock::time_point at, std::uint64_t bytes,
                         const std::vector<std::string>& recipients) {
  sends_.push_back(send{at, bytes, recipients});
  bytes_used_ += bytes;
  for (const auto& r : recipients)
    ++recipient_counts_[r];
}

void send_budget::expire(clock::time_point now) {
  auto inside = [&](std::uint64_t i, const window& w) {
    return at(i).at + w.length() > now;
  };
  while (mails_.first < end() && !inside(mails_.first, mails_))
    ++mails_.first;
  while (bytes_.first < end() && !inside(bytes_.first, bytes_))
    bytes_used_ -= at(bytes_.first++).bytes;
  while (recipients_.first < end() && !inside(recipients_.first, recipients_)) {
    for (const auto& r : at(recipients_.first++).recipients) {
      auto i = recipient_counts_.find(r);
      if (i != recipient_counts_.end() && --i->second == 0) recipient_counts_.erase(i);
    }
  }
  auto keep = std::min({mails_.first, bytes_.first, recipients_.first});
  while (base_ < keep) {
    sends_.pop_front();
    ++base_;
  }
}

std::uint64_t send_budget::mails_used(clock::time_point now) {
  expire(now);
  return end() - mails_.first;
}

bool send_budget::empty(clock::time_point now) {
  expire(now);
  return sends_.empty();
}

std::optional<send_budget::clock::duration>
send_budget::wait(clock::time_point now, std::uint64_t bytes,
                  const std::vector<std::string>& recipients) {
  expire(now);
  std::vector<std::string> fresh; // recipients not yet in the window
  for (const auto& r : recipients)
    if (!recipient_counts_.count(r) &&
        std::find(fresh.begin(), fresh.end(), r) == fresh.end())
      fresh.push_back(r);
  std::vector<std::string> distinct = fresh;
  for (const auto& r : recipients)
    if (std::find(distinct.begin(), distinct.end(), r) == distinct.end())
      distinct.push_back(r);
  if (mails_.limit.count == 0 || bytes > bytes_.limit.count ||
      distinct.size() > recipients_.limit.count)
    return std::nullopt;
  clock::duration longest{0};
  auto until_gone = [&](std::uint64_t i, const window& w) {
    longest = std::max(longest, at(i).at + w.length() - now);
  };
  // Mails: the oldest sends must leave until one more fits.
  auto mails = end() - mails_.first;
  if (mails + 1 > mails_.limit.count)
    until_gone(mails_.first + (mails - mails_.limit.count), mails_);
  // Bytes: the oldest sends must leave until these bytes fit.
  if (bytes_used_ + bytes > bytes_.limit.count) {
    auto used = bytes_used_;
    auto i = bytes_.first;
    while (used + bytes > bytes_.limit.count)
      used -= at(i++).bytes;
    until_gone(i - 1, bytes_);
  }
  // Recipients: the union of the window's and this mail's must fit; a recipient leaves
  // the union when its last send leaves the window (unless this mail names it again).
  auto union_size = recipient_counts_.size() + fresh.size();
  if (union_size > recipients_.limit.count) {
    std::unordered_map<std::string, unsigned> gone;
    auto i = recipients_.first;
    while (union_size > recipients_.limit.count) {
      for (const auto& r : at(i).recipients)
        if (++gone[r] == recipient_counts_[r] &&
            std::find(recipients.begin(), recipients.end(), r) == recipients.end())
          --union_size;
      ++i;
    }
    until_gone(i - 1, recipients_);
  }
  return longest;
}

} // namespace exc

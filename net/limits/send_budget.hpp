#pragma once

#include "messages/rate_limit.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

/// The SENDER's three sliding windows of one mailbox: mails per window, MIME bytes per
/// window, distinct recipients per window. It says how long a mail must wait so that
/// sending it keeps all three; it never holds more than the longest window's sends.
namespace exc {

class send_budget {
public:
  using clock = std::chrono::steady_clock;

  send_budget(rate_limit mails, rate_limit bytes, rate_limit recipients);

  /// A send at `at` (sends are recorded in time order). Recipients in lower case.
  void record(clock::time_point at, std::uint64_t bytes,
              const std::vector<std::string>& recipients);

  /// Zero if a mail of `bytes` to `recipients` (lower case) fits at `now`, else how long
  /// until it does; nullopt if it never can (larger than a whole window allows).
  std::optional<clock::duration> wait(clock::time_point now, std::uint64_t bytes,
                                      const std::vector<std::string>& recipients);

  /// Mails in the mail window at `now`.
  std::uint64_t mails_used(clock::time_point now);

  /// No window holds a send at `now`.
  bool empty(clock::time_point now);

  const rate_limit& mail_limit() const { return mails_.limit; }

private:
  struct send {
    clock::time_point at;
    std::uint64_t bytes;
    std::vector<std::string> recipients;
  };
  /// One window: the sends from `first` (an absolute index) on are inside it.
  struct window {
    rate_limit limit;
    std::uint64_t first = 0;
    clock::duration length() const;
  };

  const send& at(std::uint64_t index) const { return sends_[index - base_]; }
  std::uint64_t end() const { return base_ + sends_.size(); }
  /// Moves each window's start past what left it; drops sends no window holds.
  void expire(clock::time_point now);

  window mails_, bytes_, recipients_;
  std::deque<send> sends_;
  std::uint64_t base_ = 0;       ///< absolute index of sends_.front()
  std::uint64_t bytes_used_ = 0; ///< MIME bytes in the bytes window
  std::unordered_map<std::string, unsigned> recipient_counts_; ///< in the window
};

} // namespace exc

#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <unordered_set>
#include <vector>

/// The first polls after a start, a window at a time: every mailbox polls once at the
/// start, in the order it was started, with at most `at_once` of those first polls under
/// way; each one that ends lets the next in. The first polls then come as fast as they
/// are served: 100,000 asked for within 8 s queued for a connection past their
/// deadlines, and their retries kept the start overloaded for minutes
/// (docs/benchmarks.md#idle-scale). Kept by the REGISTRY.
namespace exc {

class start_window {
public:
  /// @param at_once first polls under way at most (at least 1)
  explicit start_window(std::size_t at_once);

  /// The mailbox's first poll waits for its turn.
  void wait(const std::string& mailbox_id);

  /// The mailboxes whose turn it is now, in the order they waited (each then counts as
  /// under way until `done`).
  std::vector<std::string> admit();

  /// The mailbox's first poll is over, or it will not poll (stopped, removed, or it
  /// asked nothing of Graph): its place goes to the next. False if it held none.
  bool done(const std::string& mailbox_id);

  std::size_t under_way() const { return under_way_.size(); }
  std::size_t waiting() const { return queued_.size(); }

private:
  std::size_t at_once_;
  /// In line, in order; an id no longer in `queued_` gave up its place and is skipped
  /// (a stop during a start takes each mailbox out in constant time, not by a search).
  std::deque<std::string> line_;
  std::unordered_set<std::string> queued_;
  std::unordered_set<std::string> under_way_;
};

} // namespace exc

#pragma once

#include "storage/db.hpp"

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace storage {

/// The batches one actor handed to the STORAGE WRITER that the writer has not yet
/// confirmed. The actor reads through them, so its next message sees what the last one
/// wrote without waiting for each commit's answer: commits pipeline, and the writer
/// applies them in the order they were sent.
class pending_writes {
public:
  /// Records `changes` as the actor's next commit; returns its number, which the writer
  /// confirms with `applied` (commits are applied in the order they were added).
  std::uint64_t add(const batch& changes);

  /// The writer applied every commit up to `seq`: their values are in the database.
  void applied(std::uint64_t seq);

  /// The newest pending value of `key`: nullptr if none is pending, else the value
  /// (nullopt if it is erased).
  const std::optional<std::string>* find(family f, std::string_view key) const;

  /// Keys with a pending value.
  std::size_t size() const { return values_.size(); }

private:
  struct value {
    std::optional<std::string> data;
    std::uint64_t seq = 0; ///< the last commit that wrote it
  };
  static std::string key_of(family f, std::string_view key);

  std::unordered_map<std::string, value> values_;
  /// Per commit not yet applied, oldest first: its number and the keys it wrote.
  std::deque<std::pair<std::uint64_t, std::vector<std::string>>> commits_;
  std::uint64_t last_ = 0; ///< the number of the last commit added
};

} // namespace storage

#pragma once

#include <caf/actor_clock.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

/// The access tokens the TOKEN SERVICE holds, readable without a message: a Graph call
/// takes its token from here while it is fresh, and asks the TOKEN SERVICE only when
/// none is (which then refreshes it). A request to the TOKEN SERVICE per Graph call was
/// two messages and two timer operations on the clock thread per poll
/// (docs/benchmarks.md#idle-scale). Written only by the TOKEN SERVICE; shared;
/// thread-safe.
namespace exc {

class token_cache {
public:
  using time_point = caf::actor_clock::time_point;
  using token = std::shared_ptr<const std::string>;

  /// The token of `key` if it is fresh at `now`, else none.
  token fresh(const std::string& key, time_point now) const;

  /// `key`'s token (not null), fresh until `fresh_until` (the TOKEN SERVICE refreshes
  /// it after).
  void put(const std::string& key, token value, time_point fresh_until);

  /// `key` has no token to hand out (refused by Graph, grant gone, mailbox deleted).
  void drop(const std::string& key);

  /// No key has a token (a TOKEN SERVICE that starts knows of none).
  void clear();

  /// How many keys have a token (fresh or not).
  std::size_t size() const;

private:
  struct entry {
    token value;
    time_point fresh_until;
  };
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
};

} // namespace exc

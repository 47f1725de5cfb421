#pragma once

#include <mutex>
#include <string>
#include <unordered_set>

/// Which per-mailbox actors exist right now, by key ("mailbox/<id>", "sender/<id>",
/// "fetcher/<id>"):
/// each enters when it starts and leaves when it terminates, however it ends (a
/// functor attached to it). A new MAILBOX, SENDER or FETCHER for a mailbox starts only
/// once the previous one has left, even if its parent died without waiting for it (a
/// crash, a REGISTRY restart): never two SENDERs draining one outbox. Shared;
/// thread-safe.
namespace exc {

class presence {
public:
  void enter(const std::string& key) {
    std::lock_guard<std::mutex> lock{mutex_};
    keys_.insert(key);
  }
  void leave(const std::string& key) {
    std::lock_guard<std::mutex> lock{mutex_};
    keys_.erase(key);
  }
  bool contains(const std::string& key) const {
    std::lock_guard<std::mutex> lock{mutex_};
    return keys_.count(key) > 0;
  }

private:
  mutable std::mutex mutex_;
  std::unordered_set<std::string> keys_;
};

/// The keys of a mailbox's MAILBOX, FETCHER and SENDER.
inline std::string mailbox_key(const std::string& id) {
  return "mailbox/" + id;
}
inline std::string sender_key(const std::string& id) {
  return "sender/" + id;
}
inline std::string fetcher_key(const std::string& id) {
  return "fetcher/" + id;
}

} // namespace exc

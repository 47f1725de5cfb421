#pragma once

#include "storage/db.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

/// The limit windows of mailboxes (the throttle family), so that a restart does not
/// hand a mailbox a fresh budget: key "<mailbox>/<window>", value the times of the
/// events still inside the window, as wall-clock milliseconds, oldest first. Written
/// without fsync: losing the last writes in a power cut loses a few events of a window.
namespace storage {

class throttle_store {
public:
  using time_point = std::chrono::system_clock::time_point;

  explicit throttle_store(const db& d) : db_{d} {}

  /// The window's events, oldest first (empty if none are stored).
  caf::expected<std::vector<time_point>> load(const std::string& mailbox,
                                              const std::string& window) const;

  /// Stages the window's events, replacing what is stored.
  void stage(batch& changes, const std::string& mailbox, const std::string& window,
             const std::vector<time_point>& events) const;

  /// A pause Graph asked for ("<mailbox>/<name>"): the time it ends, if one is stored.
  caf::expected<std::optional<time_point>> load_pause(const std::string& mailbox,
                                                      const std::string& name) const;
  void stage_pause(batch& changes, const std::string& mailbox, const std::string& name,
                   time_point until) const;

private:
  const db& db_;
};

} // namespace storage

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

  explicit throttle_store(db& d) : db_{d} {}

  /// The window's events, oldest first (empty if none are stored).
  caf::expected<std::vector<time_point>> load(const std::string& mailbox,
                                              const std::string& window) const;

  caf::error save(const std::string& mailbox, const std::string& window,
                  const std::vector<time_point>& events);

  /// A pause Graph asked for ("<mailbox>/<name>"): the time it ends, if one is stored.
  caf::expected<std::optional<time_point>> load_pause(const std::string& mailbox,
                                                      const std::string& name) const;
  caf::error save_pause(const std::string& mailbox, const std::string& name,
                        time_point until);

private:
  db& db_;
};

} // namespace storage

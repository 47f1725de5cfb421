#pragma once

#include "storage/db.hpp"
#include "storage/vault.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <optional>
#include <string>

namespace storage {

/// Mailboxes' refresh tokens in the credentials family, sealed by the vault with the
/// mailbox id as associated data. Plaintext never touches the disk.
class credential_store {
public:
  /// Both must outlive the store.
  credential_store(db& database, const vault& keys) : db_(database), vault_(keys) {}

  /// The mailbox's refresh token, or nullopt if it has none. A record sealed with a
  /// previous master key is resealed with the current one on the way.
  caf::expected<std::optional<std::string>> load(const std::string& mailbox_id);

  /// Seals and writes the refresh token durably (fsync) before returning.
  caf::error store(const std::string& mailbox_id, const std::string& refresh_token);

  /// Deletes the mailbox's refresh token durably.
  caf::error erase(const std::string& mailbox_id);

private:
  db& db_;
  const vault& vault_;
};

} // namespace storage

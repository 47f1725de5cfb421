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
  credential_store(const db& database, const vault& keys) : db_(database), vault_(keys) {}

  /// The mailbox's refresh token, or nullopt if it has none. A record sealed with a
  /// previous master key is resealed with the current one in `reseal`.
  caf::expected<std::optional<std::string>> load(const std::string& mailbox_id,
                                                 batch& reseal) const;

  /// Seals the refresh token and stages it (commit it durably).
  caf::error stage_store(batch& changes, const std::string& mailbox_id,
                         const std::string& refresh_token) const;

  /// Stages the deletion of the mailbox's refresh token.
  void stage_erase(batch& changes, const std::string& mailbox_id) const;

private:
  const db& db_;
  const vault& vault_;
};

} // namespace storage

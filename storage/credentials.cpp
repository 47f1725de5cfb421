#include "storage/credentials.hpp"

namespace storage {

namespace {

/// The associated data of a mailbox's sealed refresh token.
std::string record_id(const std::string& mailbox_id) {
  return "credentials/" + mailbox_id;
}

} // namespace

caf::expected<std::optional<std::string>>
credential_store::load(const std::string& mailbox_id, batch& reseal) const {
  auto sealed = db_.get(family::credentials, mailbox_id);
  if (!sealed) return sealed.error();
  if (!*sealed) return std::optional<std::string>{};
  auto plain = vault_.open(record_id(mailbox_id), **sealed);
  if (!plain) return plain.error();
  if (vault_.needs_reseal(**sealed))
    if (auto err = stage_store(reseal, mailbox_id, *plain)) return err;
  return std::optional<std::string>{std::move(*plain)};
}

caf::error credential_store::stage_store(batch& changes, const std::string& mailbox_id,
                                         const std::string& refresh_token) const {
  auto sealed = vault_.seal(record_id(mailbox_id), refresh_token);
  if (!sealed) return sealed.error();
  changes.put(family::credentials, mailbox_id, *sealed);
  return {};
}

void credential_store::stage_erase(batch& changes, const std::string& mailbox_id) const {
  changes.erase(family::credentials, mailbox_id);
}

} // namespace storage

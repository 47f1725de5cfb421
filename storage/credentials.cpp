#include "storage/credentials.hpp"

namespace storage {

namespace {

/// The associated data of a mailbox's sealed refresh token.
std::string record_id(const std::string& mailbox_id) {
  return "credentials/" + mailbox_id;
}

} // namespace

caf::expected<std::optional<std::string>>
credential_store::load(const std::string& mailbox_id) {
  auto sealed = db_.get(family::credentials, mailbox_id);
  if (!sealed) return sealed.error();
  if (!*sealed) return std::optional<std::string>{};
  auto plain = vault_.open(record_id(mailbox_id), **sealed);
  if (!plain) return plain.error();
  if (vault_.needs_reseal(**sealed))
    if (auto err = store(mailbox_id, *plain)) return err;
  return std::optional<std::string>{std::move(*plain)};
}

caf::error credential_store::store(const std::string& mailbox_id,
                                   const std::string& refresh_token) {
  auto sealed = vault_.seal(record_id(mailbox_id), refresh_token);
  if (!sealed) return sealed.error();
  return db_.put(family::credentials, mailbox_id, *sealed);
}

caf::error credential_store::erase(const std::string& mailbox_id) {
  auto b = db_.start_batch();
  b.erase(family::credentials, mailbox_id);
  return db_.commit(b, durability::durable);
}

} // namespace storage

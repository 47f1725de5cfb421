#pragma once

#include <caf/expected.hpp>

#include <array>
#include <string>
#include <string_view>
#include <vector>

/// The credential vault: secrets (refresh tokens) sealed with AES-256-GCM under a master
/// key, so that nothing in the data directory holds them in plaintext.
namespace storage {

/// A 256-bit master key and its id (the first 8 hex digits of its SHA-256), which
/// sealed records carry so that the key can be rotated.
class master_key {
public:
  /// 64 hex digits (surrounding white space ignored).
  static caf::expected<master_key> from_hex(std::string_view hex);

  /// Reads the key file, or creates it (mode 0600, a fresh random key) if it does not
  /// exist. A key file that others may read is refused.
  static caf::expected<master_key> load_or_create(const std::string& path);

  master_key(const master_key&) = default;
  master_key& operator=(const master_key&) = default;
  ~master_key();

  const std::string& id() const { return id_; }
  const unsigned char* bytes() const { return bytes_.data(); }

private:
  master_key() = default;
  std::array<unsigned char, 32> bytes_{};
  std::string id_;
};

class vault {
public:
  /// Seals with `current`; opens records of `current` and of any `previous` key.
  explicit vault(master_key current, std::vector<master_key> previous = {});

  /// AES-256-GCM with a fresh random 96-bit nonce; `record_id` (e.g. the mailbox id) is
  /// authenticated with it, so a sealed value moved to another record does not open.
  caf::expected<std::string> seal(std::string_view record_id,
                                  std::string_view plaintext) const;

  /// The plaintext, or ec::unknown_key / ec::crypto_failure (wrong key, wrong record,
  /// tampered or truncated data).
  caf::expected<std::string> open(std::string_view record_id,
                                  std::string_view sealed) const;

  /// True if `sealed` was made with a key other than the current one.
  bool needs_reseal(std::string_view sealed) const;

  const std::string& current_key_id() const { return keys_.front().id(); }

private:
  const master_key* find(std::string_view id) const;
  std::vector<master_key> keys_; ///< current first
};

} // namespace storage

#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
} // namespace rocksdb

/// exconnect's one RocksDB database: a column family per kind of record.
namespace storage {

/// The column families. Every per-mailbox key starts with the mailbox id, so a mailbox's
/// state is a set of key ranges (see ../shared/scale-out.md).
enum class family : std::uint8_t {
  meta,        ///< schema version and process-wide settings (RocksDB's default family)
  accounts,    ///< account id -> account
  mailboxes,   ///< mailbox id -> mailbox config and status
  credentials, ///< mailbox id -> sealed refresh token
  journal,     ///< mailbox id, message key -> ingest state
  tickets,     ///< account id, ticket id -> ticket
  outbox,      ///< mailbox id, email id -> outbound mail
  throttle,    ///< mailbox id -> limit windows
  webhooks,    ///< account id -> its webhook and undelivered events (webhooks.hpp)
};

constexpr std::size_t family_count = 9;

/// The family's name in RocksDB.
const char* family_name(family f);

/// How a commit reaches the disk.
enum class durability {
  durable, ///< fsync before returning: what must survive a crash (journal, outbox, vault)
  relaxed, ///< the OS decides: state that may be rebuilt (throttle windows)
};

/// A set of changes that commit together or not at all, across families. A plain
/// value: actors build one and hand it to the STORAGE WRITER, the only one that commits.
class batch {
public:
  /// One change: a put, or an erase when `erase` is set.
  struct change {
    family where = family::meta;
    bool erase = false;
    std::string key;
    std::string value;
  };

  void put(family f, std::string_view key, std::string_view value);
  void erase(family f, std::string_view key);
  /// Changes recorded so far.
  std::size_t size() const { return changes_.size(); }
  bool empty() const { return changes_.empty(); }
  const std::vector<change>& changes() const { return changes_; }

private:
  std::vector<change> changes_;
};

class db {
public:
  /// The schema this build writes; it reads every earlier one, upgrading it on open
  /// (upgrade.hpp). 2: per-mailbox indexes of tickets and rejections; 3: the index of
  /// open journal entries and the delta link.
  static constexpr std::uint32_t schema_version = 3;

  /// Opens the database in `dir`, creating the directory (0700) and every family as
  /// needed. Errors: ec::data_dir_unusable (cannot create, not a directory, no
  /// permission, locked by another process), ec::schema_mismatch, ec::storage_failure.
  static caf::expected<std::unique_ptr<db>> open(const std::string& dir);

  ~db();
  db(const db&) = delete;
  db& operator=(const db&) = delete;

  /// The value under `key`, or nullopt if there is none.
  caf::expected<std::optional<std::string>> get(family f, std::string_view key) const;

  /// Writes a batch atomically. Only the STORAGE WRITER commits while actors run.
  caf::error commit(const batch& b, durability d);

  /// Makes every commit so far durable with one fsync of the write-ahead log: many
  /// relaxed commits followed by one sync are a group commit.
  caf::error sync();

  /// One key-value write, durably (a batch of one): for start-up, before the actors run.
  caf::error put(family f, std::string_view key, std::string_view value);

  /// Calls `visit` for each key starting with `prefix`, in key order, until it returns
  /// false. With `after`, starts past the key `prefix + after` (a cursor).
  caf::error
  scan(family f, std::string_view prefix,
       const std::function<bool(std::string_view key, std::string_view value)>& visit,
       std::string_view after = {}) const;

  const std::string& dir() const { return dir_; }

private:
  db() = default;
  rocksdb::ColumnFamilyHandle* handle(family f) const;

  std::string dir_;
  std::unique_ptr<rocksdb::DB> rocks_;
  std::array<rocksdb::ColumnFamilyHandle*, family_count> handles_{};
};

} // namespace storage

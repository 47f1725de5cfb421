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

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
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
};

constexpr std::size_t family_count = 8;

/// The family's name in RocksDB.
const char* family_name(family f);

/// How a commit reaches the disk.
enum class durability {
  durable, ///< fsync before returning: what must survive a crash (journal, outbox, vault)
  relaxed, ///< the OS decides: state that may be rebuilt (throttle windows)
};

class db;

/// A set of changes that commit together or not at all, across families. Made by
/// db::start_batch(); must not outlive its db.
class batch {
public:
  ~batch();
  batch(batch&&) noexcept;
  batch& operator=(batch&&) noexcept;

  void put(family f, std::string_view key, std::string_view value);
  void erase(family f, std::string_view key);
  /// Changes recorded so far.
  std::size_t size() const;

private:
  friend class db;
  explicit batch(const db& owner);
  const db* owner_;
  std::unique_ptr<rocksdb::WriteBatch> writes_;
};

class db {
public:
  /// The schema this build reads and writes.
  static constexpr std::uint32_t schema_version = 1;

  /// Opens the database in `dir`, creating the directory (0700) and every family as
  /// needed. Errors: ec::data_dir_unusable (cannot create, not a directory, no
  /// permission, locked by another process), ec::schema_mismatch, ec::storage_failure.
  static caf::expected<std::unique_ptr<db>> open(const std::string& dir);

  ~db();
  db(const db&) = delete;
  db& operator=(const db&) = delete;

  /// The value under `key`, or nullopt if there is none.
  caf::expected<std::optional<std::string>> get(family f, std::string_view key) const;

  /// An empty batch for this database.
  batch start_batch() const { return batch{*this}; }

  /// Writes a batch atomically; the batch is empty afterwards.
  caf::error commit(batch& b, durability d);

  /// Makes every commit so far durable with one fsync of the write-ahead log: many
  /// relaxed commits followed by one sync are a group commit.
  caf::error sync();

  /// One key-value write, durably (a batch of one).
  caf::error put(family f, std::string_view key, std::string_view value);

  /// Calls `visit` for each key starting with `prefix`, in key order, until it returns
  /// false. With `after`, starts past the key `prefix + after` (a cursor).
  caf::error
  scan(family f, std::string_view prefix,
       const std::function<bool(std::string_view key, std::string_view value)>& visit,
       std::string_view after = {}) const;

  const std::string& dir() const { return dir_; }

private:
  friend class batch;
  db() = default;
  rocksdb::ColumnFamilyHandle* handle(family f) const;

  std::string dir_;
  std::unique_ptr<rocksdb::DB> rocks_;
  std::array<rocksdb::ColumnFamilyHandle*, family_count> handles_{};
};

} // namespace storage

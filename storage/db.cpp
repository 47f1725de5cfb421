#include "storage/db.hpp"

#include "messages/error.hpp"
#include "storage/upgrade.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace storage {

namespace {

const char* const family_names[family_count] = {
    "default", // rocksdb::kDefaultColumnFamilyName: holds `meta`
    "accounts", "mailboxes", "credentials", "journal",
    "tickets",  "outbox",    "throttle",    "webhooks"};

constexpr const char* schema_key = "schema_version";

caf::error storage_error(const rocksdb::Status& status, const std::string& what) {
  return exc::make_error(exc::ec::storage_failure, what + ": " + status.ToString());
}

/// Creates `dir` (0700) if missing; checks that it is a writable directory.
caf::error prepare_dir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return exc::make_error(exc::ec::data_dir_unusable,
                             "cannot stat " + dir + ": " + std::strerror(errno));
    if (::mkdir(dir.c_str(), 0700) != 0)
      return exc::make_error(exc::ec::data_dir_unusable,
                             "cannot create " + dir + ": " + std::strerror(errno));
    return {};
  }
  if (!S_ISDIR(st.st_mode))
    return exc::make_error(exc::ec::data_dir_unusable, dir + " is not a directory");
  if (::access(dir.c_str(), R_OK | W_OK | X_OK) != 0)
    return exc::make_error(exc::ec::data_dir_unusable, "no read/write access to " + dir +
                                                           ": " + std::strerror(errno));
  return {};
}

} // namespace

const char* family_name(family f) {
  return family_names[static_cast<std::size_t>(f)];
}

void batch::put(family f, std::string_view key, std::string_view value) {
  changes_.push_back({f, false, std::string{key}, std::string{value}});
}

void batch::erase(family f, std::string_view key) {
  changes_.push_back({f, true, std::string{key}, {}});
}

caf::expected<std::unique_ptr<db>> db::open(const std::string& dir) {
  if (auto err = prepare_dir(dir)) return err;
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.keep_log_file_num = 5;
  // What a start after a crash replays is bounded: past 32 MiB of write-ahead log the
  // families holding its oldest writes are flushed (RocksDB's default allows gigabytes,
  // a minute of replay), and the recovered writes stay in memory instead of being
  // flushed before the open returns (100,000 mailboxes just added: 0.17 s).
  options.max_total_wal_size = 32u << 20;
  options.avoid_flush_during_recovery = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (std::size_t i = 0; i < family_count; ++i)
    descriptors.emplace_back(family_names[i], rocksdb::ColumnFamilyOptions{});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto status = rocksdb::DB::Open(options, dir, descriptors, &handles, &raw);
  if (!status.ok()) {
    // A held LOCK file means another process (or handle) has this data dir open.
    if (status.IsIOError() && status.ToString().find("lock") != std::string::npos)
      return exc::make_error(exc::ec::data_dir_unusable,
                             dir + " is in use by another process: " + status.ToString());
    if (status.IsIOError())
      return exc::make_error(exc::ec::data_dir_unusable, "cannot open the database in " +
                                                             dir + ": " +
                                                             status.ToString());
    return storage_error(status, "cannot open the database in " + dir);
  }
  std::unique_ptr<db> result{new db};
  result->dir_ = dir;
  result->rocks_.reset(raw);
  for (std::size_t i = 0; i < family_count; ++i)
    result->handles_[i] = handles[i];
  auto version = result->get(family::meta, schema_key);
  if (!version) return version.error();
  auto expected = std::to_string(schema_version);
  if (!*version) {
    if (auto err = result->put(family::meta, schema_key, expected)) return err;
    return result;
  }
  // Versions 1 .. schema_version are read (the older ones upgraded first).
  std::uint32_t stored = 0;
  for (char c : **version)
    stored = c >= '0' && c <= '9' && stored < 1000 ? stored * 10 + (c - '0') : 1000;
  if (version->value().empty() || stored < 1 || stored > schema_version)
    return exc::make_error(exc::ec::schema_mismatch,
                           dir + " holds schema version " + **version +
                               "; this build reads versions 1 to " + expected);
  if (stored < schema_version) {
    if (auto err = upgrade(*result, stored)) return err;
  }
  return result;
}

db::~db() {
  if (!rocks_) return;
  for (auto* h : handles_)
    if (h) rocks_->DestroyColumnFamilyHandle(h);
  rocks_->Close();
}

rocksdb::ColumnFamilyHandle* db::handle(family f) const {
  return handles_[static_cast<std::size_t>(f)];
}

caf::expected<std::optional<std::string>> db::get(family f, std::string_view key) const {
  std::string value;
  auto status = rocks_->Get(rocksdb::ReadOptions{}, handle(f),
                            rocksdb::Slice{key.data(), key.size()}, &value);
  if (status.IsNotFound()) return std::optional<std::string>{};
  if (!status.ok())
    return storage_error(status, std::string{"reading "} + family_name(f));
  return std::optional<std::string>{std::move(value)};
}

caf::error db::commit(const batch& b, durability d) {
  rocksdb::WriteBatch writes;
  for (const auto& c : b.changes()) {
    rocksdb::Slice key{c.key.data(), c.key.size()};
    if (c.erase)
      writes.Delete(handle(c.where), key);
    else
      writes.Put(handle(c.where), key, rocksdb::Slice{c.value.data(), c.value.size()});
  }
  rocksdb::WriteOptions options;
  options.sync = d == durability::durable;
  auto status = rocks_->Write(options, &writes);
  if (!status.ok()) return storage_error(status, "writing a batch");
  return {};
}

caf::error db::sync() {
  auto status = rocks_->SyncWAL();
  if (!status.ok()) return storage_error(status, "syncing the write-ahead log");
  return {};
}

caf::error db::put(family f, std::string_view key, std::string_view value) {
  batch b;
  b.put(f, key, value);
  return commit(b, durability::durable);
}

caf::error db::scan(family f, std::string_view prefix,
                    const std::function<bool(std::string_view, std::string_view)>& visit,
                    std::string_view after) const {
  std::unique_ptr<rocksdb::Iterator> it{
      rocks_->NewIterator(rocksdb::ReadOptions{}, handle(f))};
  rocksdb::Slice start{prefix.data(), prefix.size()};
  std::string cursor = std::string{prefix} + std::string{after};
  it->Seek(after.empty() ? start : rocksdb::Slice{cursor});
  // The cursor's own key was on the previous page.
  if (!after.empty() && it->Valid() && it->key() == rocksdb::Slice{cursor}) it->Next();
  for (; it->Valid() && it->key().starts_with(start); it->Next()) {
    auto key = it->key();
    auto value = it->value();
    if (!visit({key.data(), key.size()}, {value.data(), value.size()})) break;
  }
  if (!it->status().ok())
    return storage_error(it->status(), std::string{"scanning "} + family_name(f));
  return {};
}

} // namespace storage

#pragma once

// A real RocksDB in the test's temp dir, for actor tests.

#include "temp_dir.hpp"

#include "actors/storage_writer.hpp"
#include "messages/error.hpp"
#include "messages/services.hpp"
#include "storage/db.hpp"

#include <caf/test/unit_test.hpp>

#include <memory>

inline std::unique_ptr<storage::db> open_temp_db(const test::temp_dir& dir) {
  auto opened = storage::db::open(dir.file("db"));
  if (!opened) CAF_FAIL("cannot open a database: " << exc::render(opened.error()));
  return std::move(*opened);
}

/// The STORAGE WRITER over `db`, registered by name as the SUPERVISOR does.
template <class System>
exc::storage_writer_actor start_storage_writer(System& sys, storage::db& db) {
  auto writer = caf::actor_cast<exc::storage_writer_actor>(
      sys.spawn(exc::storage_writer, &db, static_cast<net::metrics*>(nullptr), false));
  exc::service::put(sys, writer);
  return writer;
}

/// Commits `changes` at once, as test set-up.
inline void commit_now(storage::db& db, const storage::batch& changes) {
  if (auto err = db.commit(changes, storage::durability::durable))
    CAF_FAIL("cannot commit: " << exc::render(err));
}

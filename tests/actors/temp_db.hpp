#pragma once

// A real RocksDB in the test's temp dir, for actor tests.

#include "temp_dir.hpp"

#include "messages/error.hpp"
#include "storage/db.hpp"

#include <caf/test/unit_test.hpp>

#include <memory>

inline std::unique_ptr<storage::db> open_temp_db(const test::temp_dir& dir) {
  auto opened = storage::db::open(dir.file("db"));
  if (!opened) CAF_FAIL("cannot open a database: " << exc::render(opened.error()));
  return std::move(*opened);
}

#pragma once

// A data dir in the test's temp dir, opened (and reopened) as exconnectd opens it.

#include "temp_dir.hpp"

#include "messages/error.hpp"
#include "storage/db.hpp"

#include <caf/test/unit_test.hpp>

#include <memory>
#include <string>

struct db_fixture {
  test::temp_dir dir;
  std::string path = dir.file("data");

  std::unique_ptr<storage::db> open() {
    auto db = storage::db::open(path);
    if (!db) CAF_FAIL("open failed: " << exc::render(db.error()));
    return std::move(*db);
  }
};

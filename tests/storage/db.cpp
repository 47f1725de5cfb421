#define CAF_SUITE storage_db
#include <caf/test/unit_test.hpp>

#include "db_fixture.hpp"
#include "eventually.hpp"

#include "messages/error.hpp"
#include "storage/db.hpp"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>

using storage::durability;
using storage::family;

CAF_TEST_FIXTURE_SCOPE(storage_db_tests, db_fixture)

CAF_TEST(a new data dir is created private with every family) {
  auto db = open();
  struct stat st {};
  CAF_REQUIRE_EQUAL(::stat(path.c_str(), &st), 0);
  CAF_CHECK_EQUAL(st.st_mode & 0777, 0700u);
  for (auto f : {family::accounts, family::mailboxes, family::credentials,
                 family::journal, family::tickets, family::outbox, family::throttle}) {
    CAF_CHECK_EQUAL(db->put(f, "k", storage::family_name(f)), caf::none);
    auto value = db->get(f, "k");
    CAF_REQUIRE(value);
    CAF_CHECK_EQUAL(value->value_or(""), storage::family_name(f));
  }
}

CAF_TEST(families keep keys apart and survive a reopen) {
  {
    auto db = open();
    CAF_CHECK_EQUAL(db->put(family::accounts, "id1", "account"), caf::none);
    CAF_CHECK_EQUAL(db->put(family::mailboxes, "id1", "mailbox"), caf::none);
  }
  auto db = open();
  CAF_CHECK_EQUAL(db->get(family::accounts, "id1")->value_or(""), "account");
  CAF_CHECK_EQUAL(db->get(family::mailboxes, "id1")->value_or(""), "mailbox");
  CAF_CHECK(!db->get(family::journal, "id1")->has_value());
}

CAF_TEST(the write ahead log a restart replays stays bounded) {
  // 48 MiB written to one family, whose memory table (64 MiB) would hold it all: past
  // 32 MiB of log the family is flushed and the log it needed goes.
  auto log_bytes = [&] {
    std::uintmax_t total = 0;
    for (const auto& f : std::filesystem::directory_iterator(path))
      if (f.path().extension() == ".log") total += f.file_size();
    return total;
  };
  {
    auto db = open();
    std::string value(1u << 20, 'x');
    for (int i = 0; i < 48; ++i) {
      value[0] = static_cast<char>('a' + i % 26);
      CAF_REQUIRE_EQUAL(db->put(family::journal, "k" + std::to_string(i), value),
                        caf::none);
    }
    std::uintmax_t seen = 0;
    bool bounded = test::eventually([&] { return (seen = log_bytes()) < (40u << 20); },
                                    std::chrono::seconds(30));
    CAF_MESSAGE("write-ahead log: " << seen << " bytes");
    CAF_CHECK(bounded);
  }
  auto db = open();
  for (int i = 0; i < 48; ++i) {
    auto v = db->get(family::journal, "k" + std::to_string(i));
    CAF_REQUIRE(v && v->has_value());
    CAF_CHECK_EQUAL((**v)[0], static_cast<char>('a' + i % 26));
  }
}

CAF_TEST(a batch commits across families at once) {
  auto db = open();
  storage::batch b;
  b.put(family::tickets, "acct/t1", "ticket");
  b.put(family::journal, "mbx/msg1", "converted:t1");
  b.erase(family::journal, "mbx/absent");
  CAF_CHECK_EQUAL(b.size(), 3u);
  CAF_CHECK(!db->get(family::tickets, "acct/t1")->has_value());
  CAF_CHECK_EQUAL(db->commit(b, durability::durable), caf::none);
  CAF_CHECK_EQUAL(db->get(family::tickets, "acct/t1")->value_or(""), "ticket");
  CAF_CHECK_EQUAL(db->get(family::journal, "mbx/msg1")->value_or(""), "converted:t1");
  storage::batch relaxed;
  relaxed.put(family::throttle, "mbx", "window");
  CAF_CHECK_EQUAL(db->commit(relaxed, durability::relaxed), caf::none);
  CAF_CHECK_EQUAL(db->get(family::throttle, "mbx")->value_or(""), "window");
}

CAF_TEST(scans visit one prefix in key order and may stop early) {
  auto db = open();
  for (auto key : {"m2/b", "m1/c", "m1/a", "m10/x", "m1/b"})
    CAF_CHECK_EQUAL(db->put(family::journal, key, key), caf::none);
  std::vector<std::string> seen;
  auto err =
      db->scan(family::journal, "m1/", [&](std::string_view key, std::string_view value) {
        CAF_CHECK_EQUAL(key, value);
        seen.emplace_back(key);
        return true;
      });
  CAF_CHECK_EQUAL(err, caf::none);
  CAF_CHECK_EQUAL(seen, (std::vector<std::string>{"m1/a", "m1/b", "m1/c"}));
  seen.clear();
  db->scan(family::journal, "m1/", [&](std::string_view key, std::string_view) {
    seen.emplace_back(key);
    return false;
  });
  CAF_CHECK_EQUAL(seen.size(), 1u);
  // A cursor starts past its own key, or at the next one if it is not a key.
  auto from = [&](std::string_view after) {
    std::vector<std::string> out;
    db->scan(
        family::journal, "m1/",
        [&](std::string_view key, std::string_view) {
          out.emplace_back(key);
          return true;
        },
        after);
    return out;
  };
  CAF_CHECK_EQUAL(from("a"), (std::vector<std::string>{"m1/b", "m1/c"}));
  CAF_CHECK_EQUAL(from("aa"), (std::vector<std::string>{"m1/b", "m1/c"}));
  CAF_CHECK_EQUAL(from("c"), std::vector<std::string>{});
}

CAF_TEST(a second open of the same data dir is refused) {
  auto first = open();
  auto second = storage::db::open(path);
  CAF_REQUIRE(!second);
  CAF_CHECK_EQUAL(second.error(), exc::make_error(exc::ec::data_dir_unusable));
  CAF_CHECK_NOT_EQUAL(exc::render(second.error()).find("in use"), std::string::npos);
}

CAF_TEST(unusable data dirs get clear errors) {
  test::write_file(dir.file("plain-file"), "x");
  auto not_dir = storage::db::open(dir.file("plain-file"));
  CAF_REQUIRE(!not_dir);
  CAF_CHECK_EQUAL(not_dir.error(), exc::make_error(exc::ec::data_dir_unusable));
  CAF_CHECK_NOT_EQUAL(exc::render(not_dir.error()).find("not a directory"),
                      std::string::npos);
  auto no_parent = storage::db::open(dir.file("missing/deeper"));
  CAF_REQUIRE(!no_parent);
  CAF_CHECK_EQUAL(no_parent.error(), exc::make_error(exc::ec::data_dir_unusable));
}

CAF_TEST(a data dir from another schema version is refused) {
  {
    auto db = open();
    CAF_CHECK_EQUAL(db->put(family::meta, "schema_version", "999"), caf::none);
  }
  auto again = storage::db::open(path);
  CAF_REQUIRE(!again);
  CAF_CHECK_EQUAL(again.error(), exc::make_error(exc::ec::schema_mismatch));
  CAF_CHECK_NOT_EQUAL(exc::render(again.error()).find("999"), std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()

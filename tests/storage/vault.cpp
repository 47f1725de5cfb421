#define CAF_SUITE storage_vault
#include <caf/test/unit_test.hpp>

#include "temp_dir.hpp"

#include "messages/error.hpp"
#include "storage/vault.hpp"

#include <sys/stat.h>

namespace {

const std::string key_a(64, 'a');
const std::string key_b =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

storage::master_key key(const std::string& hex) {
  auto k = storage::master_key::from_hex(hex);
  if (!k) CAF_FAIL(exc::render(k.error()));
  return *k;
}

/// The opened plaintext, or "?" on failure (caf::expected has no value_or in 0.17).
std::string opened(const storage::vault& v, const std::string& record,
                   const std::string& sealed) {
  auto plain = v.open(record, sealed);
  return plain ? *plain : std::string{"?"};
}

} // namespace

CAF_TEST(sealed secrets open with the same key and record) {
  storage::vault v{key(key_a)};
  auto sealed = v.seal("mailbox-1", "0.AXoA-refresh-token");
  CAF_REQUIRE(sealed);
  CAF_CHECK_EQUAL(sealed->find("refresh-token"), std::string::npos);
  auto plain = v.open("mailbox-1", *sealed);
  CAF_REQUIRE(plain);
  CAF_CHECK_EQUAL(*plain, "0.AXoA-refresh-token");
}

CAF_TEST(every seal uses a fresh nonce) {
  storage::vault v{key(key_a)};
  // Locals: CAF_CHECK_* binds its arguments by reference, a temporary's inside would
  // dangle.
  auto first = *v.seal("r", "same secret");
  auto second = *v.seal("r", "same secret");
  CAF_CHECK_NOT_EQUAL(first, second);
  CAF_CHECK_EQUAL(first.substr(0, 9), second.substr(0, 9)); // same version and key id
}

CAF_TEST(a sealed value does not open under another record id) {
  storage::vault v{key(key_a)};
  auto sealed = v.seal("mailbox-1", "secret");
  auto moved = v.open("mailbox-2", *sealed);
  CAF_REQUIRE(!moved);
  CAF_CHECK_EQUAL(moved.error(), exc::make_error(exc::ec::crypto_failure));
}

CAF_TEST(tampered or truncated records are refused) {
  storage::vault v{key(key_a)};
  auto sealed = *v.seal("r", "secret");
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    auto bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    CAF_CHECK(!v.open("r", bad));
  }
  CAF_CHECK(!v.open("r", sealed.substr(0, sealed.size() - 1)));
  CAF_CHECK(!v.open("r", ""));
}

CAF_TEST(rotation opens old records and tells which to reseal) {
  storage::vault old_vault{key(key_a)};
  auto old_record = *old_vault.seal("r", "old secret");
  storage::vault rotated{key(key_b), {key(key_a)}};
  CAF_CHECK_EQUAL(opened(rotated, "r", old_record), "old secret");
  CAF_CHECK(rotated.needs_reseal(old_record));
  auto fresh = *rotated.seal("r", "new secret");
  CAF_CHECK(!rotated.needs_reseal(fresh));
  CAF_CHECK_EQUAL(fresh.substr(1, 8), rotated.current_key_id());
  storage::vault without_old{key(key_b)};
  auto missing = without_old.open("r", old_record);
  CAF_REQUIRE(!missing);
  CAF_CHECK_EQUAL(missing.error(), exc::make_error(exc::ec::unknown_key));
}

CAF_TEST(malformed keys are refused) {
  CAF_CHECK(!storage::master_key::from_hex("abcd"));
  CAF_CHECK(!storage::master_key::from_hex(std::string(63, 'a') + "g"));
  CAF_CHECK(storage::master_key::from_hex("  " + key_b + "\n"));
  auto a = key(key_a), b = key(key_b); // locals: CAF_CHECK_* binds by reference
  CAF_CHECK_NOT_EQUAL(a.id(), b.id());
  CAF_CHECK_EQUAL(key(key_a).id().size(), 8u);
}

CAF_TEST(key files are created private and read back) {
  test::temp_dir dir;
  auto path = dir.file("master.key");
  auto created = storage::master_key::load_or_create(path);
  CAF_REQUIRE(created);
  struct stat st {};
  CAF_REQUIRE_EQUAL(::stat(path.c_str(), &st), 0);
  CAF_CHECK_EQUAL(st.st_mode & 0777, 0600u);
  auto loaded = storage::master_key::load_or_create(path);
  CAF_REQUIRE(loaded);
  CAF_CHECK_EQUAL(loaded->id(), created->id());
  storage::vault a{*created}, b{*loaded};
  CAF_CHECK_EQUAL(opened(b, "r", *a.seal("r", "x")), "x");
}

CAF_TEST(key files that others may read are refused) {
  test::temp_dir dir;
  auto path = dir.file("master.key");
  test::write_file(path, key_a + "\n");
  ::chmod(path.c_str(), 0644);
  auto loaded = storage::master_key::load_or_create(path);
  CAF_REQUIRE(!loaded);
  CAF_CHECK_EQUAL(loaded.error(), exc::make_error(exc::ec::invalid_key));
  CAF_CHECK_NOT_EQUAL(exc::render(loaded.error()).find("chmod 600"), std::string::npos);
  ::chmod(path.c_str(), 0600);
  CAF_CHECK(storage::master_key::load_or_create(path));
  test::write_file(path, "not hex\n");
  CAF_CHECK(!storage::master_key::load_or_create(path));
}

#include "storage/secret_file.hpp"

CAF_TEST(secret files are created once with mode 0600) {
  test::temp_dir dir;
  auto path = dir.file("admin.token");
  int made = 0;
  auto make = [&] {
    ++made;
    return storage::random_token();
  };
  auto first = storage::read_or_create_secret_file(path, make);
  CAF_REQUIRE(first);
  CAF_CHECK_EQUAL(first->size(), 43u);
  struct stat st {};
  CAF_REQUIRE_EQUAL(::stat(path.c_str(), &st), 0);
  CAF_CHECK_EQUAL(st.st_mode & 0777, 0600u);
  auto second = storage::read_or_create_secret_file(path, make);
  CAF_REQUIRE(second);
  CAF_CHECK_EQUAL(*second, *first);
  CAF_CHECK_EQUAL(made, 1);
  test::write_file(path, "\n");
  CAF_CHECK(!storage::read_or_create_secret_file(path, make));
  CAF_CHECK_NOT_EQUAL(storage::random_token(), storage::random_token());
}

CAF_TEST(tokens are stored as sha256 and compared in constant time) {
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  CAF_CHECK_EQUAL(storage::token_hash("abc"),
                  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto key = storage::random_token();
  auto stored = storage::token_hash(key);
  CAF_CHECK(storage::constant_time_equal(storage::token_hash(key), stored));
  CAF_CHECK(!storage::constant_time_equal(storage::token_hash(key + "x"), stored));
  CAF_CHECK(!storage::constant_time_equal("abc", "abcd"));
  CAF_CHECK(storage::constant_time_equal("", ""));
}

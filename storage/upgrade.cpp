#include "storage/upgrade.hpp"

#include "storage/helpdesk.hpp"
#include "storage/json_fields.hpp"

#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace storage {

namespace {

/// Commits the changes gathered so far once there are this many (a bounded batch).
constexpr std::size_t changes_per_commit = 10'000;

} // namespace

caf::error upgrade_to_2(db& d) {
  batch changes;
  caf::error failed;
  std::size_t indexed = 0;
  // Keys "<account>/t/<ticket id>" and "<account>/r/<rejection id>"; the other kinds
  // ("/i/", "/a/", "/k/") are skipped.
  auto err =
      d.scan(family::tickets, "", [&](std::string_view key, std::string_view value) {
        auto slash = key.find('/');
        if (slash == std::string_view::npos || key.size() < slash + 3 ||
            key[slash + 2] != '/')
          return true;
        char kind = key[slash + 1];
        if (kind != 't' && kind != 'r') return true;
        auto record = nlohmann::json::parse(value, nullptr, false);
        if (!record.is_object()) return true;
        std::string account{key.substr(0, slash)};
        std::string id{key.substr(slash + 3)};
        auto mailbox = detail::str(record, "mailbox_id");
        changes.put(family::tickets,
                    kind == 't' ? mailbox_ticket_key(account, mailbox, id)
                                : mailbox_rejection_key(account, mailbox, id),
                    "");
        ++indexed;
        if (changes.size() >= changes_per_commit) {
          failed = d.commit(changes, durability::relaxed);
          changes = batch{};
        }
        return !failed;
      });
  if (err) return err;
  if (failed) return failed;
  if (auto e = d.commit(changes, durability::durable)) return e;
  spdlog::info("storage: schema 2: indexed {} tickets and rejections by mailbox",
               indexed);
  return {};
}

caf::error upgrade(db& d, std::uint32_t stored) {
  using step = caf::error (*)(db&);
  // steps[v - 1] brings version v to v + 1.
  static constexpr step steps[] = {upgrade_to_2};
  static_assert(std::size(steps) == db::schema_version - 1);
  for (auto v = stored; v < db::schema_version; ++v) {
    if (auto err = steps[v - 1](d)) return err;
    if (auto err = d.put(family::meta, "schema_version", std::to_string(v + 1)))
      return err;
  }
  return {};
}

} // namespace storage

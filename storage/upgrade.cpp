#include "storage/upgrade.hpp"

#include "storage/helpdesk.hpp"
#include "storage/json_fields.hpp"
#include "storage/records.hpp"

#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>
#include <vector>

namespace storage {

namespace {

/// Commits the changes gathered so far once there are this many (a bounded batch).
constexpr std::size_t changes_per_commit = 10'000;

} // namespace

caf::error upgrade_to_2(db& d) {
  std::vector<std::string> accounts;
  auto err = d.scan(family::accounts, account_prefix, [&](std::string_view key, auto) {
    accounts.emplace_back(key.substr(std::string_view{account_prefix}.size()));
    return true;
  });
  if (err) return err;
  batch changes;
  caf::error failed;
  std::size_t indexed = 0;
  // Only "<account>/t/" and "<account>/r/": attachment bytes are never read.
  auto index = [&](const std::string& account, const std::string& prefix, bool ticket) {
    return d.scan(family::tickets, prefix, [&](std::string_view key, std::string_view v) {
      auto record = nlohmann::json::parse(v, nullptr, false);
      if (!record.is_object()) return true;
      std::string id{key.substr(prefix.size())};
      auto mailbox = detail::str(record, "mailbox_id");
      changes.put(family::tickets,
                  ticket ? mailbox_ticket_key(account, mailbox, id)
                         : mailbox_rejection_key(account, mailbox, id),
                  "");
      ++indexed;
      if (changes.size() >= changes_per_commit) {
        failed = d.commit(changes, durability::relaxed);
        changes = batch{};
      }
      return !failed;
    });
  };
  for (const auto& account : accounts) {
    if (auto e = index(account, ticket_key(account, ""), true)) return e;
    if (failed) return failed;
    if (auto e = index(account, rejection_key(account, ""), false)) return e;
    if (failed) return failed;
  }
  if (auto e = d.commit(changes, durability::durable)) return e;
  spdlog::info("storage: schema 2: indexed {} tickets and rejections by mailbox",
               indexed);
  return {};
}

caf::error upgrade_to_3(db& d) {
  helpdesk_store store{d};
  batch changes;
  caf::error failed;
  std::size_t open = 0;
  auto err = d.scan(family::journal, "", [&](std::string_view key, std::string_view v) {
    auto at = key.find("/m/");
    if (at == std::string_view::npos) return true; // counters, delta links, the index
    auto entry = journal_from_json(std::string{v});
    if (!entry || (!entry->pending() && entry->labelled)) return true;
    // Rewritten as it is, which files it among the open ones.
    store.stage_journal(changes, std::string{key.substr(0, at)},
                        std::string{key.substr(at + 3)}, *entry);
    ++open;
    if (changes.size() >= changes_per_commit) {
      failed = d.commit(changes, durability::relaxed);
      changes = batch{};
    }
    return !failed;
  });
  if (err) return err;
  if (failed) return failed;
  if (auto e = d.commit(changes, durability::durable)) return e;
  spdlog::info("storage: schema 3: indexed {} open journal entries", open);
  return {};
}

caf::error upgrade(db& d, std::uint32_t stored) {
  using step = caf::error (*)(db&);
  // steps[v - 1] brings version v to v + 1.
  static constexpr step steps[] = {upgrade_to_2, upgrade_to_3};
  static_assert(std::size(steps) == db::schema_version - 1);
  for (auto v = stored; v < db::schema_version; ++v) {
    if (auto err = steps[v - 1](d)) return err;
    if (auto err = d.put(family::meta, "schema_version", std::to_string(v + 1)))
      return err;
  }
  return {};
}

} // namespace storage

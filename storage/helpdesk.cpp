#include "storage/helpdesk.hpp"

#include "net/url.hpp"
#include "storage/json_fields.hpp"

#include <openssl/rand.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <stdexcept>

namespace storage {

using nlohmann::json;

namespace {

using detail::str;

caf::expected<std::optional<json>> parsed(caf::expected<std::optional<std::string>> raw) {
  if (!raw) return raw.error();
  if (!*raw) return std::optional<json>{};
  auto j = json::parse(**raw, nullptr, false);
  if (j.is_discarded()) return std::optional<json>{};
  return std::optional<json>{std::move(j)};
}

caf::expected<std::optional<json>> get_json(const db& d, family f,
                                            const std::string& key) {
  return parsed(d.get(f, key));
}

} // namespace

caf::expected<std::optional<std::string>>
helpdesk_store::get(family f, const std::string& key) const {
  if (pending_ != nullptr)
    if (const auto* value = pending_->find(f, key)) return *value;
  return db_.get(f, key);
}

caf::expected<std::optional<json>>
helpdesk_store::get_json(family f, const std::string& key) const {
  return parsed(get(f, key));
}

json to_json(const journal_entry& x) {
  json j = {{"outcome", exc::to_string(x.outcome)},
            {"ticket_id", x.ticket_id},
            {"reason", x.reason},
            {"internet_message_id", x.internet_message_id},
            {"labelled", x.labelled}};
  // Only what a failure left: a message that went through at once stays small.
  if (x.attempts > 0) j["attempts"] = x.attempts;
  if (x.label_attempts > 0) j["label_attempts"] = x.label_attempts;
  if (!x.step.empty())
    j["error"] = {{"step", x.step},
                  {"code", x.error_code},
                  {"message", x.error_message},
                  {"at", x.error_at}};
  if (x.retry_at_ms > 0) j["retry_at_ms"] = x.retry_at_ms;
  if (x.label_quarantined) j["label_quarantined"] = true;
  return j;
}

std::optional<journal_entry> journal_from_json(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  journal_entry x;
  auto outcome = exc::message_outcome_from(str(j, "outcome"));
  if (!outcome) return std::nullopt;
  x.outcome = *outcome;
  x.ticket_id = str(j, "ticket_id");
  x.reason = str(j, "reason");
  x.internet_message_id = str(j, "internet_message_id");
  x.labelled = j.value("labelled", false);
  x.attempts = static_cast<std::uint32_t>(detail::num(j, "attempts"));
  x.label_attempts = static_cast<std::uint32_t>(detail::num(j, "label_attempts"));
  if (auto e = j.find("error"); e != j.end() && e->is_object()) {
    x.step = str(*e, "step");
    x.error_code = str(*e, "code");
    x.error_message = str(*e, "message");
    x.error_at = str(*e, "at");
  }
  x.retry_at_ms = detail::num(j, "retry_at_ms");
  x.label_quarantined = j.value("label_quarantined", false);
  if (x.pending() && x.attempts == 0) return std::nullopt;
  return x;
}

std::string journal_key(const std::string& mailbox, const std::string& graph_id) {
  return mailbox + "/m/" + graph_id;
}

std::string counters_key(const std::string& mailbox) {
  return mailbox + "/counters";
}

std::string delta_link_key(const std::string& mailbox) {
  return mailbox + "/delta";
}

std::string push_key(const std::string& mailbox) {
  return mailbox + "/push";
}

std::string pushed_key(const std::string& mailbox) {
  return mailbox + "/pushed";
}

std::string open_key(const std::string& mailbox, const std::string& graph_id) {
  return mailbox + "/o/" + graph_id;
}

std::string ticket_key(const std::string& account, const std::string& ticket_id) {
  return account + "/t/" + ticket_id;
}

std::string message_index_key(const std::string& account, const std::string& message_id) {
  return account + "/i/" + message_id;
}

std::string rejection_key(const std::string& account, const std::string& rejection_id) {
  return account + "/r/" + rejection_id;
}

std::string mailbox_ticket_key(const std::string& account, const std::string& mailbox,
                               const std::string& ticket_id) {
  return account + "/tm/" + mailbox + "/" + ticket_id;
}

std::string mailbox_rejection_key(const std::string& account, const std::string& mailbox,
                                  const std::string& rejection_id) {
  return account + "/rm/" + mailbox + "/" + rejection_id;
}

std::string attachment_key(const std::string& account, const std::string& ticket_id,
                           const std::string& comment_id, std::size_t n) {
  return account + "/a/" + ticket_id + "/" + comment_id + "/" + std::to_string(n);
}

std::string idempotency_key(const std::string& account, const std::string& key) {
  return account + "/k/" + key;
}

json ticket_view(json ticket) {
  ticket.erase("account_id");
  return ticket;
}

std::string time_ordered_id(const std::string& prefix) {
  // Within one millisecond a counter (from a random start) keeps the order.
  static std::mutex mutex;
  static std::uint64_t last_ms = 0;
  static std::uint32_t sequence = 0;
  auto ms =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  std::uint64_t at;
  std::uint32_t seq;
  {
    std::lock_guard<std::mutex> lock{mutex};
    if (ms > last_ms) {
      unsigned char random[3];
      if (RAND_bytes(random, sizeof random) != 1)
        throw std::runtime_error("RAND_bytes failed");
      last_ms = ms;
      sequence = (random[0] << 15 | random[1] << 7 | random[2] >> 1) & 0x7fffff;
    } else if (++sequence > 0xffffff) { // 8 million ids in one millisecond: borrow one
      ++last_ms;
      sequence = 0;
    }
    at = last_ms;
    seq = sequence;
  }
  char out[32];
  std::snprintf(out, sizeof out, "%012llx%06x", static_cast<unsigned long long>(at), seq);
  return prefix + out;
}

caf::expected<std::optional<journal_entry>>
helpdesk_store::journal(const std::string& mailbox, const std::string& graph_id) const {
  auto raw = get(family::journal, journal_key(mailbox, graph_id));
  if (!raw) return raw.error();
  if (!*raw) return std::optional<journal_entry>{};
  return journal_from_json(**raw);
}

caf::expected<std::optional<std::string>>
helpdesk_store::ticket_of_message(const std::string& account,
                                  const std::string& message_id) const {
  return get(family::tickets, message_index_key(account, message_id));
}

caf::expected<std::optional<json>>
helpdesk_store::ticket(const std::string& account, const std::string& ticket_id) const {
  return get_json(family::tickets, ticket_key(account, ticket_id));
}

namespace {

/// At most `limit` records under `prefix` + id, after the id `after`, oldest first.
caf::expected<record_page> page_of(const db& d, const std::string& prefix,
                                   const std::string& after, std::size_t limit) {
  record_page page;
  bool more = false;
  auto err = d.scan(
      family::tickets, prefix,
      [&](std::string_view, std::string_view v) {
        if (page.records.size() == limit) {
          more = true;
          return false;
        }
        auto j = json::parse(v, nullptr, false);
        if (j.is_object()) page.records.push_back(std::move(j));
        return true;
      },
      after);
  if (err) return err;
  if (more && !page.records.empty()) page.next = str(page.records.back(), "id");
  return page;
}

/// The same through a mailbox's index (`index` + id -> ""): one read per record listed.
caf::expected<record_page> indexed_page_of(const db& d, const std::string& index,
                                           const std::string& prefix,
                                           const std::string& after, std::size_t limit) {
  std::vector<std::string> ids;
  auto err = d.scan(
      family::tickets, index,
      [&](std::string_view key, std::string_view) {
        ids.emplace_back(key.substr(index.size()));
        return ids.size() <= limit; // one more than asked: another page follows
      },
      after);
  if (err) return err;
  record_page page;
  bool more = ids.size() > limit;
  if (more) ids.resize(limit);
  for (const auto& id : ids) {
    auto record = get_json(d, family::tickets, prefix + id);
    if (!record) return record.error();
    if (*record && (*record)->is_object()) page.records.push_back(std::move(**record));
  }
  if (more) page.next = ids.back();
  return page;
}

} // namespace

caf::expected<record_page> helpdesk_store::tickets(const std::string& account,
                                                   const std::string& mailbox,
                                                   const std::string& after,
                                                   std::size_t limit) const {
  if (mailbox.empty()) return page_of(db_, ticket_key(account, ""), after, limit);
  return indexed_page_of(db_, mailbox_ticket_key(account, mailbox, ""),
                         ticket_key(account, ""), after, limit);
}

caf::expected<record_page> helpdesk_store::rejections(const std::string& account,
                                                      const std::string& mailbox,
                                                      const std::string& after,
                                                      std::size_t limit) const {
  if (mailbox.empty()) return page_of(db_, rejection_key(account, ""), after, limit);
  return indexed_page_of(db_, mailbox_rejection_key(account, mailbox, ""),
                         rejection_key(account, ""), after, limit);
}

caf::expected<std::optional<json>>
helpdesk_store::rejection(const std::string& account, const std::string& id) const {
  return get_json(family::tickets, rejection_key(account, id));
}

caf::expected<json> helpdesk_store::counters(const std::string& mailbox) const {
  auto stored = get_json(family::journal, counters_key(mailbox));
  if (!stored) return stored.error();
  json c = {{"fetched", 0},
            {"converted", 0},
            {"rejected", 0},
            {"rejected_by_reason", json::object()},
            {"duplicates", 0},
            {"quarantined", 0},
            {"quarantined_by_step", json::object()}};
  if (*stored && (*stored)->is_object()) c.update(**stored);
  return c;
}

void helpdesk_store::stage_ticket(batch& changes, const json& ticket) const {
  const auto account = str(ticket, "account_id");
  const auto id = str(ticket, "id");
  changes.put(family::tickets, ticket_key(account, id), ticket.dump());
  changes.put(family::tickets, mailbox_ticket_key(account, str(ticket, "mailbox_id"), id),
              "");
}

void helpdesk_store::stage_message_index(batch& changes, const std::string& account,
                                         const std::string& message_id,
                                         const std::string& ticket_id) const {
  changes.put(family::tickets, message_index_key(account, message_id), ticket_id);
}

void helpdesk_store::stage_journal(batch& changes, const std::string& mailbox,
                                   const std::string& graph_id,
                                   const journal_entry& entry) const {
  changes.put(family::journal, journal_key(mailbox, graph_id), to_json(entry).dump());
  if (!entry.pending() && entry.labelled)
    return changes.erase(family::journal, open_key(mailbox, graph_id));
  auto due = entry.retry_at_ms;
  if (!entry.pending() && entry.label_attempts == 0) { // its first label is under way
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    due = std::max(due, now + open_label_grace.count());
  }
  changes.put(family::journal, open_key(mailbox, graph_id), json{{"due_ms", due}}.dump());
}

void helpdesk_store::stage_delta_link(batch& changes, const std::string& mailbox,
                                      const std::string& link) const {
  if (link.empty())
    changes.erase(family::journal, delta_link_key(mailbox));
  else
    changes.put(family::journal, delta_link_key(mailbox), link);
}

void helpdesk_store::stage_not_open(batch& changes, const std::string& mailbox,
                                    const std::string& graph_id) const {
  changes.erase(family::journal, open_key(mailbox, graph_id));
}

caf::expected<exc::push_state> helpdesk_store::push(const std::string& mailbox) const {
  auto raw = db_.get(family::journal, push_key(mailbox));
  if (!raw) return raw.error();
  exc::push_state out;
  if (!*raw) return out;
  auto j = json::parse(**raw, nullptr, false);
  if (!j.is_object()) return out;
  out.subscription_id = str(j, "subscription_id");
  out.state_hash = str(j, "state_hash");
  out.expires_ms = detail::num(j, "expires_ms");
  out.unavailable_until_ms = detail::num(j, "unavailable_until_ms");
  out.error = str(j, "error");
  return out;
}

caf::expected<std::int64_t>
helpdesk_store::last_pushed(const std::string& mailbox) const {
  auto raw = db_.get(family::journal, pushed_key(mailbox));
  if (!raw) return raw.error();
  if (!*raw) return std::int64_t{0};
  return static_cast<std::int64_t>(std::strtoll((*raw)->c_str(), nullptr, 10));
}

void helpdesk_store::stage_push(batch& changes, const std::string& mailbox,
                                const exc::push_state& push) const {
  changes.put(family::journal, push_key(mailbox),
              json{{"subscription_id", push.subscription_id},
                   {"state_hash", push.state_hash},
                   {"expires_ms", push.expires_ms},
                   {"unavailable_until_ms", push.unavailable_until_ms},
                   {"error", push.error}}
                  .dump());
}

void helpdesk_store::stage_pushed(batch& changes, const std::string& mailbox,
                                  std::int64_t at_ms) const {
  changes.put(family::journal, pushed_key(mailbox), std::to_string(at_ms));
}

caf::expected<std::optional<std::string>>
helpdesk_store::delta_link(const std::string& mailbox) const {
  return db_.get(family::journal, delta_link_key(mailbox));
}

caf::expected<std::vector<open_message>>
helpdesk_store::open_messages(const std::string& mailbox, std::size_t limit) const {
  std::vector<open_message> out;
  auto prefix = open_key(mailbox, "");
  auto err =
      db_.scan(family::journal, prefix, [&](std::string_view key, std::string_view v) {
        if (out.size() >= limit) return false;
        auto j = json::parse(v, nullptr, false);
        open_message m;
        m.graph_id = std::string{key.substr(prefix.size())};
        m.due_ms = j.is_object() ? detail::num(j, "due_ms") : 0;
        out.push_back(std::move(m));
        return true;
      });
  if (err) return err;
  return out;
}

void helpdesk_store::stage_rejection(batch& changes, const std::string& account,
                                     const json& rejection) const {
  const auto id = str(rejection, "id");
  changes.put(family::tickets, rejection_key(account, id), rejection.dump());
  changes.put(family::tickets,
              mailbox_rejection_key(account, str(rejection, "mailbox_id"), id), "");
}

void helpdesk_store::stage_counters(batch& changes, const std::string& mailbox,
                                    const json& counters) const {
  changes.put(family::journal, counters_key(mailbox), counters.dump());
}

caf::expected<std::optional<json>>
helpdesk_store::idempotent(const std::string& account, const std::string& key) const {
  return get_json(family::tickets, idempotency_key(account, key));
}

void helpdesk_store::stage_idempotent(batch& changes, const std::string& account,
                                      const std::string& key, const json& stored) const {
  changes.put(family::tickets, idempotency_key(account, key), stored.dump());
}

} // namespace storage

#include "storage/outbox.hpp"

#include "storage/json_fields.hpp"

#include <cinttypes>
#include <cstdio>

namespace storage {

using nlohmann::json;

namespace {

using detail::num;
using detail::str;
using detail::strings;

std::string email_key(const std::string& mailbox, const std::string& id) {
  return mailbox + "/e/" + id;
}
std::string mime_key(const std::string& mailbox, const std::string& id) {
  return mailbox + "/m/" + id;
}
std::string fifo_prefix(const std::string& mailbox) {
  return mailbox + "/q/";
}
std::string counters_key(const std::string& mailbox) {
  return mailbox + "/counters";
}
std::string sends_prefix(const std::string& mailbox) {
  return mailbox + "/send/";
}

std::int64_t epoch_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch())
      .count();
}

/// 16 hex digits: keys sort by time.
std::string send_key(const std::string& mailbox, const send_record& s) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016" PRIx64,
                static_cast<std::uint64_t>(epoch_ms(s.at)));
  return sends_prefix(mailbox) + hex + "/" + s.email_id;
}

json or_null(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

} // namespace

json to_json(const outbox_email& x) {
  return {{"email_id", x.email_id},
          {"mailbox_id", x.mailbox_id},
          {"account_id", x.account_id},
          {"ticket_id", x.ticket_id},
          {"comment_id", x.comment_id},
          {"state", to_string(x.state)},
          {"to", x.to},
          {"cc", x.cc},
          {"subject", x.subject},
          {"size", x.size},
          {"internet_message_id", x.internet_message_id},
          {"error_code", x.error_code},
          {"error_message", x.error_message},
          {"created_at", x.created_at},
          {"sent_at", x.sent_at},
          {"attempted_at", x.attempted_at},
          {"attempts", x.attempts}};
}

const char* to_string(email_state s) {
  switch (s) {
  case email_state::queued:
    return "queued";
  case email_state::sending:
    return "sending";
  case email_state::sent:
    return "sent";
  case email_state::failed:
    return "failed";
  }
  return "queued";
}

std::optional<email_state> email_state_from(const std::string& name) {
  for (auto s : {email_state::queued, email_state::sending, email_state::sent,
                 email_state::failed})
    if (name == to_string(s)) return s;
  return std::nullopt;
}

std::optional<outbox_email> outbox_email_from_json(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object() || str(j, "email_id").empty()) return std::nullopt;
  outbox_email x;
  x.email_id = str(j, "email_id");
  x.mailbox_id = str(j, "mailbox_id");
  x.account_id = str(j, "account_id");
  x.ticket_id = str(j, "ticket_id");
  x.comment_id = str(j, "comment_id");
  auto state = email_state_from(str(j, "state"));
  if (!state) return std::nullopt;
  x.state = *state;
  x.to = strings(j, "to");
  x.cc = strings(j, "cc");
  x.subject = str(j, "subject");
  x.size = static_cast<std::uint64_t>(num(j, "size"));
  x.internet_message_id = str(j, "internet_message_id");
  x.error_code = str(j, "error_code");
  x.error_message = str(j, "error_message");
  x.created_at = str(j, "created_at");
  x.sent_at = str(j, "sent_at");
  x.attempted_at = str(j, "attempted_at");
  x.attempts = static_cast<std::uint64_t>(num(j, "attempts"));
  return x;
}

json outbox_view(const outbox_email& x) {
  json error = nullptr;
  if (x.state == email_state::failed)
    error = {{"code", x.error_code}, {"message", x.error_message}};
  return {{"email_id", x.email_id},
          {"mailbox_id", x.mailbox_id},
          {"ticket_id", or_null(x.ticket_id)},
          {"state", to_string(x.state)},
          {"to", x.to},
          {"cc", x.cc},
          {"subject", x.subject},
          {"size", x.size},
          {"internet_message_id", x.internet_message_id},
          {"attempts", x.attempts},
          {"error", error},
          {"created_at", x.created_at},
          {"sent_at", or_null(x.sent_at)}};
}

caf::expected<std::optional<outbox_email>>
outbox_store::next_pending(const std::string& mailbox) const {
  std::string first;
  auto err = db_.scan(family::outbox, fifo_prefix(mailbox),
                      [&](std::string_view key, std::string_view) {
                        first = std::string{key.substr(fifo_prefix(mailbox).size())};
                        return false;
                      });
  if (err) return err;
  if (first.empty()) return std::optional<outbox_email>{};
  return email(mailbox, first);
}

caf::expected<std::optional<outbox_email>>
outbox_store::email(const std::string& mailbox, const std::string& email_id) const {
  auto raw = db_.get(family::outbox, email_key(mailbox, email_id));
  if (!raw) return raw.error();
  if (!*raw) return std::optional<outbox_email>{};
  return outbox_email_from_json(**raw);
}

caf::expected<std::optional<std::string>>
outbox_store::mime(const std::string& mailbox, const std::string& email_id) const {
  return db_.get(family::outbox, mime_key(mailbox, email_id));
}

caf::expected<std::vector<outbox_email>> outbox_store::emails(const std::string& mailbox,
                                                              const std::string& after,
                                                              std::size_t limit) const {
  std::vector<outbox_email> out;
  auto err = db_.scan(
      family::outbox, mailbox + "/e/",
      [&](std::string_view, std::string_view value) {
        if (auto e = outbox_email_from_json(std::string{value}))
          out.push_back(std::move(*e));
        return out.size() < limit;
      },
      after);
  if (err) return err;
  return out;
}

caf::expected<json> outbox_store::counters(const std::string& mailbox) const {
  json out = {{"sent", 0}, {"failed", 0}};
  auto raw = db_.get(family::outbox, counters_key(mailbox));
  if (!raw) return raw.error();
  if (*raw) {
    auto j = json::parse(**raw, nullptr, false);
    if (j.is_object()) {
      out["sent"] = num(j, "sent");
      out["failed"] = num(j, "failed");
    }
  }
  return out;
}

caf::expected<std::vector<send_record>>
outbox_store::sends_since(const std::string& mailbox,
                          std::chrono::system_clock::time_point since,
                          batch& expired) const {
  std::vector<send_record> out;
  auto prefix = sends_prefix(mailbox);
  auto err = db_.scan(
      family::throttle, prefix, [&](std::string_view key, std::string_view value) {
        auto rest = key.substr(prefix.size());
        auto slash = rest.find('/');
        if (slash != 16) return true;
        auto ms = std::strtoull(std::string{rest.substr(0, 16)}.c_str(), nullptr, 16);
        send_record s;
        s.at = std::chrono::system_clock::time_point{
            std::chrono::milliseconds{static_cast<std::int64_t>(ms)}};
        if (s.at < since) {
          expired.erase(family::throttle, key);
          return true;
        }
        s.email_id = std::string{rest.substr(slash + 1)};
        auto j = json::parse(value, nullptr, false);
        if (j.is_object()) {
          s.bytes = static_cast<std::uint64_t>(num(j, "bytes"));
          s.recipients = strings(j, "to");
          s.answered = j.value("answered", false);
        }
        out.push_back(std::move(s));
        return true;
      });
  if (err) return err;
  return out;
}

void outbox_store::stage_new(batch& changes, const outbox_email& email,
                             const std::string& mime) const {
  changes.put(family::outbox, email_key(email.mailbox_id, email.email_id),
              to_json(email).dump());
  changes.put(family::outbox, mime_key(email.mailbox_id, email.email_id), mime);
  changes.put(family::outbox, fifo_prefix(email.mailbox_id) + email.email_id, "");
}

void outbox_store::stage_update(batch& changes, const outbox_email& email) const {
  changes.put(family::outbox, email_key(email.mailbox_id, email.email_id),
              to_json(email).dump());
  if (!email.pending())
    changes.erase(family::outbox, fifo_prefix(email.mailbox_id) + email.email_id);
}

void outbox_store::stage_counters(batch& changes, const std::string& mailbox,
                                  const json& counters) const {
  changes.put(family::outbox, counters_key(mailbox), counters.dump());
}

void outbox_store::stage_send(batch& changes, const std::string& mailbox,
                              const send_record& send) const {
  changes.put(
      family::throttle, send_key(mailbox, send),
      json{{"bytes", send.bytes}, {"to", send.recipients}, {"answered", send.answered}}
          .dump());
}

void outbox_store::stage_forget_send(batch& changes, const std::string& mailbox,
                                     const send_record& send) const {
  changes.erase(family::throttle, send_key(mailbox, send));
}

} // namespace storage

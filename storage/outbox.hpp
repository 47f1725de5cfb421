#pragma once

#include "storage/db.hpp"
#include "storage/webhooks.hpp"

#include <nlohmann/json.hpp>

#include <caf/expected.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

/// The outbox: per mailbox, every outbound email with its state and its MIME, in the
/// order they were queued (email ids sort by time). An email moves
///   queued -> sending -> sent | failed(code, message)
/// and only the mailbox's SENDER moves it; new emails come from the HELPDESK. Keys
/// (outbox family): "<mailbox>/e/<email id>" -> email, "<mailbox>/m/<email id>" -> MIME,
/// "<mailbox>/q/<email id>" -> "" while the email is queued or sending (the FIFO),
/// "<mailbox>/counters" -> {"sent","failed"}. The sends themselves, which the send
/// limits count, are in the throttle family: "<mailbox>/send/<16 hex ms>/<email id>" ->
/// {"bytes","to"}.
namespace storage {

/// Where an outbound email is.
enum class email_state : std::uint8_t {
  queued,  ///< waits for its turn
  sending, ///< an attempt went out, its outcome is not known yet
  sent,
  failed, ///< Graph refused it for good
};

/// "queued", "sending", "sent", "failed" (as stored and in the contract).
const char* to_string(email_state s);
/// The state so spelled; nullopt if none is.
std::optional<email_state> email_state_from(const std::string& name);

struct outbox_email {
  std::string email_id;
  std::string mailbox_id;
  std::string account_id;
  std::string ticket_id;  ///< "" for mail queued for an external helpdesk
  std::string comment_id; ///< the agent comment it notifies of ("" if none)
  email_state state = email_state::queued;
  std::vector<std::string> to; ///< addresses
  std::vector<std::string> cc;
  std::string subject;
  std::uint64_t size = 0;          ///< MIME bytes
  std::string internet_message_id; ///< the Message-ID, without angle brackets
  std::string error_code;          ///< when failed
  std::string error_message;
  std::string created_at;
  std::string sent_at;
  /// When the last attempt went out (RFC 3339): Sent Items is searched only after the
  /// grace period from here.
  std::string attempted_at;
  std::uint64_t attempts = 0;

  bool pending() const {
    return state == email_state::queued || state == email_state::sending;
  }
};

nlohmann::json to_json(const outbox_email& x);
std::optional<outbox_email> outbox_email_from_json(const std::string& text);
/// The contract's view (GET /api/v1/outbox).
nlohmann::json outbox_view(const outbox_email& x);

/// One send the limits count: when, how many MIME bytes, to whom (lower case).
struct send_record {
  std::chrono::system_clock::time_point at;
  std::uint64_t bytes = 0;
  std::vector<std::string> recipients;
  std::string email_id;
  /// Graph answered: `at` is when the answer came, no earlier than Graph counted the
  /// send. Until then `at` is when the request left, which may be a little earlier
  /// than Graph's count: a restart counts such a record from its own start.
  bool answered = false;
};

class outbox_store {
public:
  explicit outbox_store(const db& d) : db_{d} {}

  /// The mailbox's first email still queued or sending, if any.
  caf::expected<std::optional<outbox_email>>
  next_pending(const std::string& mailbox) const;
  caf::expected<std::optional<outbox_email>> email(const std::string& mailbox,
                                                   const std::string& email_id) const;
  caf::expected<std::optional<std::string>> mime(const std::string& mailbox,
                                                 const std::string& email_id) const;
  /// The mailbox's emails after the email id `after` ("" : from the first), oldest
  /// first, at most `limit`.
  caf::expected<std::vector<outbox_email>>
  emails(const std::string& mailbox, const std::string& after, std::size_t limit) const;
  /// {"sent","failed"} (zeros if none yet).
  caf::expected<nlohmann::json> counters(const std::string& mailbox) const;
  /// The sends of the mailbox at or after `since`; the erasure of older ones is staged
  /// in `expired`.
  caf::expected<std::vector<send_record>>
  sends_since(const std::string& mailbox, std::chrono::system_clock::time_point since,
              batch& expired) const;

  /// The accounts' webhooks: an email's final state is staged with its event.
  webhook_store webhooks() const { return webhook_store{db_}; }

  /// A new email and its MIME, queued.
  void stage_new(batch& changes, const outbox_email& email,
                 const std::string& mime) const;
  /// A changed email; it leaves the FIFO once sent or failed.
  void stage_update(batch& changes, const outbox_email& email) const;
  void stage_counters(batch& changes, const std::string& mailbox,
                      const nlohmann::json& counters) const;
  void stage_send(batch& changes, const std::string& mailbox,
                  const send_record& send) const;
  void stage_forget_send(batch& changes, const std::string& mailbox,
                         const send_record& send) const;

private:
  const db& db_;
};

} // namespace storage

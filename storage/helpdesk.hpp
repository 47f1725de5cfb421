#pragma once

#include "messages/types.hpp"
#include "storage/db.hpp"
#include "storage/pending_writes.hpp"
#include "storage/webhooks.hpp"

#include <nlohmann/json.hpp>

#include <caf/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

/// The embedded helpdesk and the ingest journal: tickets with their comments, the
/// Message-ID index that threads replies, rejections, and per mailbox what became of
/// each Graph message. Reads are thread-safe; writes are staged into a batch by the
/// one actor that writes (the HELPDESK), so a ticket and its journal entry commit
/// together.
namespace storage {

/// What became of one Graph message of a mailbox, and how often taking it through
/// ingest or labelling it has failed.
struct journal_entry {
  /// Pending while it is still being tried.
  exc::message_outcome outcome = exc::message_outcome::pending;
  std::string ticket_id; ///< the ticket it opened, joined or copied ("" if rejected)
  std::string reason;    ///< the rejection reason ("" unless rejected)
  std::string internet_message_id;
  bool labelled = false; ///< the labels are on the message in Exchange
  /// Tries to take it from download to storing that did not end in an outcome (each is
  /// counted before it starts, so a try the process did not survive counts too).
  std::uint32_t attempts = 0;
  std::uint32_t label_attempts = 0; ///< failed tries to label it
  /// The last failure: its step ("download", "conversion", "storing", "labelling"),
  /// Graph's or our code, the message, and when (RFC 3339).
  std::string step;
  std::string error_code;
  std::string error_message;
  std::string error_at;
  /// Not tried again before this (wall clock, ms since the epoch; 0: any time).
  std::int64_t retry_at_ms = 0;
  /// Labelling failed too often: it is no longer tried on every poll, only after the
  /// longest backoff, and counted as quarantined.
  bool label_quarantined = false;
  bool pending() const { return outcome == exc::message_outcome::pending; }
  bool rejected() const { return outcome == exc::message_outcome::rejected; }
};

nlohmann::json to_json(const journal_entry& x);
std::optional<journal_entry> journal_from_json(const std::string& text);

/// Keys. journal family: "<mailbox>/m/<graph id>" -> journal entry,
/// "<mailbox>/counters" -> counters. tickets family: "<account>/t/<ticket id>" -> ticket,
/// "<account>/i/<Message-ID>" -> ticket id, "<account>/r/<rejection id>" -> rejection,
/// "<account>/a/<ticket id>/<comment id>/<n>" -> attachment content; the per-mailbox
/// indexes "<account>/tm/<mailbox>/<ticket id>" and "<account>/rm/<mailbox>/<rejection
/// id>" -> "" (the mailbox that opened the ticket, where the mail arrived).
std::string journal_key(const std::string& mailbox, const std::string& graph_id);
std::string counters_key(const std::string& mailbox);
std::string ticket_key(const std::string& account, const std::string& ticket_id);
std::string message_index_key(const std::string& account, const std::string& message_id);
std::string rejection_key(const std::string& account, const std::string& rejection_id);
std::string mailbox_ticket_key(const std::string& account, const std::string& mailbox,
                               const std::string& ticket_id);
std::string mailbox_rejection_key(const std::string& account, const std::string& mailbox,
                                  const std::string& rejection_id);
std::string attachment_key(const std::string& account, const std::string& ticket_id,
                           const std::string& comment_id, std::size_t n);
/// The Inbox's sync state, also in the journal family: "<mailbox>/delta" -> the
/// deltaLink where the mailbox's next delta round starts (stored once a round was taken
/// through in full), and "<mailbox>/o/<graph id>" -> {"due_ms"} for each journal entry
/// still open (pending, or its labels not yet in Exchange), kept by stage_journal: a
/// delta round reports a message once, so what must be tried again is found here.
std::string delta_link_key(const std::string& mailbox);
/// "<mailbox>/push" -> its change-notification subscription (push_state, written by its
/// SUBSCRIBER); "<mailbox>/pushed" -> when the last notification came (ms since the
/// epoch, written durably before it is answered).
std::string push_key(const std::string& mailbox);
std::string pushed_key(const std::string& mailbox);
std::string open_key(const std::string& mailbox, const std::string& graph_id);

/// An open journal entry: its message and when it is due for another look (wall clock,
/// ms since the epoch): at its retry time; one that has its outcome but not yet a first
/// try of its labels, a grace period after it was written (open_label_grace): its
/// LABELER is likely still at it.
struct open_message {
  std::string graph_id;
  std::int64_t due_ms = 0;
};
inline constexpr std::chrono::milliseconds open_label_grace{10'000};

/// "<account>/k/<key>" -> what a request with this Idempotency-Key stored:
/// {"target","comment_id","email_id"}.
std::string idempotency_key(const std::string& account, const std::string& key);

/// A new id that sorts after every id made before it in this process: `prefix`, 12 hex
/// digits of milliseconds since the epoch, 6 hex digits of a counter that starts at
/// random each millisecond (so ids are hard to guess and still ordered).
std::string time_ordered_id(const std::string& prefix);

/// The ticket as the contract shows it (GET /api/v1/tickets/{id}, webhook events).
nlohmann::json ticket_view(nlohmann::json ticket);

/// A page of tickets or rejections, oldest first.
struct record_page {
  std::vector<nlohmann::json> records;
  std::string next; ///< cursor for the next page (the last record's id); "" at the end
};

class helpdesk_store {
public:
  explicit helpdesk_store(const db& d) : db_{d} {}
  /// The same store whose single records are read through `pending` first (the HELPDESK's
  /// own commits the writer has not yet confirmed); pages list what is committed.
  helpdesk_store(const helpdesk_store& base, const pending_writes* pending)
      : db_{base.db_}, pending_{pending} {}

  caf::expected<std::optional<journal_entry>> journal(const std::string& mailbox,
                                                      const std::string& graph_id) const;
  /// The ticket that owns this Message-ID in the account, if any.
  caf::expected<std::optional<std::string>>
  ticket_of_message(const std::string& account, const std::string& message_id) const;
  /// The ticket as stored: the contract's shape plus "account_id".
  caf::expected<std::optional<nlohmann::json>> ticket(const std::string& account,
                                                      const std::string& ticket_id) const;
  /// At most `limit` tickets of the account (of one mailbox, through its index, if
  /// `mailbox` is not empty) with an id after `after`.
  caf::expected<record_page> tickets(const std::string& account,
                                     const std::string& mailbox, const std::string& after,
                                     std::size_t limit) const;
  /// The same for rejections.
  caf::expected<record_page> rejections(const std::string& account,
                                        const std::string& mailbox,
                                        const std::string& after,
                                        std::size_t limit) const;
  /// One rejection of the account.
  caf::expected<std::optional<nlohmann::json>> rejection(const std::string& account,
                                                         const std::string& id) const;
  /// What an earlier request of the account with this Idempotency-Key stored.
  caf::expected<std::optional<nlohmann::json>> idempotent(const std::string& account,
                                                          const std::string& key) const;
  /// The mailbox's counters: fetched, converted, rejected, rejected_by_reason,
  /// duplicates (zeros if it has none yet).
  caf::expected<nlohmann::json> counters(const std::string& mailbox) const;
  /// The deltaLink the mailbox's next delta round starts from, if it has one.
  caf::expected<std::optional<std::string>> delta_link(const std::string& mailbox) const;
  /// The mailbox's subscription (empty if none is stored) and its last notification
  /// (0: none).
  caf::expected<exc::push_state> push(const std::string& mailbox) const;
  caf::expected<std::int64_t> last_pushed(const std::string& mailbox) const;
  /// The mailbox's open journal entries, at most `limit` (in key order; committed ones).
  caf::expected<std::vector<open_message>> open_messages(const std::string& mailbox,
                                                         std::size_t limit) const;

  /// The accounts' webhooks, whose events are staged with the records they are about.
  webhook_store webhooks() const { return webhook_store{db_}; }

  /// Staging, for the one writer: each puts its records into `changes`. A ticket and a
  /// rejection are staged with their mailbox's index entry.
  void stage_ticket(batch& changes, const nlohmann::json& ticket) const;
  void stage_message_index(batch& changes, const std::string& account,
                           const std::string& message_id,
                           const std::string& ticket_id) const;
  /// The entry, and its place among the open ones (see open_key).
  void stage_journal(batch& changes, const std::string& mailbox,
                     const std::string& graph_id, const journal_entry& entry) const;
  /// Where the next delta round starts ("" forgets it: the next round is a full one).
  void stage_delta_link(batch& changes, const std::string& mailbox,
                        const std::string& link) const;
  void stage_push(batch& changes, const std::string& mailbox,
                  const exc::push_state& push) const;
  void stage_pushed(batch& changes, const std::string& mailbox, std::int64_t at_ms) const;
  /// The message is gone from Exchange (or read before it was taken): its open entry is
  /// no longer looked at (the entry itself stays).
  void stage_not_open(batch& changes, const std::string& mailbox,
                      const std::string& graph_id) const;
  void stage_rejection(batch& changes, const std::string& account,
                       const nlohmann::json& rejection) const;
  void stage_counters(batch& changes, const std::string& mailbox,
                      const nlohmann::json& counters) const;
  void stage_idempotent(batch& changes, const std::string& account,
                        const std::string& key, const nlohmann::json& stored) const;

private:
  /// One record: pending first, else the database.
  caf::expected<std::optional<std::string>> get(family f, const std::string& key) const;
  caf::expected<std::optional<nlohmann::json>> get_json(family f,
                                                        const std::string& key) const;

  const db& db_;
  const pending_writes* pending_ = nullptr;
};

} // namespace storage

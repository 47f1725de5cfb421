#pragma once

#include "storage/db.hpp"

#include <nlohmann/json.hpp>

#include <caf/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

/// Webhooks: per account, the URL events are POSTed to and its secret (sealed), and the
/// events not yet delivered. An event is recorded in the same batch as the change that
/// causes it (only while the account has a webhook), so a change stored is an event
/// stored; the WEBHOOK DISPATCHER delivers it and erases it once the receiver answered
/// 2xx, or parks it after failing for too long. Keys (webhooks family):
///   "c/<account>"            -> webhook_config
///   "e/<account>/<event id>" -> webhook_event, waiting or failing (event ids sort by
///                               time: the order they are delivered in)
///   "p/<account>/<event id>" -> webhook_event, parked
///   "b/<account>/<event id>" -> the event's body, until it is delivered or dropped
///                               (apart, so that scanning and retrying the records
///                               never reads or rewrites a large body)
namespace storage {

struct webhook_config {
  std::string url;
  std::string sealed_secret; ///< by the vault, record id webhook_secret_record(account)
  std::string updated_at;
};

/// The vault's record id of an account's webhook secret.
std::string webhook_secret_record(const std::string& account);

struct webhook_event {
  std::string id; ///< "evt_…", time-ordered; the same on every try
  std::string account_id;
  std::string type;      ///< "ticket.created", …
  std::string order_key; ///< events with the same key are delivered in id order
  std::string created_at;
  std::uint32_t attempts = 0;
  std::int64_t first_failure_ms = 0; ///< wall clock of the first failed try (0: none)
  std::int64_t next_at_ms = 0;       ///< not tried again before this
  unsigned last_status = 0;          ///< the receiver's last HTTP status (0: none)
  std::string last_error;            ///< what went wrong last ("" if nothing did)
  std::string last_attempt_at;
  std::string parked_at; ///< "" unless parked
};

nlohmann::json to_json(const webhook_event& x);
std::optional<webhook_event> webhook_event_from_json(const std::string& text);
/// The contract's view of an undelivered event (GET /api/v1/webhook/deliveries).
nlohmann::json delivery_view(const webhook_event& x);

/// The event types.
namespace event_type {
inline constexpr const char* ticket_created = "ticket.created";
inline constexpr const char* comment_added = "comment.added";
inline constexpr const char* rejection_created = "rejection.created";
inline constexpr const char* email_sent = "email.sent";
inline constexpr const char* email_failed = "email.failed";
inline constexpr const char* mailbox_status_changed = "mailbox.status_changed";
} // namespace event_type

class webhook_store {
public:
  explicit webhook_store(const db& d) : db_{d} {}

  caf::expected<std::optional<webhook_config>> config(const std::string& account) const;
  /// The accounts that have a webhook.
  caf::expected<std::vector<std::string>> accounts() const;
  /// Events waiting or failing (`parked` false) or parked, in id order, after the id
  /// `after`, at most `limit`.
  caf::expected<std::vector<webhook_event>> events(const std::string& account,
                                                   bool parked, const std::string& after,
                                                   std::size_t limit) const;
  caf::expected<std::optional<webhook_event>>
  event(const std::string& account, const std::string& id, bool parked) const;
  /// The event's body, the JSON POSTed exactly as signed
  /// ({"id","type","created_at","account_id","data"}).
  caf::expected<std::optional<std::string>> body(const std::string& account,
                                                 const std::string& id) const;

  /// Stores the webhook, or removes it (nullopt): the dispatcher then drops the
  /// account's undelivered events.
  void stage_config(batch& changes, const std::string& account,
                    const std::optional<webhook_config>& config) const;
  /// Records an event of the account if it has a webhook: true if it does. `data` is
  /// the event's payload; `order_key` what it is ordered by (a ticket id, …).
  caf::expected<bool> stage_event(batch& changes, const std::string& account,
                                  const char* type, const std::string& order_key,
                                  const nlohmann::json& data) const;
  /// The event as it is now (attempts, …), waiting or failing.
  void stage_update(batch& changes, const webhook_event& e) const;
  void stage_delivered(batch& changes, const webhook_event& e) const;
  /// Moves a failing event among the parked ones, or back.
  void stage_park(batch& changes, const webhook_event& e) const;
  void stage_unpark(batch& changes, const webhook_event& e) const;
  /// Erases the event, waiting, failing or parked.
  void stage_drop(batch& changes, const webhook_event& e) const;

  /// The accounts with events staged in `changes`: whom to wake after the commit.
  static std::vector<std::string> accounts_in(const batch& changes);

private:
  const db& db_;
};

} // namespace storage

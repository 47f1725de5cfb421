#include "actors/helpdesk.hpp"

#include "actors/webhook_dispatcher.hpp"
#include "mail/outbound.hpp"
#include "mail/ticket_token.hpp"
#include "messages/error.hpp"
#include "messages/storage_requests.hpp"
#include "net/time_format.hpp"
#include "net/url.hpp"
#include "storage/secret_file.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_set>

namespace exc {

using nlohmann::json;

using mail::subject_tokens;
using mail::ticket_token;

namespace {

using self_ptr = helpdesk_actor::stateful_pointer<helpdesk_state>;

std::string now() {
  return net::format_rfc3339(std::chrono::system_clock::now());
}

json person_json(const person& p) {
  return {{"email", p.email}, {"name", p.name}};
}

/// Attachment bytes the ticket already stores.
std::uint64_t stored_bytes(const json& ticket) {
  std::uint64_t sum = 0;
  for (const auto& c : ticket.value("comments", json::array()))
    for (const auto& a : c.value("attachments", json::array()))
      if (a.value("stored", true)) sum += a.value("size", std::uint64_t{0});
  return sum;
}

/// `text` cut to at most `max` bytes, at the start of a UTF-8 character.
std::string cut_utf8(const std::string& text, std::size_t max) {
  if (text.size() <= max) return text;
  while (max > 0 && (static_cast<unsigned char>(text[max]) & 0xC0) == 0x80)
    --max;
  return text.substr(0, max);
}

/// The comment for the customer's mail. Attachment contents go under their own keys
/// while the ticket's `budget` lasts and the mail's count allows; beyond them they are
/// listed with "stored": false. An inline part is an image the HTML body shows (cid:).
/// With no `changes`, only the comment is made (to see whether it fits).
json comment_from(storage::batch* changes, const std::string& ticket_id,
                  const inbound_mail& m, std::uint64_t budget,
                  const ticket_limits& limits) {
  auto id = storage::time_ordered_id("c_");
  json attachments = json::array();
  for (std::size_t i = 0; i < m.attachments.size(); ++i) {
    const auto& a = m.attachments[i];
    bool stored = a.size <= budget && i < limits.attachments_per_mail;
    if (stored) {
      budget -= a.size;
      if (changes != nullptr)
        changes->put(storage::family::tickets,
                     storage::attachment_key(m.account_id, ticket_id, id, i), a.content);
    }
    attachments.push_back({{"name", a.name},
                           {"content_type", a.content_type},
                           {"size", a.size},
                           {"inline", a.is_inline},
                           {"stored", stored}});
  }
  bool html_fits = m.html_body.size() <= limits.body_bytes;
  json comment = {
      {"id", id},
      {"author", {{"email", m.from.email}, {"name", m.from.name}, {"type", "customer"}}},
      {"public", true},
      {"auto_generated", m.auto_generated},
      {"body_text", cut_utf8(m.text_body, limits.body_bytes)},
      {"body_html",
       m.html_body.empty() || !html_fits ? json(nullptr) : json(m.html_body)},
      {"internet_message_id", m.message_id.empty() ? json(nullptr) : json(m.message_id)},
      {"attachments", attachments},
      {"created_at", now()}};
  if (m.text_body.size() > limits.body_bytes || !html_fits)
    comment["body_truncated"] = true;
  return comment;
}

/// True if adding `comment` would take `ticket` past its limits.
bool too_full(const json& ticket, const json& comment, const ticket_limits& limits) {
  if (ticket["comments"].size() + 1 > limits.comments) return true;
  return ticket.dump().size() + comment.dump().size() > limits.bytes;
}

/// The ticket the mail belongs to, in the same account: one that owns a message its
/// In-Reply-To or References name, else one whose token is in the subject with a valid
/// HMAC (so nobody replies into a ticket by guessing its id).
caf::expected<std::optional<json>> thread_of(self_ptr self, const inbound_mail& m) {
  const auto& store = *self->state.store;
  // A full ticket's conversation goes on in its follow-up (and that one's, ...).
  auto latest = [&](std::optional<json> ticket) -> caf::expected<std::optional<json>> {
    for (int hop = 0; hop < 100 && ticket && ticket->contains("followed_up_by"); ++hop) {
      auto next = store.ticket(m.account_id, (*ticket)["followed_up_by"]);
      if (!next) return next.error();
      if (!*next) break;
      ticket = std::move(*next);
    }
    return ticket;
  };
  for (const auto& id : m.thread_ids) {
    auto owner = store.ticket_of_message(m.account_id, id);
    if (!owner) return owner.error();
    if (!*owner) continue;
    auto ticket = store.ticket(m.account_id, **owner);
    if (!ticket) return ticket.error();
    if (*ticket) return latest(std::move(*ticket));
  }
  for (const auto& [id, token] : subject_tokens(m.subject)) {
    if (!storage::constant_time_equal(token, ticket_token(self->state.token_key, id)))
      continue;
    auto ticket = store.ticket(m.account_id, id);
    if (!ticket) return ticket.error();
    if (*ticket) return latest(std::move(*ticket));
  }
  return std::optional<json>{};
}

void count(json& counters, const char* name) {
  counters[name] = counters.value(name, std::int64_t{0}) + 1;
}

void count(json& counters, const char* group, const std::string& key) {
  auto& by = counters[group];
  if (!by.is_object()) by = json::object();
  by[key] = by.value(key, std::int64_t{0}) + 1;
}

/// Records a webhook event of the account in the same batch, if it has a webhook.
caf::error record_event(self_ptr self, storage::batch& changes,
                        const std::string& account, const char* type,
                        const std::string& order_key, const json& data) {
  auto staged =
      self->state.store->webhooks().stage_event(changes, account, type, order_key, data);
  return staged ? caf::error{} : staged.error();
}

/// The webhook event of a comment on a ticket (the ticket's last one).
caf::error record_comment_event(self_ptr self, storage::batch& changes,
                                const std::string& account, const json& ticket) {
  return record_event(self, changes, account, storage::event_type::comment_added,
                      ticket["id"].get<std::string>(),
                      {{"ticket_id", ticket["id"]},
                       {"mailbox_id", ticket.value("mailbox_id", "")},
                       {"comment", ticket["comments"].back()}});
}

/// Stages the rejection of `m` with its journal entry (`entry` becomes "rejected") and
/// its webhook event.
caf::error stage_rejected(self_ptr self, storage::batch& changes, const inbound_mail& m,
                          storage::journal_entry& entry, const std::string& reason,
                          const std::string& detail, json& counters) {
  const auto& store = *self->state.store;
  entry.outcome = message_outcome::rejected;
  entry.reason = reason;
  json record = {{"id", storage::time_ordered_id("rej_")},
                 {"mailbox_id", m.mailbox_id},
                 {"message_id", m.graph_id},
                 {"internet_message_id", m.message_id},
                 {"reason", reason},
                 {"detail", detail},
                 {"received_at", m.received_at}};
  store.stage_rejection(changes, m.account_id, record);
  count(counters, "rejected");
  count(counters, "rejected_by_reason", reason);
  store.stage_journal(changes, m.mailbox_id, m.graph_id, entry);
  return record_event(self, changes, m.account_id, storage::event_type::rejection_created,
                      record["id"].get<std::string>(), record);
}

/// A new ticket for `m`, its first comment included (attachments staged in `changes`).
json new_ticket(self_ptr self, storage::batch& changes, const inbound_mail& m) {
  const auto& limits = self->state.limits;
  auto id = storage::time_ordered_id("t");
  // Everyone the customer wrote to is copied on the answers, up to Zendesk's limit of
  // 48 CCs per ticket (each CC is a recipient of every notification).
  constexpr std::size_t max_cc = 48;
  json cc = json::array();
  std::unordered_set<std::string> seen{net::to_lower(m.from.email)};
  for (const auto& list : {&m.to, &m.cc})
    for (const auto& p : *list)
      if (cc.size() < max_cc && seen.insert(net::to_lower(p.email)).second)
        cc.push_back(person_json(p));
  auto at = now();
  json ticket = {{"id", id},
                 {"account_id", m.account_id},
                 {"mailbox_id", m.mailbox_id},
                 {"token", ticket_token(self->state.token_key, id)},
                 {"subject", m.subject},
                 {"status", "open"},
                 {"requester", person_json(m.from)},
                 {"cc", cc},
                 {"created_at", at},
                 {"updated_at", at},
                 {"comments", json::array()}};
  ticket["comments"].push_back(
      comment_from(&changes, id, m, limits.attachment_bytes, limits));
  return ticket;
}

/// Stages the mail's records on top of what the journal knows of it (`entry`: its
/// failed tries, if any); returns the outcome.
caf::expected<ingest_outcome> stage(self_ptr self, storage::batch& changes,
                                    const inbound_mail& m, json& counters,
                                    storage::journal_entry entry) {
  const auto& store = *self->state.store;
  entry.internet_message_id = m.message_id;
  entry.retry_at_ms = 0;
  bool recovering = !m.recovering.empty(); // no rejection applies
  if (recovering) { // a new outcome, labelled anew (the rejected label goes)
    entry.reason.clear();
    entry.labelled = false;
  }
  if (!recovering) count(counters, "fetched");
  auto rejection = recovering ? std::string{} : m.rejection;
  auto detail = m.detail;
  std::optional<json> thread;
  if (rejection.empty()) {
    // The same Message-ID twice in one account is one ticket.
    if (!m.message_id.empty()) {
      auto owner = store.ticket_of_message(m.account_id, m.message_id);
      if (!owner) return owner.error();
      if (*owner) {
        entry.outcome = message_outcome::duplicate;
        entry.ticket_id = **owner;
        count(counters, "duplicates");
        store.stage_journal(changes, m.mailbox_id, m.graph_id, entry);
        return ingest_outcome{entry.outcome, entry.ticket_id, ""};
      }
    }
    auto found = thread_of(self, m);
    if (!found) return found.error();
    thread = std::move(*found);
    if (recovering) {
      // An admin asked for a ticket: none of the reasons below applies.
    } else if (!thread && m.auto_generated) {
      rejection = "auto_submitted";
      detail = (m.detail.empty() ? std::string{"written by a machine"} : m.detail) +
               ", and it belongs to no ticket";
    } else if (!thread && m.reject_list_mail && !m.list_mail.empty()) {
      rejection = "mailing_list";
      detail = "mailing-list or bulk mail (" + m.list_mail +
               ") that belongs to no ticket, and the account rejects such mail "
               "(list_mail: reject)";
    }
  }
  if (!rejection.empty()) {
    if (auto err = stage_rejected(self, changes, m, entry, rejection, detail, counters))
      return err;
    return ingest_outcome{entry.outcome, "", rejection};
  }
  const auto& limits = self->state.limits;
  json ticket;
  if (thread) {
    auto used = stored_bytes(*thread);
    auto budget = used < limits.attachment_bytes ? limits.attachment_bytes - used : 0;
    if (too_full(*thread, comment_from(nullptr, (*thread)["id"], m, budget, limits),
                 limits)) {
      // The conversation goes on in a new ticket that points back; the full one points
      // forward, so later replies to it land in the new one.
      ticket = new_ticket(self, changes, m);
      ticket["follow_up_of"] = (*thread)["id"];
      (*thread)["followed_up_by"] = ticket["id"];
      (*thread)["updated_at"] = now();
      store.stage_ticket(changes, *thread);
      entry.outcome = message_outcome::ticket;
    } else {
      ticket = std::move(*thread);
      entry.outcome = message_outcome::comment;
      ticket["comments"].push_back(
          comment_from(&changes, ticket["id"], m, budget, limits));
      if (!m.auto_generated) ticket["status"] = "open"; // the customer wrote again
      ticket["updated_at"] = now();
    }
  } else {
    entry.outcome = message_outcome::ticket;
    ticket = new_ticket(self, changes, m);
  }
  entry.ticket_id = ticket["id"].get<std::string>();
  count(counters, "converted");
  store.stage_ticket(changes, ticket);
  if (!m.message_id.empty())
    store.stage_message_index(changes, m.account_id, m.message_id, entry.ticket_id);
  store.stage_journal(changes, m.mailbox_id, m.graph_id, entry);
  auto err =
      entry.outcome == message_outcome::ticket
          ? record_event(self, changes, m.account_id, storage::event_type::ticket_created,
                         entry.ticket_id, storage::ticket_view(ticket))
          : record_comment_event(self, changes, m.account_id, ticket);
  if (err) return err;
  return ingest_outcome{entry.outcome, entry.ticket_id, ""};
}

/// stage() with the mailbox's counters read and written back in the same batch; counts
/// `also` too, if given.
caf::expected<ingest_outcome>
stage_counted(self_ptr self, storage::batch& changes, const inbound_mail& m,
              const std::optional<storage::journal_entry>& known,
              const char* also = nullptr) {
  const auto& store = *self->state.store;
  auto counters = store.counters(m.mailbox_id);
  if (!counters) return counters.error();
  auto outcome =
      stage(self, changes, m, *counters, known.value_or(storage::journal_entry{}));
  if (!outcome) return outcome.error();
  if (also != nullptr) count(*counters, also);
  store.stage_counters(changes, m.mailbox_id, *counters);
  return outcome;
}

/// Answers `value` once everything committed so far is durable.
template <class T>
caf::result<T> answer_after_sync(self_ptr self, T value) {
  auto rp = self->make_response_promise<T>();
  storage_requests::sync(self, [=](const caf::error& err) mutable {
    if (err)
      rp.deliver(err);
    else
      rp.deliver(std::move(value));
  });
  return rp;
}

/// Commits `changes` and answers `value` once they are durable, or only applied if
/// `d` is relaxed. The HELPDESK goes on meanwhile: its reads see the batch through its
/// pending writes, so the next message reads what this one wrote, commits pipeline at
/// the STORAGE WRITER and the syncs of many messages are one fsync (the writer answers
/// a durable commit after the next sync: one request per message, not a commit and a
/// sync).
template <class T>
caf::result<T> commit_and_answer(self_ptr self, storage::batch changes, T value,
                                 storage::durability d = storage::durability::durable) {
  if (changes.empty()) {
    if (d == storage::durability::relaxed) return value;
    return answer_after_sync(self, std::move(value));
  }
  auto rp = self->make_response_promise<T>();
  auto seq = self->state.pending.add(changes);
  auto webhook_accounts = storage::webhook_store::accounts_in(changes);
  storage_requests::commit(self, std::move(changes), d,
                           [=](const caf::error& err) mutable {
                             if (err) {
                               spdlog::error("helpdesk: cannot write: {}", render(err));
                               rp.deliver(err);
                               // What came after read through what did not land: a new
                               // HELPDESK reads the database as it is, behind a barrier.
                               return self->quit(err);
                             }
                             self->state.pending.applied(seq);
                             rp.deliver(std::move(value));
                             wake_webhooks(self, webhook_accounts);
                           });
  return rp;
}

/// Stores a mail recovered from its rejection as a ticket or comment (a duplicate if its
/// Message-ID has a ticket by now), once: the rejection names what it became, and the
/// journal entry is the new outcome, to be labelled again (the rejected label goes).
caf::result<ingest_outcome> recover(self_ptr self, inbound_mail m) {
  auto& st = self->state;
  auto found = st.store->rejection(m.account_id, m.recovering);
  if (!found) return found.error();
  if (!*found) return make_error(ec::not_found, "no such rejection");
  auto rejection = std::move(**found);
  if (rejection.value("reason", "") == "too_large")
    return make_error(ec::not_recoverable, "mail rejected too_large was never "
                                           "downloaded and cannot be recovered");
  if (rejection.contains("recovered_at"))
    return make_error(ec::already_recovered, "this rejection was recovered at " +
                                                 rejection.value("recovered_at", "") +
                                                 " as " +
                                                 rejection.value("ticket_id", ""));
  auto known = st.store->journal(m.mailbox_id, m.graph_id);
  if (!known) return known.error();
  storage::batch changes;
  auto outcome = stage_counted(self, changes, m, *known, "recovered");
  if (!outcome) return outcome.error();
  rejection["recovered_at"] = now();
  rejection["ticket_id"] = outcome->ticket_id;
  rejection["recovered_as"] = to_string(outcome->outcome);
  st.store->stage_rejection(changes, m.account_id, rejection);
  st.metrics->add("exconnect_messages_total", {{"outcome", to_string(outcome->outcome)}});
  spdlog::info("mailbox {}/{}: message {} recovered from {} -> {} {}", m.account_id,
               m.mailbox_id, m.graph_id, m.recovering, to_string(outcome->outcome),
               outcome->ticket_id);
  return commit_and_answer(self, std::move(changes), *outcome);
}

/// What an earlier request with the same Idempotency-Key stored for `target` (a ticket or
/// a mailbox); ec::conflict if it was used for another target.
caf::expected<std::optional<queued_reply>> replay(self_ptr self,
                                                  const std::string& account,
                                                  const std::string& key,
                                                  const std::string& target) {
  if (key.empty()) return std::optional<queued_reply>{};
  auto stored = self->state.store->idempotent(account, key);
  if (!stored) return stored.error();
  if (!*stored) return std::optional<queued_reply>{};
  const auto& j = **stored;
  if (j.value("target", "") != target)
    return make_error(ec::conflict,
                      "the Idempotency-Key was used for " + j.value("target", ""));
  return queued_reply{j.value("comment_id", ""), j.value("email_id", ""), true};
}

/// Remembers the answer under the request's Idempotency-Key, in the same batch.
void remember(self_ptr self, storage::batch& changes, const std::string& account,
              const std::string& key, const std::string& target,
              const queued_reply& out) {
  if (key.empty()) return;
  self->state.store->stage_idempotent(
      changes, account, key,
      {{"target", target}, {"comment_id", out.comment_id}, {"email_id", out.email_id}});
}

/// Stores an agent's comment; a public one also queues its notification and makes the
/// ticket wait for the customer.
caf::result<queued_reply> add_agent_comment(self_ptr self, const agent_comment& c) {
  auto& st = self->state;
  auto target = "ticket " + c.ticket_id;
  auto earlier = replay(self, c.origin.account_id, c.idempotency_key, target);
  if (!earlier) return earlier.error();
  if (*earlier) return answer_after_sync(self, **earlier); // durable like the first
  auto found = st.store->ticket(c.origin.account_id, c.ticket_id);
  if (!found) return found.error();
  if (!*found) return make_error(ec::not_found, "no ticket " + c.ticket_id);
  auto ticket = std::move(**found);
  if (ticket.contains("followed_up_by") ||
      too_full(ticket, json{{"body_text", c.body_text}, {"body_html", c.body_html}},
               st.limits))
    return make_error(ec::ticket_full,
                      "ticket " + c.ticket_id + " is full (" +
                          std::to_string(ticket["comments"].size()) +
                          " comments); comment on " +
                          ticket.value("followed_up_by", "a new ticket"));
  queued_reply out{storage::time_ordered_id("c_"), "", false};
  storage::batch changes;
  json message_id = nullptr;
  if (c.is_public) {
    out.email_id = storage::time_ordered_id("e");
    auto mail =
        reply_notification(ticket, c, out.comment_id, out.email_id, *st.connected);
    message_id = mail.email.internet_message_id;
    st.outbox->stage_new(changes, mail.email, mail.mime);
    // A customer's answer to the notification threads into this ticket.
    st.store->stage_message_index(changes, c.origin.account_id,
                                  mail.email.internet_message_id, c.ticket_id);
    ticket["status"] = "pending";
  }
  ticket["comments"].push_back(
      {{"id", out.comment_id},
       {"author",
        {{"email", c.author.email}, {"name", c.author.name}, {"type", "agent"}}},
       {"public", c.is_public},
       {"auto_generated", false},
       {"body_text", c.body_text},
       {"body_html", c.body_html.empty() ? json(nullptr) : json(c.body_html)},
       {"internet_message_id", message_id},
       {"attachments", json::array()},
       {"created_at", now()}});
  ticket["updated_at"] = now();
  st.store->stage_ticket(changes, ticket);
  if (auto err = record_comment_event(self, changes, c.origin.account_id, ticket))
    return err;
  spdlog::info("mailbox {}/{}: agent comment {} on {}{}", c.origin.account_id,
               c.origin.mailbox_id, out.comment_id, c.ticket_id,
               out.email_id.empty() ? "" : " -> email " + out.email_id);
  remember(self, changes, c.origin.account_id, c.idempotency_key, target, out);
  return commit_and_answer(self, std::move(changes), std::move(out));
}

caf::result<queued_reply> queue_outbound(self_ptr self, const outbound_mail& m) {
  auto& st = self->state;
  auto target = "mailbox " + m.origin.mailbox_id;
  auto earlier = replay(self, m.origin.account_id, m.idempotency_key, target);
  if (!earlier) return earlier.error();
  if (*earlier) return answer_after_sync(self, **earlier); // durable like the first
  auto mail = external_mail(m, storage::time_ordered_id("e"));
  storage::batch changes;
  st.outbox->stage_new(changes, mail.email, mail.mime);
  queued_reply out{"", mail.email.email_id, false};
  remember(self, changes, m.origin.account_id, m.idempotency_key, target, out);
  spdlog::info("mailbox {}/{}: email {} queued for an external helpdesk",
               m.origin.account_id, m.origin.mailbox_id, mail.email.email_id);
  return commit_and_answer(self, std::move(changes), std::move(out));
}

caf::result<std::uint32_t> count_attempt(self_ptr self, const std::string& mailbox,
                                         const std::string& graph_id,
                                         const std::string& internet_message_id,
                                         std::int64_t retry_at_ms) {
  auto& st = self->state;
  auto known = st.store->journal(mailbox, graph_id);
  if (!known) return known.error();
  auto entry = known->value_or(storage::journal_entry{});
  if (!entry.pending()) return std::uint32_t{0};
  ++entry.attempts;
  entry.retry_at_ms = retry_at_ms;
  if (entry.internet_message_id.empty()) entry.internet_message_id = internet_message_id;
  storage::batch changes;
  st.store->stage_journal(changes, mailbox, graph_id, entry);
  // Relaxed: a crash of the process keeps it (the OS has it); only a power cut loses
  // the count of one try.
  return commit_and_answer(self, std::move(changes), entry.attempts,
                           storage::durability::relaxed);
}

/// Counts a quarantine in the mailbox's counters and the metrics.
void count_quarantine(self_ptr self, json& counters, ingest_step step) {
  count(counters, "quarantined");
  count(counters, "quarantined_by_step", to_string(step));
  self->state.metrics->add("exconnect_quarantined_total", {{"step", to_string(step)}});
}

caf::result<failure_outcome> record_failure(self_ptr self, const message_failure& f) {
  auto& st = self->state;
  auto known = st.store->journal(f.mailbox_id, f.graph_id);
  if (!known) return known.error();
  auto entry = known->value_or(storage::journal_entry{});
  bool labelling = f.step == ingest_step::labelling;
  // Only the steps before an outcome fail a pending message, only labelling a done one.
  if (entry.pending() == labelling) return failure_outcome{entry.attempts, false};
  storage::batch changes;
  if (!f.counts) {
    if (labelling || entry.attempts == 0) return failure_outcome{entry.attempts, false};
    --entry.attempts;
    entry.retry_at_ms = 0;
    st.store->stage_journal(changes, f.mailbox_id, f.graph_id, entry);
    return commit_and_answer(self, std::move(changes),
                             failure_outcome{entry.attempts, false},
                             storage::durability::relaxed);
  }
  entry.step = to_string(f.step);
  entry.error_code = f.code;
  entry.error_message = f.message;
  entry.error_at = now();
  entry.retry_at_ms = f.retry_at_ms;
  if (entry.internet_message_id.empty())
    entry.internet_message_id = f.internet_message_id;
  auto& tries = labelling ? entry.label_attempts : entry.attempts;
  if (labelling || tries == 0) ++tries; // ingest tries are counted when they start
  bool quarantine = tries >= f.max_attempts && !entry.label_quarantined;
  if (!quarantine) {
    st.store->stage_journal(changes, f.mailbox_id, f.graph_id, entry);
    return commit_and_answer(self, std::move(changes), failure_outcome{tries, false},
                             storage::durability::relaxed);
  }
  auto counters = st.store->counters(f.mailbox_id);
  if (!counters) return counters.error();
  count_quarantine(self, *counters, f.step);
  auto detail = std::string{to_string(f.step)} + " failed " + std::to_string(tries) +
                " times; the last error: " + f.code +
                (f.message.empty() ? "" : ": " + f.message);
  spdlog::warn("mailbox {}/{}: message {} quarantined: {}", f.account_id, f.mailbox_id,
               f.graph_id, detail);
  if (labelling) {
    // Its ticket or rejection stands; only the label is tried rarely from now on.
    entry.label_quarantined = true;
    st.store->stage_journal(changes, f.mailbox_id, f.graph_id, entry);
  } else {
    inbound_mail m;
    m.account_id = f.account_id;
    m.mailbox_id = f.mailbox_id;
    m.graph_id = f.graph_id;
    m.message_id = entry.internet_message_id;
    m.received_at = f.received_at;
    entry.retry_at_ms = 0;
    count(*counters, "fetched"); // fetched = converted + rejected + duplicates
    if (auto err = stage_rejected(self, changes, m, entry, "processing_failed", detail,
                                  *counters))
      return err;
    st.metrics->add("exconnect_messages_total", {{"outcome", "rejected"}});
  }
  st.store->stage_counters(changes, f.mailbox_id, *counters);
  return commit_and_answer(self, std::move(changes), failure_outcome{tries, true});
}

} // namespace

helpdesk_actor::behavior_type
helpdesk(helpdesk_actor::stateful_pointer<helpdesk_state> self,
         const storage::helpdesk_store* store, const storage::outbox_store* outbox,
         const address_book* connected, net::metrics* metrics, std::string token_key,
         ticket_limits limits) {
  // Its reads go through its own commits the writer has not confirmed yet.
  self->state.reads.emplace(*store, &self->state.pending);
  self->state.store = &*self->state.reads;
  self->state.outbox = outbox;
  self->state.connected = connected;
  self->state.limits = limits;
  self->state.metrics = metrics;
  self->state.token_key = std::move(token_key);
  // A HELPDESK that failed may have left its last batch queued at the STORAGE WRITER:
  // its replacement reads nothing before that batch is applied.
  storage_requests::await_earlier_writes(self, [] {});
  metrics->describe("exconnect_quarantined_total", "counter",
                    "Messages quarantined after failing too often, by the step that "
                    "failed (download, conversion, storing, labelling).");
  metrics->describe("exconnect_messages_total", "counter",
                    "Inbound messages stored, by outcome (ticket, comment, duplicate, "
                    "rejected).");
  return {
      [=](atom::ingest, const inbound_mail& m) -> caf::result<ingest_outcome> {
        auto& st = self->state;
        // Asked again (a retry after a crash or a lost answer): the journal knows.
        auto known = st.store->journal(m.mailbox_id, m.graph_id);
        if (!known) return known.error();
        if (*known && !(*known)->pending()) // durable like the first answer
          return answer_after_sync(
              self,
              ingest_outcome{(*known)->outcome, (*known)->ticket_id, (*known)->reason});
        storage::batch changes;
        auto outcome = stage_counted(self, changes, m, *known);
        if (!outcome) return outcome.error();
        auto answer = commit_and_answer(self, std::move(changes), *outcome);
        st.metrics->add("exconnect_messages_total",
                        {{"outcome", to_string(outcome->outcome)}});
        spdlog::info("mailbox {}/{}: message {} -> {} {}", m.account_id, m.mailbox_id,
                     m.graph_id, to_string(outcome->outcome),
                     outcome->rejected() ? outcome->reason : outcome->ticket_id);
        return answer;
      },
      [=](atom::recover, inbound_mail m) -> caf::result<ingest_outcome> {
        return recover(self, std::move(m));
      },
      [=](atom::labelled, const std::string& mailbox,
          const std::string& graph_id) -> caf::result<bool> {
        auto& st = self->state;
        auto known = st.store->journal(mailbox, graph_id);
        if (!known) return known.error();
        if (!*known || (*known)->labelled) return true;
        (*known)->labelled = true;
        storage::batch changes;
        st.store->stage_journal(changes, mailbox, graph_id, **known);
        // Relaxed: if it is lost, the label is set again, which changes nothing.
        return commit_and_answer(self, std::move(changes), true,
                                 storage::durability::relaxed);
      },
      [=](atom::attempt, const std::string& mailbox, const std::string& graph_id,
          const std::string& internet_message_id,
          std::int64_t retry_at_ms) -> caf::result<std::uint32_t> {
        return count_attempt(self, mailbox, graph_id, internet_message_id, retry_at_ms);
      },
      [=](atom::failed, const message_failure& f) { return record_failure(self, f); },
      [=](atom::comment, const agent_comment& c) { return add_agent_comment(self, c); },
      [=](atom::outbound, const outbound_mail& m) { return queue_outbound(self, m); },
  };
}

} // namespace exc

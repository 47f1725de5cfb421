#include "actors/sender.hpp"

#include "actors/webhook_dispatcher.hpp"

#include "messages/error.hpp"
#include "messages/lifetime.hpp"
#include "messages/services.hpp"
#include "messages/storage_requests.hpp"
#include "net/graph/call.hpp"
#include "net/graph/requests.hpp"
#include "net/limits/backoff.hpp"
#include "net/time_format.hpp"
#include "net/url.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace exc {

namespace {

using self_ptr = sender_actor::stateful_pointer<sender_state>;
using storage::outbox_email;

void drain(self_ptr self);

std::chrono::system_clock::time_point wall_now() {
  return std::chrono::system_clock::now();
}

std::string name_of(self_ptr self) {
  return self->state.cfg.account_id + "/" + self->state.cfg.id;
}

/// The send windows, made on first use: an idle mailbox that has sent nothing in the
/// windows keeps none (a deque allocates even when empty).
send_budget& budget(self_ptr self) {
  auto& st = self->state;
  if (!st.budget) st.budget.emplace(st.cfg.rate, st.cfg.bytes, st.cfg.recipients);
  return *st.budget;
}

/// Tells the listener how sending goes.
void report(self_ptr self) {
  auto& st = self->state;
  send_status s;
  auto now = self->clock().now();
  s.used = st.budget ? st.budget->mails_used(now) : 0;
  if (st.paused_until > now) s.paused_until = wall_time(st.paused_until, now);
  if (st.held_until > now) s.held_until = wall_time(st.held_until, now);
  s.code = st.last_code;
  s.message = st.last_message;
  self->send(st.peers.listener, atom::sent_v, st.cfg.id, std::move(s));
}

/// Stops draining until `delay` has passed.
void later(self_ptr self, caf::timespan delay) {
  auto& st = self->state;
  st.busy = false;
  st.waiting = true;
  self->delayed_send(self, delay, atom::internal_v, atom::wake_v, ++st.generation);
  report(self);
}

caf::timespan backoff(self_ptr self) {
  auto& st = self->state;
  ++st.failures;
  return backoff_delay(st.cfg.backoff_initial, st.cfg.backoff_max, st.failures, st.rng);
}

/// Graph throttled (429, 503 with Retry-After) or failed in a way that heals: only this
/// mailbox waits. A pause Graph asked for holds the whole mailbox at its gate (the
/// MAILBOX keeps and stores it); sending waits it out as well.
void pause(self_ptr self, const net::client_response& res) {
  auto& st = self->state;
  caf::timespan wait;
  if (auto asked = asked_pause(res)) {
    ++st.failures;
    wait = *asked;
  } else {
    wait = backoff(self);
  }
  st.paused_until = self->clock().now() + wait;
  storage::batch changes;
  // Stored, so that a restart does not knock on Graph's door before the pause ends.
  stage_pause(changes, st.peers.throttle, st.cfg.id, "send-pause", wait);
  storage_requests::commit_or_log(self, std::move(changes), "sender " + name_of(self),
                                  "a pause");
  later(self, wait);
}

/// A storage failure: nothing moves until storage works again.
void storage_trouble(self_ptr self, const caf::error& err) {
  spdlog::error("sender {}: outbox storage failed: {}", name_of(self), render(err));
  // A write that may still land: the next read might miss it; a restart reads behind
  // a barrier (its MAILBOX restarts it).
  if (storage_requests::may_land_later(err)) return self->quit(err);
  later(self, backoff(self));
}

/// Records the email's final state (and counters, and its webhook event) in one batch,
/// then runs `next`;
/// `recount` moves a send the limits count to the time Graph answered. Relaxed: if a
/// crash loses it, a sent email is found in Sent Items and marked again, a failed one
/// fails again.
template <class Next>
void finish(self_ptr self, const outbox_email& e, const char* counter,
            const std::pair<storage::send_record, storage::send_record>* recount,
            Next next) {
  auto& st = self->state;
  auto* outbox = st.peers.outbox;
  auto counters = outbox->counters(st.cfg.id);
  if (!counters) return storage_trouble(self, counters.error());
  (*counters)[counter] = (*counters)[counter].get<std::int64_t>() + 1;
  storage::batch changes;
  outbox->stage_update(changes, e);
  outbox->stage_counters(changes, st.cfg.id, *counters);
  if (recount) {
    outbox->stage_forget_send(changes, st.cfg.id, recount->first);
    outbox->stage_send(changes, st.cfg.id, recount->second);
  }
  auto staged = outbox->webhooks().stage_event(
      changes, e.account_id,
      e.state == storage::email_state::sent ? storage::event_type::email_sent
                                            : storage::event_type::email_failed,
      e.ticket_id.empty() ? "email:" + e.email_id : e.ticket_id, storage::outbox_view(e));
  if (!staged) return storage_trouble(self, staged.error());
  auto webhook_accounts = storage::webhook_store::accounts_in(changes);
  storage_requests::commit(self, std::move(changes), storage::durability::relaxed,
                           [=](const caf::error& err) mutable {
                             if (err) return storage_trouble(self, err);
                             wake_webhooks(self, webhook_accounts);
                             next();
                           });
}

/// `recount`: the send as stored before the request, and as Graph answered it.
void mark_sent(
    self_ptr self, outbox_email e,
    const std::pair<storage::send_record, storage::send_record>* recount = nullptr) {
  e.state = storage::email_state::sent;
  e.sent_at = net::format_rfc3339(wall_now());
  finish(self, e, "sent", recount, [=] {
    auto& st = self->state;
    st.failures = 0;
    st.last_code.clear();
    st.last_message.clear();
    st.peers.metrics->add("exconnect_outbound_emails_total", {{"state", "sent"}});
    spdlog::info("sender {}: email {} sent ({} bytes, {} recipients)", name_of(self),
                 e.email_id, e.size, e.to.size() + e.cc.size());
    report(self);
    drain(self);
  });
}

/// The email can never be sent: it leaves the queue with the reason.
void mark_failed(self_ptr self, outbox_email e, std::string code, std::string message) {
  e.state = storage::email_state::failed;
  e.error_code = std::move(code);
  e.error_message = std::move(message);
  finish(self, e, "failed", nullptr, [=] {
    self->state.peers.metrics->add("exconnect_outbound_emails_total",
                                   {{"state", "failed"}, {"code", e.error_code}});
    spdlog::warn("sender {}: email {} failed: {} {}", name_of(self), e.email_id,
                 e.error_code, e.error_message);
    drain(self);
  });
}

/// The mailbox cannot send at all for now (no token, no permission): every email
/// waits; the status says why.
void mailbox_trouble(self_ptr self, std::string code, std::string message) {
  auto& st = self->state;
  spdlog::warn("sender {}: cannot send: {} {}", name_of(self), code, message);
  st.last_code = std::move(code);
  st.last_message = std::move(message);
  later(self, backoff(self));
}

std::vector<std::string> recipients_of(const outbox_email& e) {
  std::vector<std::string> out;
  for (const auto* list : {&e.to, &e.cc})
    for (const auto& a : *list) {
      auto lower = net::to_lower(a);
      if (std::find(out.begin(), out.end(), lower) == out.end()) out.push_back(lower);
    }
  return out;
}

/// A Graph call that could not be made (no token) or got no answer.
void call_failed(self_ptr self, const caf::error& err) {
  if (is(err, ec::reauthorization_required) || is(err, ec::app_credentials_rejected) ||
      is(err, ec::token_unavailable))
    return mailbox_trouble(self, to_string(static_cast<ec>(err.code())), render(err));
  // No answer: whether Graph took the mail is unknown.
  spdlog::warn("sender {}: {}", name_of(self), render(err));
  later(self, backoff(self));
}

/// Gives the slot at the mailbox's Graph gate back, with the pause Graph asked for.
void release(self_ptr self, caf::timespan pause = caf::timespan{0}) {
  self->send(graph_gate_actor{self->state.peers.listener}, atom::release_v, pause);
}

/// A Graph call of this mailbox while it holds a slot at the gate.
void call_in_slot(self_ptr self, request_maker make, response_handler on_response) {
  const auto& st = self->state;
  exc::call_graph(
      self, tokens_of(self->system(), st.peers.tokens),
      service::get<http_actor>(self->system()), token_key_of(st.cfg), std::move(make),
      [=](net::client_response& res) {
        release(self, asked_pause(res).value_or(caf::timespan{0}));
        on_response(res);
      },
      [=](const caf::error& err) {
        release(self);
        call_failed(self, err);
      });
}

/// Runs `next` once a request of this mailbox may leave (a slot at its Graph gate).
template <class Next>
void acquire(self_ptr self, Next next) {
  // No timeout: a SENDER that ends gives its place back (its MAILBOX forgets it).
  self->request(graph_gate_actor{self->state.peers.listener}, caf::infinite,
                atom::acquire_v)
      .then([=](bool) mutable { next(); },
            [=](const caf::error& err) { call_failed(self, err); });
}

/// A Graph call of this mailbox. Only a sent email ends the backoff: a lookup that
/// works says nothing of whether sending does.
void call(self_ptr self, request_maker make, response_handler on_response) {
  acquire(self, [=] { call_in_slot(self, make, on_response); });
}

/// What Graph answered to a sendMail of `e`, stored beforehand as `counted`.
void sent_answer(self_ptr self, outbox_email e, const storage::send_record& counted,
                 net::client_response& res) {
  auto& st = self->state;
  // The limits count the send when the answer is in: Graph counts it on arrival, which
  // lies in between, so the window never holds one more than Graph's.
  budget(self).record(self->clock().now(), counted.bytes, counted.recipients);
  if (res.ok() && res.status >= 200 && res.status < 300) {
    auto answered = counted;
    answered.at = wall_now();
    answered.answered = true;
    std::pair<storage::send_record, storage::send_record> recount{counted, answered};
    return mark_sent(self, e, &recount);
  }
  auto error = graph::read_error(res);
  if (res.ok() && res.status == 429) st.known_unsent = e.email_id;
  if (graph::transient(res)) {
    spdlog::warn("sender {}: sending email {}: {} {} (retrying later)", name_of(self),
                 e.email_id, error.code, error.message);
    return pause(self, res);
  }
  // Graph refused the request itself: the mail did not go.
  st.known_unsent = e.email_id;
  if (res.status == 401 || res.status == 403 || res.status == 404)
    return mailbox_trouble(self, error.code, error.message);
  mark_failed(self, e, error.code, error.message);
}

void send_in_slot(self_ptr self, outbox_email e,
                  const std::vector<std::string>& recipients,
                  std::shared_ptr<std::string> body);

/// Sends `e` now if the limits allow, else waits until they do.
void try_send(self_ptr self, outbox_email e) {
  auto& st = self->state;
  auto* outbox = st.peers.outbox;
  auto recipients = recipients_of(e);
  if (recipients.empty())
    return mark_failed(self, e, "no_recipients", "the email names nobody to send it to");
  if (e.to.size() + e.cc.size() > st.cfg.max_recipients)
    return mark_failed(self, e, "too_many_recipients",
                       std::to_string(e.to.size() + e.cc.size()) +
                           " recipients; Exchange takes at most " +
                           std::to_string(st.cfg.max_recipients) + " per message");
  if (e.size > st.cfg.max_mime)
    return mark_failed(self, e, "message_too_large",
                       std::to_string(e.size) +
                           " bytes of MIME; sendMail takes at most " +
                           std::to_string(st.cfg.max_mime) +
                           " (larger mail needs attachment upload sessions)");
  auto now = self->clock().now();
  auto wait = budget(self).wait(now, e.size, recipients);
  if (!wait)
    return mark_failed(self, e, "exceeds_send_limits",
                       "the email alone is more than a whole send window allows");
  if (*wait > caf::timespan{0}) {
    st.held_until = now + *wait;
    return later(self, *wait);
  }
  auto mime = outbox->mime(st.cfg.id, e.email_id);
  if (!mime) return storage_trouble(self, mime.error());
  if (!*mime) return mark_failed(self, e, "mime_missing", "the stored MIME is gone");
  auto body = std::make_shared<std::string>(std::move(**mime));
  // A slot at the gate first (a pause Graph asked for may hold it long): the email is
  // marked, and its Sent Items grace starts, only when its request can leave at once.
  acquire(self, [=] { send_in_slot(self, e, recipients, body); });
}

/// Marks `e` as sending, durably, and sends it; the SENDER holds a slot at the gate.
void send_in_slot(self_ptr self, outbox_email e,
                  const std::vector<std::string>& recipients,
                  std::shared_ptr<std::string> body) {
  auto& st = self->state;
  auto* outbox = st.peers.outbox;
  auto now = self->clock().now();
  // Stored before the request leaves: after a crash the email is looked up, not resent.
  e.state = storage::email_state::sending;
  e.attempted_at = net::format_rfc3339(wall_now());
  ++e.attempts;
  storage::send_record counted{wall_now(), e.size, recipients, e.email_id};
  storage::batch changes;
  outbox->stage_update(changes, e);
  outbox->stage_send(changes, st.cfg.id, counted);
  st.known_unsent.clear();
  st.doubt_id = e.email_id;
  st.doubt_until =
      now + std::chrono::duration_cast<caf::timespan>(st.cfg.sent_items_grace);
  // Durable before the request leaves: no scheduler thread waits for the fsync.
  storage_requests::commit(
      self, std::move(changes), storage::durability::durable, [=](const caf::error& err) {
        if (err) {
          release(self);
          return storage_trouble(self, err);
        }
        call_in_slot(
            self,
            [=](const std::string& token) {
              const auto& cfg = self->state.cfg;
              return graph::send_mime(cfg.graph_url, token, cfg.address, *body);
            },
            [=](net::client_response& res) { sent_answer(self, e, counted, res); });
      });
}

/// `e` may have reached Graph: it is sent already if Sent Items has its Message-ID.
void reconcile(self_ptr self, outbox_email e) {
  call(
      self,
      [=](const std::string& token) {
        const auto& cfg = self->state.cfg;
        return graph::sent_copy(cfg.graph_url, token, cfg.address, e.internet_message_id);
      },
      [=](net::client_response& res) {
        auto& st = self->state;
        auto found = res.ok() && res.status == 200 ? graph::count_messages(res.body)
                                                   : std::nullopt;
        if (found && *found > 0) {
          spdlog::info("sender {}: email {} is in Sent Items: it was sent", name_of(self),
                       e.email_id);
          return mark_sent(self, e);
        }
        if (found) {
          st.known_unsent = e.email_id;
          return try_send(self, e);
        }
        auto error = graph::read_error(res);
        if (graph::transient(res)) return pause(self, res);
        mailbox_trouble(self, error.code, "looking up Sent Items: " + error.message);
      });
}

/// Takes the oldest email still to send.
void drain(self_ptr self) {
  auto& st = self->state;
  st.busy = true;
  auto now = self->clock().now();
  if (now < st.paused_until) return later(self, st.paused_until - now);
  auto next = st.peers.outbox->next_pending(st.cfg.id);
  if (!next) return storage_trouble(self, next.error());
  if (!*next) {
    st.busy = false;
    report(self);
    // Nothing to send: its MAILBOX ends it (a new one starts with the next email).
    self->send(st.peers.listener, atom::idle_v, st.wakes);
    return;
  }
  auto& e = **next;
  if (e.state == storage::email_state::sending && e.email_id != st.known_unsent) {
    if (st.doubt_id != e.email_id) {
      // Left by an earlier run: the grace period runs from its last attempt, stored in
      // whole seconds (cut off), so the attempt may have been up to a second later.
      auto attempted = net::parse_rfc3339(e.attempted_at).value_or(wall_now()) +
                       std::chrono::seconds(1);
      auto remaining = std::max(attempted + st.cfg.sent_items_grace - wall_now(),
                                std::chrono::system_clock::duration{0});
      st.doubt_id = e.email_id;
      st.doubt_until = now + std::chrono::duration_cast<caf::timespan>(remaining);
    }
    if (now < st.doubt_until) return later(self, st.doubt_until - now);
    return reconcile(self, std::move(e));
  }
  try_send(self, std::move(e));
}

/// The sends a previous run left inside the windows, and its pause, on this actor's
/// clock.
void load_budget(self_ptr self) {
  auto& st = self->state;
  // Its own pause (a pause Graph asked for is kept at its MAILBOX's gate).
  st.paused_until =
      self->clock().now() + stored_pause(st.peers.throttle, st.cfg.id, "send-pause");
  auto longest =
      std::max({st.cfg.rate.window, st.cfg.bytes.window, st.cfg.recipients.window});
  auto wall = wall_now();
  storage::batch expired;
  auto sends = st.peers.outbox->sends_since(st.cfg.id, wall - longest, expired);
  storage_requests::commit_or_log(self, std::move(expired), "sender " + name_of(self),
                                  "the end of old sends");
  if (!sends) {
    spdlog::error("sender {}: cannot read the send windows: {}", name_of(self),
                  render(sends.error()));
    return;
  }
  auto now = self->clock().now();
  // A send without an answer (the process died meanwhile) may have been counted by
  // Graph later than it left: it counts from now, never earlier than Graph's count. A
  // send dated after now (the wall clock was set back since) counts as now. Recorded
  // in time order, as the budget expects.
  std::vector<
      std::pair<std::chrono::system_clock::time_point, const storage::send_record*>>
      ordered;
  for (const auto& s : *sends)
    ordered.emplace_back(s.answered ? std::min(s.at, wall) : wall, &s);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [at, s] : ordered)
    // Stored in whole milliseconds, cut off: counted 10 ms later, never earlier.
    budget(self).record(now - std::chrono::duration_cast<caf::timespan>(wall - at) +
                            std::chrono::milliseconds{10},
                        s->bytes, s->recipients);
}

} // namespace

void describe_sender_metrics(net::metrics& metrics) {
  metrics.describe("exconnect_outbound_emails_total", "counter",
                   "Outbound emails by final state (sent, failed) and failure code.");
}

sender_actor::behavior_type sender(sender_actor::stateful_pointer<sender_state> self,
                                   sender_config cfg, sender_peers peers) {
  self->state.cfg = std::move(cfg);
  self->state.peers = std::move(peers);
  if (auto* p = self->state.peers.present) // however it ends
    self->attach_functor([p, key = sender_key(self->state.cfg.id)] { p->leave(key); });
  // It ends with its MAILBOX, however that ends (a MAILBOX that stops normally stops
  // its SENDER first).
  if (self->state.peers.listener) {
    end_with(self, self->state.peers.listener);
    self->set_down_handler([=](caf::down_msg& dm) {
      if (dm.source == self->state.peers.listener.address())
        self->quit(caf::exit_reason::user_shutdown);
    });
  }
  // A SENDER that failed may have left writes queued at the STORAGE WRITER: read
  // after them.
  storage_requests::await_earlier_writes(self, [=] {
    load_budget(self);
    auto& st = self->state;
    if (!st.busy && !st.waiting) drain(self);
  });
  return {
      [=](atom::wake) {
        auto& st = self->state;
        ++st.wakes;
        if (st.busy || st.waiting) return; // the drain will get to it
        drain(self);
      },
      [=](atom::internal, atom::wake, std::uint64_t generation) {
        auto& st = self->state;
        if (generation != st.generation) return;
        st.waiting = false;
        if (!st.busy) drain(self);
      },
  };
}

} // namespace exc

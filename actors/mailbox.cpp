#include "actors/mailbox.hpp"

#include "actors/labeler.hpp"
#include "actors/listing.hpp"
#include "actors/recoverer.hpp"
#include "messages/error.hpp"
#include "messages/lifetime.hpp"
#include "messages/services.hpp"
#include "messages/storage_requests.hpp"
#include "net/graph/call.hpp"
#include "net/graph/requests.hpp"
#include "net/limits/backoff.hpp"
#include "net/limits/poll_phase.hpp"
#include "net/time_format.hpp"
#include "storage/secret_file.hpp"

#include <caf/spawn_options.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <limits>

namespace exc {

namespace {

using self_ptr = mailbox_actor::stateful_pointer<mailbox_state>;

/// A child's config names the mailbox as its MAILBOX does: id, token key, account,
/// address, Graph's URL.
template <class ChildConfig>
void of_this_mailbox(ChildConfig& child, const mailbox_config& cfg) {
  child.id = cfg.id;
  child.token_key = cfg.token_key;
  child.account_id = cfg.account_id;
  child.address = cfg.address;
  child.graph_url = cfg.graph_url;
}

/// Writes `changes` without waiting (relaxed: they survive a crash of the process).
void write(self_ptr self, storage::batch changes, const char* what) {
  storage_requests::commit_or_log(
      self, std::move(changes),
      "mailbox " + self->state.cfg.account_id + "/" + self->state.cfg.id, what);
}

/// The fetch window and the pauses a previous run left, on this actor's clock.
void load_windows(self_ptr self) {
  auto& st = self->state;
  if (!st.throttle) return;
  // Its own pause, and one Graph asked of the mailbox ("graph-pause"), at the gate.
  st.paused_until = self->clock().now() + stored_pause(st.throttle, st.cfg.id, "pause");
  st.gate.pause(self->clock().now() +
                stored_pause(st.throttle, st.cfg.id, "graph-pause"));
  if (auto err = st.downloads.load(*st.throttle, st.cfg.id, self->clock().now()))
    spdlog::warn("mailbox {}/{}: cannot read the fetch window: {}", st.cfg.account_id,
                 st.cfg.id, render(err));
}

/// No Graph request of the mailbox before this: its own backoff, or a pause Graph asked
/// for (at the gate).
caf::actor_clock::time_point paused_until(self_ptr self) {
  return std::max(self->state.paused_until, self->state.gate.paused_until());
}

/// Lets the Graph requests that wait at the gate go; those a pause or the app's budget
/// holds get a timer.
void admit(self_ptr self) {
  auto& st = self->state;
  auto again = st.gate.admit(self->clock().now());
  if (again && !st.gate_timer) {
    st.gate_timer = true;
    self->delayed_send(self, *again - self->clock().now(), atom::internal_v,
                       atom::acquire_v);
  }
}

/// Graph asked the mailbox to wait (Retry-After): every request of the mailbox waits at
/// the gate, also after a restart (stored).
void graph_paused(self_ptr self, caf::timespan wait) {
  auto& st = self->state;
  st.gate.pause(self->clock().now() + wait);
  storage::batch changes;
  stage_pause(changes, st.throttle, st.cfg.id, "graph-pause", wait);
  write(self, std::move(changes), "a pause");
}

/// Tells the listener how the poll went, with what the MAILBOX keeps: the fetch window,
/// the pause, the children restarted and the last message that failed.
void report(self_ptr self, poll_result r) {
  auto& st = self->state;
  auto now = self->clock().now();
  r.fetch_used = st.downloads.used(now);
  r.restarts = std::exchange(st.child_restarts, 0);
  if (r.failed_message.step.empty()) r.failed_message = std::move(st.last_failure);
  st.last_failure = {};
  auto wall = std::chrono::system_clock::now();
  if (paused_until(self) > now) r.paused_until = wall_time(paused_until(self), now);
  r.at = net::format_rfc3339(wall);
  self->send(st.listener, atom::polled_v, st.cfg.id, std::move(r));
}

/// The one poll timer: the next poll at `at` (an earlier timer becomes stale). Set only
/// while no cycle runs, so a mailbox has one timer pending, however its polls go. At
/// `at` itself, not after a delay: polls on the same tick share one instant, and the
/// clock fires them together (poll_tick).
void schedule_poll(self_ptr self, caf::actor_clock::time_point at) {
  auto& st = self->state;
  self->scheduled_send(self, std::max(at, self->clock().now()), atom::internal_v,
                       atom::poll_v, ++st.generation);
}

/// A poll as soon as the mailbox may (a notification's round): at once, or when its
/// pause ends.
void poll_now(self_ptr self) {
  auto& st = self->state;
  if (paused_until(self) > self->clock().now())
    return schedule_poll(self, paused_until(self));
  self->send(self, atom::internal_v, atom::poll_v, ++st.generation);
}

/// Answers the REGISTRY's turn for the first poll, if it waits for that answer.
void end_turn(self_ptr self, bool polled) {
  auto& st = self->state;
  if (!st.turn) return;
  st.turn->deliver(polled);
  st.turn.reset();
}

/// The next poll after a cycle that began at `began`: a poll interval on, or, with a
/// phase, the first instant on it half an interval on (exactly an interval once the
/// polls are on phase; between a half and one and a half after a start's first poll).
caf::actor_clock::time_point next_poll(self_ptr self,
                                       caf::actor_clock::time_point began) {
  const auto& cfg = self->state.cfg;
  auto interval =
      std::chrono::duration_cast<std::chrono::milliseconds>(cfg.poll_interval);
  // Subscribed, it polls only as a safety net: notifications bring the rounds.
  if (self->state.push && self->state.push->subscribed())
    interval = std::max(interval, std::chrono::duration_cast<std::chrono::milliseconds>(
                                      cfg.push.poll_interval));
  if (!cfg.phase || interval.count() <= 0) return began + interval;
  return next_on_phase(began + interval / 2, interval, *cfg.phase);
}

/// The whole mailbox failed (listing, throttling, token, storage): no poll before
/// Retry-After (429, 503) or the backoff; a failure that will not heal by itself waits
/// at least a poll interval. Only a listing that works resets the backoff. Returns when
/// the pause ends.
caf::actor_clock::time_point back_off(self_ptr self, caf::timespan asked, bool heals) {
  auto& st = self->state;
  ++st.gate_failures;
  caf::timespan wait = asked > caf::timespan{0}
                           ? asked
                           : backoff_delay(st.cfg.backoff_initial, st.cfg.backoff_max,
                                           st.gate_failures, st.rng);
  if (!heals) wait = std::max(wait, caf::timespan{st.cfg.poll_interval});
  st.paused_until = self->clock().now() + wait;
  // Stored, so that a restart does not knock on Graph's door before the pause ends.
  storage::batch changes;
  stage_pause(changes, st.throttle, st.cfg.id, "pause", wait);
  write(self, std::move(changes), "a pause");
  return st.paused_until;
}

/// The FETCHER's cycle is over: the next poll comes a poll interval after this one
/// began (on its phase), after the backoff if the mailbox failed as a whole, or sooner if
/// a message's retry or the fetch window asks for it; then the REGISTRY hears how it
/// went.
void fetched(self_ptr self, fetch_report r) {
  auto& st = self->state;
  end_turn(self, true);               // a cycle that asked Graph nothing ends here
  if (r.listed) st.gate_failures = 0; // the listing works: the backoff ends
  auto at =
      r.back_off ? back_off(self, r.asked, r.heals) : next_poll(self, st.cycle_started);
  // An open message falls due before then (the journal's index; see open_due).
  if (!r.back_off && st.open_due_at < at)
    at = std::max(st.open_due_at, self->clock().now());
  if (r.poll_in >= caf::timespan{0})
    at = std::min(at, std::max(self->clock().now() + r.poll_in, paused_until(self)));
  // A notification came during the cycle: one more round at once (however many came).
  if (st.push && std::exchange(st.push->round_pending, false) && !r.back_off)
    poll_now(self);
  else
    schedule_poll(self, at);
  report(self, std::move(r.result));
}

/// False if the FETCHER of a previous MAILBOX of this mailbox (one that crashed) still
/// ends: no cycle of this one meanwhile.
bool predecessor_done(self_ptr self) {
  auto& st = self->state;
  return !st.present || !st.present->contains(fetcher_key(st.cfg.id));
}

/// The rest of a cycle whose listing found mail, or open messages due for another look:
/// a FETCHER with the round (monitored: this MAILBOX hears how it ended).
void start_fetcher(self_ptr self, mail_round round) {
  auto& st = self->state;
  if (st.present) st.present->enter(fetcher_key(st.cfg.id));
  fetcher_config fc;
  of_this_mailbox(fc, st.cfg);
  fc.since = st.cfg.since;
  fc.max_message_size = st.cfg.max_message_size;
  fc.fetch_rate = st.cfg.fetch_rate;
  fc.labels = st.cfg.labels;
  fc.retry_initial = st.cfg.retry_initial;
  fc.backoff_max = st.cfg.backoff_max;
  fc.max_attempts = st.cfg.max_attempts;
  fc.wall = st.wall;
  st.fetcher = self->spawn<caf::monitored>(
      fetcher, std::move(fc),
      fetcher_peers{caf::actor_cast<fetch_listener_actor>(self), st.store, st.throttle,
                    st.converter, st.converters, st.present, st.tokens},
      st.downloads, std::move(round));
}

/// Its own Graph request is over: the slot at its gate is free, with the pause Graph
/// asked for, if any; the first poll heard from Graph (the next one's turn).
void listing_done(self_ptr self, caf::timespan pause) {
  auto& st = self->state;
  st.listing = false;
  st.gate.leave(self->address());
  if (pause > caf::timespan{0}) graph_paused(self, pause);
  admit(self);
  end_turn(self, true);
}

/// The open messages (the journal's index) due for another look now, at most as many as
/// the fetch rate allows a minute; notes when the next one falls due (open_due_at).
caf::expected<std::vector<std::string>> open_due(self_ptr self) {
  auto& st = self->state;
  st.open_due_at = caf::actor_clock::time_point::max();
  std::vector<std::string> due;
  if (!st.store) return due;
  auto open = st.store->open_messages(st.cfg.id, mailbox_state::open_scan_limit);
  if (!open) return open.error();
  auto now = self->clock().now();
  auto now_ms = st.wall.ms_at(now);
  auto next_ms = std::numeric_limits<std::int64_t>::max();
  for (auto& m : *open) {
    if (m.due_ms > now_ms) {
      next_ms = std::min(next_ms, m.due_ms);
    } else if (due.size() < st.cfg.fetch_rate.count) {
      due.push_back(std::move(m.graph_id));
    } else { // more are due than one cycle takes: the next cycle comes soon
      next_ms = std::min(next_ms, now_ms + mailbox_state::open_backlog_wait.count());
    }
  }
  if (next_ms != std::numeric_limits<std::int64_t>::max())
    st.open_due_at = now + std::chrono::milliseconds{next_ms - now_ms};
  return due;
}

/// Where the next round starts: after this round, or over (a full round) if `link` is
/// empty. Relaxed: a crash before it is on disk only makes the next round longer.
void keep_delta_link(self_ptr self, const std::string& link) {
  auto& st = self->state;
  if (!st.store) return;
  storage::batch changes;
  st.store->stage_delta_link(changes, st.cfg.id, link);
  write(self, std::move(changes), "the delta link");
}

void list_new_mail(self_ptr self, bool full_round);

/// Graph's answer to the first page of the round from `from` ("": a full round): a round
/// with nothing new and no open message due ends the cycle here, else a FETCHER takes
/// the rest. A link Graph no longer knows starts a full round at once.
void listed(self_ptr self, net::client_response& res, const std::string& from) {
  auto& st = self->state;
  listing_done(self, asked_pause(res).value_or(caf::timespan{0}));
  if (st.stopping) return;
  if (!from.empty() && graph::sync_state_gone(res)) {
    spdlog::info("mailbox {}/{}: Graph no longer knows where its delta round stood; "
                 "a full round starts",
                 st.cfg.account_id, st.cfg.id);
    keep_delta_link(self, "");
    return list_new_mail(self, true);
  }
  auto read = read_listing(res, st.cfg.graph_url, st.cfg.account_id, st.cfg.id);
  if (auto* failed = std::get_if<fetch_report>(&read))
    return fetched(self, std::move(*failed));
  auto& page = std::get<mail_page>(read);
  auto due = open_due(self);
  if (!due) return fetched(self, call_failed(due.error(), st.cfg.account_id, st.cfg.id));
  if (page.messages.empty() && page.next_link.empty() && due->empty()) {
    if (page.delta_link != from) keep_delta_link(self, page.delta_link);
    fetch_report r;
    r.result.ok = true;
    r.listed = true;
    return fetched(self, std::move(r));
  }
  start_fetcher(self, mail_round{std::move(page), from, std::move(*due)});
}

/// Starts a poll cycle: the first page of a delta round of the Inbox, from where the
/// last round ended (or a full round), once its gate lets it go (the same gate as its
/// children's requests: the mailbox's 4 slots, Graph's pause, the app's budget).
void list_new_mail(self_ptr self, bool full_round) {
  auto& st = self->state;
  std::string from;
  if (st.store && !full_round) {
    auto link = st.store->delta_link(st.cfg.id);
    if (!link)
      return fetched(self, call_failed(link.error(), st.cfg.account_id, st.cfg.id));
    from = link->value_or("");
    if (!from.empty() && !graph::on_graph(st.cfg.graph_url, from)) {
      // Kept under another --graph-url: not followed (the token goes with it).
      spdlog::info("mailbox {}/{}: its delta link is not below {}; a full round starts",
                   st.cfg.account_id, st.cfg.id, st.cfg.graph_url);
      keep_delta_link(self, "");
      from.clear();
    }
  }
  st.listing = true;
  st.gate.wait(self->address(), [=] {
    auto& st = self->state;
    if (st.stopping) // told to stop while it waited (its children still end)
      return listing_done(self, caf::timespan{0});
    call_graph(
        self, tokens_of(self->system(), st.tokens),
        route_of(self->system(), st.cfg, true), token_key_of(st.cfg),
        [=](const std::string& token) {
          const auto& cfg = self->state.cfg;
          return graph::inbox_delta(cfg.graph_url, token, cfg.address, cfg.since, from);
        },
        [=](net::client_response& res) { listed(self, res, from); },
        [=](const caf::error& err) {
          listing_done(self, caf::timespan{0});
          if (self->state.stopping) return;
          fetched(self, call_failed(err, self->state.cfg.account_id, self->state.cfg.id));
        });
  });
  admit(self);
}

/// Hands a stored message to the LABELER, spawned if none runs (monitored: this MAILBOX
/// ends it when it is idle, and it ends with this MAILBOX).
void label(self_ptr self, label_task task) {
  auto& st = self->state;
  if (st.stopping) return; // no new child: the journal keeps it for the next start
  if (!st.labeler) {
    labeler_config lc;
    of_this_mailbox(lc, st.cfg);
    lc.labels = st.cfg.labels;
    lc.retry_initial = st.cfg.retry_initial;
    lc.backoff_max = st.cfg.backoff_max;
    lc.max_attempts = st.cfg.max_attempts;
    lc.wall = st.wall;
    st.labeler = self->spawn<caf::monitored>(
        labeler, std::move(lc), caf::actor_cast<graph_gate_actor>(self),
        caf::actor_cast<label_listener_actor>(self), st.tokens);
    st.labels_sent = 0;
  }
  ++st.labels_sent;
  self->send(st.labeler, atom::label_v, std::move(task));
}

/// Counts a child's restart (by kind) for the report and the metrics.
void count_restart(self_ptr self, const char* kind) {
  auto& st = self->state;
  ++st.child_restarts;
  if (st.metrics) st.metrics->add("exconnect_actor_restarts_total", {{"kind", kind}});
}

/// Spawns the SENDER (monitored: this MAILBOX restarts it), if the mailbox sends.
void start_sender(self_ptr self) {
  auto& st = self->state;
  if (!st.outbox || st.sender) return;
  auto send = st.cfg.send;
  of_this_mailbox(send, st.cfg);
  if (st.present) {
    // A SENDER of this mailbox may outlive its MAILBOX by a moment (a crash): wait.
    if (st.present->contains(sender_key(st.cfg.id))) {
      st.sender_restart_pending = true;
      self->delayed_send(self, std::chrono::milliseconds{100}, atom::internal_v,
                         atom::restart_v);
      return;
    }
    st.present->enter(sender_key(st.cfg.id));
  }
  // Monitored: restarted here. It watches this MAILBOX and ends with it, however that
  // comes. It ends when it has nothing to send (see atom::idle).
  st.wakes_sent = 0;
  st.sender_started = self->clock().now();
  st.sender = self->spawn<caf::monitored>(
      sender, std::move(send),
      sender_peers{caf::actor_cast<send_listener_actor>(self), st.outbox, st.metrics,
                   st.throttle, st.present, st.tokens});
}

/// Spawns the SUBSCRIBER (monitored: this MAILBOX restarts it).
void start_subscriber(self_ptr self) {
  auto& st = self->state;
  if (!st.push || st.push->subscriber || !st.store) return;
  subscriber_config sc;
  of_this_mailbox(sc, st.cfg);
  sc.push = st.cfg.push;
  sc.wall = st.wall;
  st.push->subscriber = self->spawn<caf::monitored>(
      subscriber, std::move(sc), caf::actor_cast<graph_gate_actor>(self),
      caf::actor_cast<push_listener_actor>(self), st.store, st.tokens);
}

/// A notification (or a lifecycle event that may have lost some) asks for a delta
/// round: now, or right after the cycle under way (one, however many come).
void round_now(self_ptr self) {
  auto& st = self->state;
  if (st.stopping || st.awaits_turn) return; // its first poll comes anyway
  if (st.fetcher || st.listing) {
    st.push->round_pending = true;
    return;
  }
  poll_now(self);
}

/// Graph's notification items: those of its subscription (id and clientState, compared
/// in constant time) are recorded durably, then answered, then a round follows.
caf::result<push_outcome> notified(self_ptr self, const std::vector<push_item>& items) {
  auto& st = self->state;
  if (!st.push)
    return make_error(ec::not_found, "change notifications are off for this mailbox");
  push_outcome out;
  std::vector<std::string> events;
  for (const auto& item : items) {
    bool ours = st.push->subscribed() &&
                storage::constant_time_equal(item.subscription_id,
                                             st.push->state.subscription_id) &&
                storage::constant_time_equal(storage::token_hash(item.client_state),
                                             st.push->state.state_hash);
    if (!ours) {
      ++out.refused;
      continue;
    }
    ++out.accepted;
    if (!item.lifecycle_event.empty()) events.push_back(item.lifecycle_event);
  }
  if (out.accepted == 0)
    return make_error(ec::forbidden,
                      "no item matches the mailbox's subscription and clientState");
  auto at = st.wall.ms_at(self->clock().now());
  storage::batch changes;
  st.store->stage_pushed(changes, st.cfg.id, at);
  auto rp = self->make_response_promise<push_outcome>();
  storage_requests::commit(
      self, std::move(changes), storage::durability::durable,
      [=](caf::error err) mutable {
        auto& st = self->state;
        if (err) {
          rp.deliver(std::move(err));
          return;
        }
        rp.deliver(out);
        if (!st.push) return;
        st.push->last_ms = at;
        for (const auto& e : events)
          if (st.push->subscriber) self->send(st.push->subscriber, atom::notify_v, e);
        // A change, or an event after which mail may be missing.
        if (events.size() < out.accepted ||
            std::any_of(events.begin(), events.end(), [](const std::string& e) {
              return e == "missed" || e == "subscriptionRemoved";
            }))
          round_now(self);
      });
  return rp;
}

/// Its start: the windows a previous run left, and a SENDER only if the outbox holds
/// mail to send (one read; else the first email's wake starts one). After a restart of
/// the process most outboxes are empty: 100,000 SENDERs that each read their windows
/// and ended at once made about an eighth of the start's work (docs/benchmarks.md).
void begin(self_ptr self) {
  auto& st = self->state;
  load_windows(self);
  if (st.cfg.push.enabled() && st.store) {
    st.push = std::make_unique<push_runtime>();
    if (auto last = st.store->last_pushed(st.cfg.id)) st.push->last_ms = *last;
    start_subscriber(self);
  }
  if (!st.outbox) return;
  auto next = st.outbox->next_pending(st.cfg.id);
  if (next && !*next) return;
  start_sender(self); // mail to send, or the store failed (the SENDER reports it)
}

/// Stopping: once its children are down, the MAILBOX ends.
void stop_if_done(self_ptr self) {
  auto& st = self->state;
  if (!st.fetcher && !st.sender && !st.labeler && !(st.push && st.push->subscriber))
    self->quit(st.stop_reason);
}

/// Stopping: the children first (their down messages then end the MAILBOX).
void stop_children(self_ptr self) {
  auto& st = self->state;
  // A FETCHER told to stop gracefully gives back the try it has under way.
  if (st.fetcher) self->send_exit(st.fetcher, st.stop_reason);
  if (st.labeler) self->send_exit(st.labeler, st.stop_reason);
  if (st.sender) self->send_exit(st.sender, st.stop_reason);
  if (st.push && st.push->subscriber)
    self->send_exit(st.push->subscriber, st.stop_reason);
  stop_if_done(self);
}

/// Told to stop (or its REGISTRY is gone): stops its children, then itself.
void begin_stop(self_ptr self, caf::error reason) {
  auto& st = self->state;
  if (st.stopping) return;
  st.stopping = true;
  st.stop_reason = std::move(reason);
  ++st.generation; // no more polls
  end_turn(self, false);
  stop_children(self);
}

} // namespace

mailbox_actor::behavior_type mailbox(mailbox_actor::stateful_pointer<mailbox_state> self,
                                     mailbox_config cfg, mailbox_peers peers) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.downloads = fetch_window{st.cfg.fetch_rate};
  st.wall = wall_clock::at(self->clock().now());
  st.listener = std::move(peers.listener);
  st.converter = peers.converter;
  st.converters = peers.converters;
  st.gate = graph_gate{graph_gate::exchange_limit, peers.budget};
  st.present = peers.present;
  if (st.present) // however it ends
    self->attach_functor(
        [p = st.present, key = mailbox_key(st.cfg.id)] { p->leave(key); });
  st.store = peers.store;
  st.throttle = peers.throttle;
  st.outbox = peers.outbox;
  st.metrics = peers.metrics;
  st.tokens = peers.tokens;
  // A MAILBOX that failed may have left writes queued at the STORAGE WRITER: its
  // windows are read after them.
  if (st.cfg.after_predecessor)
    storage_requests::await_earlier_writes(self, [=] { begin(self); });
  else
    begin(self);
  // It ends with its REGISTRY, however that ends (a REGISTRY that stops normally stops
  // its MAILBOXes first). A plain monitor, not end_with: taking it back searches the
  // REGISTRY's list of monitors, one per MAILBOX, so stopping N MAILBOXes would cost
  // N^2; the REGISTRY keeps the memory of a MAILBOX replaced while it runs, a rare event.
  if (st.listener) self->monitor(st.listener);
  // A child that fails is restarted here, after a backoff; the MAILBOX itself stops
  // only once its children are down, so that its replacement never runs beside them.
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    if (st.listener && dm.source == st.listener.address())
      return begin_stop(self, caf::exit_reason::user_shutdown);
    st.gate.forget(dm.source); // what a child held or waited for
    admit(self);
    auto& rs = st.recoverers; // one that ended has answered, or its request failed
    rs.erase(std::remove(rs.begin(), rs.end(), dm.source), rs.end());
    if (st.fetcher && dm.source == st.fetcher.address()) {
      // Ended without its report: the cycle failed (a new one starts with the next
      // poll; the journal counted the try it had under way).
      st.fetcher = nullptr;
      end_turn(self, true);
      if (st.stopping) return stop_if_done(self);
      count_restart(self, "fetcher");
      spdlog::error("mailbox {}/{}: its FETCHER failed ({}); the next poll starts "
                    "another",
                    st.cfg.account_id, st.cfg.id, render(dm.reason));
      poll_result r;
      r.step = "internal";
      r.code = "fetcher_failed";
      r.message = render(dm.reason);
      schedule_poll(self, next_poll(self, st.cycle_started));
      return report(self, std::move(r));
    }
    if (st.labeler && dm.source == st.labeler.address()) {
      st.labeler = nullptr;
      if (st.stopping) return stop_if_done(self);
      if (dm.reason) { // a new one starts with the next message to label
        count_restart(self, "labeler");
        spdlog::error("mailbox {}/{}: its LABELER failed ({}); the journal keeps what "
                      "it had to do",
                      st.cfg.account_id, st.cfg.id, render(dm.reason));
      }
      return;
    }
    if (st.push && st.push->subscriber && dm.source == st.push->subscriber.address()) {
      st.push->subscriber = nullptr;
      if (st.stopping) return stop_if_done(self);
      ++st.push->failures;
      count_restart(self, "subscriber");
      auto delay = backoff_delay(std::chrono::milliseconds{1000}, st.cfg.backoff_max,
                                 st.push->failures, st.rng);
      spdlog::error("mailbox {}/{}: its SUBSCRIBER failed ({}); restarting it in {} ms",
                    st.cfg.account_id, st.cfg.id, render(dm.reason), delay.count());
      st.push->restart_pending = true;
      self->delayed_send(self, delay, atom::internal_v, atom::subscribed_v);
      return;
    }
    if (!st.sender || dm.source != st.sender.address()) return;
    st.sender = nullptr;
    if (st.stopping) return stop_if_done(self);
    // One that ran a minute was healthy: its failure starts the backoff over (a SENDER
    // that fails now and then never ends up waiting minutes for its restart).
    if (self->clock().now() - st.sender_started >= std::chrono::minutes{1})
      st.sender_failures = 0;
    ++st.sender_failures;
    count_restart(self, "sender");
    auto delay = backoff_delay(std::chrono::milliseconds{100}, st.cfg.backoff_max,
                               st.sender_failures, st.rng);
    spdlog::error("mailbox {}/{}: its SENDER failed ({}); restarting it in {} ms",
                  st.cfg.account_id, st.cfg.id, render(dm.reason), delay.count());
    st.sender_restart_pending = true; // a wake meanwhile does not skip the backoff
    self->delayed_send(self, delay, atom::internal_v, atom::restart_v);
  });
  self->set_exit_handler([=](caf::exit_msg& em) { begin_stop(self, em.reason); });
  // Started with many others, its first poll waits for its turn (the REGISTRY lets as
  // many first polls run at once as are served: see start_window).
  st.awaits_turn = st.cfg.first_poll_waits_turn;
  if (!st.awaits_turn) self->send(self, atom::internal_v, atom::poll_v, st.generation);
  return {
      [=](atom::internal, atom::poll, std::uint64_t generation) {
        auto& st = self->state;
        if (generation != st.generation || st.stopping || st.fetcher || st.listing)
          return;
        auto now = self->clock().now();
        if (now < paused_until(self)) { // throttled: poll when the pause ends
          end_turn(self, false);
          return schedule_poll(self, paused_until(self));
        }
        st.cycle_started = now;
        if (!predecessor_done(self)) // again shortly
          return schedule_poll(self, now + std::chrono::milliseconds{100});
        list_new_mail(self, false);
      },
      [=](atom::poll) -> caf::result<bool> {
        auto& st = self->state;
        if (!st.awaits_turn || st.stopping) return false;
        st.awaits_turn = false;
        st.turn = self->make_response_promise<bool>();
        // (After the windows' load, which the MAILBOX awaits: a stored pause holds it.)
        self->send(self, atom::internal_v, atom::poll_v, st.generation);
        return *st.turn;
      },
      [=](atom::fetched, fetch_report& r) {
        auto& st = self->state;
        st.fetcher = nullptr; // it ends now: its down message is no failure
        if (st.stopping) return stop_if_done(self);
        fetched(self, std::move(r));
      },
      [=](atom::downloaded) { self->state.downloads.add(self->clock().now()); },
      [=](atom::recover, const recovery& what) -> caf::result<ingest_outcome> {
        auto& st = self->state;
        if (st.stopping) return make_error(ec::invalid_state, "the mailbox is stopping");
        if (st.recoverers.size() >= mailbox_state::max_recoveries)
          return make_error(ec::invalid_state,
                            std::to_string(mailbox_state::max_recoveries) +
                                " recoveries of this mailbox are under way; try again "
                                "when one is done");
        // Monitored: the gate forgets what one that fails held.
        auto r = self->spawn<caf::monitored>(
            recoverer,
            recoverer_config{st.cfg.id, st.cfg.token_key, st.cfg.account_id,
                             st.cfg.address, st.cfg.graph_url, st.cfg.max_message_size},
            recoverer_peers{caf::actor_cast<fetch_listener_actor>(self), st.converter,
                            st.converters, st.tokens});
        st.recoverers.push_back(r.address());
        return self->delegate(r, atom::recover_v, what);
      },
      [=](atom::label, label_task& task) { label(self, std::move(task)); },
      [=](atom::settings, const label_settings& labels) {
        self->state.cfg.labels = labels;
        if (self->state.labeler)
          self->send(self->state.labeler, atom::settings_v, labels);
        if (self->state.fetcher)
          self->send(self->state.fetcher, atom::settings_v, labels);
      },
      [=](atom::failed, const std::string&, const poll_result::failure& f) {
        self->state.last_failure = f; // reported with the next poll
      },
      [=](atom::idle, std::uint64_t received) {
        // From the LABELER or the SENDER: nothing sent to it since, it ends (a new one
        // starts with the next message to label or the next email). Stopping: its down
        // message ends it (stop_children sent it the exit).
        auto& st = self->state;
        auto from = self->current_sender();
        if (st.stopping) return;
        if (st.labeler && from == caf::actor_cast<caf::strong_actor_ptr>(st.labeler) &&
            received == st.labels_sent) {
          self->send_exit(st.labeler, caf::exit_reason::user_shutdown);
          st.labeler = nullptr;
        } else if (st.sender &&
                   from == caf::actor_cast<caf::strong_actor_ptr>(st.sender) &&
                   received == st.wakes_sent) {
          self->send_exit(st.sender, caf::exit_reason::user_shutdown);
          st.sender = nullptr;
          st.sender_failures = 0; // it did its work: a later failure starts over
        }
      },
      [=](atom::wake) {
        auto& st = self->state;
        if (st.stopping) return;
        if (!st.sender) { // the next one drains the outbox first thing
          if (!st.sender_restart_pending) start_sender(self);
          return;
        }
        ++st.wakes_sent;
        self->send(st.sender, atom::wake_v);
      },
      [=](atom::sent, const std::string&, send_status& s) {
        self->state.sending = std::move(s);
      },
      [=](atom::acquire) -> caf::result<bool> {
        // A child's Graph request waits at the gate until it may leave. (Its address
        // first: the promise takes the sender out of the message.)
        auto who = caf::actor_cast<caf::actor_addr>(self->current_sender());
        auto rp = self->make_response_promise<bool>();
        self->state.gate.wait(who, [rp]() mutable { rp.deliver(true); });
        admit(self);
        return rp;
      },
      [=](atom::acquire, atom::pause) -> caf::result<caf::timespan> {
        // A FETCHER about to count a try: not while a pause lasts (its cycle ends).
        auto left = paused_until(self) - self->clock().now();
        if (left > caf::timespan{0}) return left;
        auto who = caf::actor_cast<caf::actor_addr>(self->current_sender());
        auto rp = self->make_response_promise<caf::timespan>();
        self->state.gate.wait(who, [rp]() mutable { rp.deliver(caf::timespan{0}); });
        admit(self);
        return rp;
      },
      [=](atom::release, caf::timespan pause) {
        end_turn(self, true); // the first poll heard from Graph: the next one's turn
        self->state.gate.leave(caf::actor_cast<caf::actor_addr>(self->current_sender()));
        if (pause > caf::timespan{0}) graph_paused(self, pause);
        admit(self);
      },
      [=](atom::internal, atom::acquire) {
        self->state.gate_timer = false;
        admit(self);
      },
      [=](atom::status) {
        auto& st = self->state;
        live_status out;
        auto now = self->clock().now();
        if (paused_until(self) > now)
          out.paused_until = wall_time(paused_until(self), now);
        out.fetch_used = st.downloads.used(now);
        out.sending = st.sending;
        if (st.push) {
          out.push_enabled = true;
          out.push = st.push->state;
          if (st.push->last_ms > 0)
            out.last_notification_at =
                net::format_rfc3339(std::chrono::system_clock::time_point{
                    std::chrono::milliseconds{st.push->last_ms}});
        }
        return out;
      },
      [=](atom::internal, atom::restart) {
        self->state.sender_restart_pending = false;
        if (!self->state.stopping) start_sender(self);
      },
      [=](atom::internal, atom::subscribed) {
        auto& st = self->state;
        if (!st.push) return;
        st.push->restart_pending = false;
        if (!st.stopping) start_subscriber(self);
      },
      [=](atom::subscribed, push_state& s) {
        auto& st = self->state;
        if (!st.push) return;
        st.push->failures = 0; // it works
        st.push->state = std::move(s);
      },
      [=](atom::notify, const std::vector<push_item>& items)
          -> caf::result<push_outcome> { return notified(self, items); },
  };
}

} // namespace exc

#include "actors/mailbox.hpp"

#include "actors/labeler.hpp"
#include "messages/error.hpp"
#include "messages/services.hpp"
#include "messages/storage_requests.hpp"
#include "net/graph/call.hpp"
#include "net/graph/requests.hpp"
#include "net/limits/backoff.hpp"
#include "net/time_format.hpp"
#include "net/url.hpp"

#include <caf/spawn_options.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>

namespace exc {

namespace {

using self_ptr = mailbox_actor::stateful_pointer<mailbox_state>;

void process(self_ptr self);

/// The HELPDESK as it runs now.
helpdesk_actor the_helpdesk(self_ptr self) {
  return service::get<helpdesk_actor>(self->system());
}

/// Downloads still inside the fetch window (older ones are dropped).
std::size_t fetch_used(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto window = std::chrono::duration_cast<caf::timespan>(st.cfg.fetch_rate.window);
  auto& d = st.downloads;
  d.erase(d.begin(),
          std::find_if(d.begin(), d.end(), [&](auto t) { return t + window > now; }));
  return d.size();
}

/// Stages the fetch window on the wall clock, so a restart does not start it empty.
void stage_fetch_window(self_ptr self, storage::batch& changes) {
  auto& st = self->state;
  if (!st.throttle) return;
  fetch_used(self); // drops what left the window
  auto wall = std::chrono::system_clock::now();
  auto now = self->clock().now();
  std::vector<storage::throttle_store::time_point> events;
  for (auto t : st.downloads)
    events.push_back(
        wall - std::chrono::duration_cast<std::chrono::system_clock::duration>(now - t));
  st.throttle->stage(changes, st.cfg.id, "fetch", events);
}

/// Stages the marker of a download in flight (set before the request leaves), or its
/// end, so that a restart in between counts the download.
void stage_download_pending(self_ptr self, storage::batch& changes, bool pending) {
  auto& st = self->state;
  if (!st.throttle) return;
  std::vector<storage::throttle_store::time_point> marker;
  if (pending) marker.push_back(std::chrono::system_clock::now());
  st.throttle->stage(changes, st.cfg.id, "fetch-pending", marker);
}

/// Writes `changes` without waiting (relaxed: they survive a crash of the process).
void write(self_ptr self, storage::batch changes, const char* what) {
  storage_requests::commit_or_log(
      self, std::move(changes),
      "mailbox " + self->state.cfg.account_id + "/" + self->state.cfg.id, what);
}

/// The fetch window and the pause a previous run left, on this actor's clock.
void load_windows(self_ptr self) {
  auto& st = self->state;
  if (!st.throttle) return;
  // Its own pause, and one Graph asked of the mailbox ("graph-pause"), at the gate.
  st.paused_until = self->clock().now() + stored_pause(st.throttle, st.cfg.id, "pause");
  st.gate.pause(self->clock().now() +
                stored_pause(st.throttle, st.cfg.id, "graph-pause"));
  auto stored = st.throttle->load(st.cfg.id, "fetch");
  if (!stored) {
    spdlog::warn("mailbox {}/{}: cannot read the fetch window: {}", st.cfg.account_id,
                 st.cfg.id, render(stored.error()));
    return;
  }
  auto wall = std::chrono::system_clock::now();
  auto now = self->clock().now();
  // Stored in whole milliseconds, cut off: counted 10 ms later, never earlier than
  // they happened (a window that frees early crosses Graph's limit).
  for (auto t : *stored)
    if (t <= wall)
      st.downloads.push_back(now - std::chrono::duration_cast<caf::timespan>(wall - t) +
                             std::chrono::milliseconds{10});
  // A download was in flight when the previous run ended: Graph may have counted it,
  // at a time no later than now.
  auto pending = st.throttle->load(st.cfg.id, "fetch-pending");
  if (pending && !pending->empty()) st.downloads.push_back(now);
  fetch_used(self);
}

/// How long until the fetch window has room for one more download (zero: now).
caf::timespan fetch_wait(self_ptr self) {
  auto& st = self->state;
  if (fetch_used(self) < st.cfg.fetch_rate.count) return caf::timespan{0};
  auto window = std::chrono::duration_cast<caf::timespan>(st.cfg.fetch_rate.window);
  return st.downloads.front() + window - self->clock().now();
}

/// No Graph request of the mailbox before this: its own backoff, or a pause Graph asked
/// for (at the gate).
caf::actor_clock::time_point paused_until(self_ptr self) {
  return std::max(self->state.paused_until, self->state.gate.paused_until());
}

/// Lets the Graph requests that wait at the gate go; those a pause holds get a timer.
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
/// the gate, its SENDER's too, also after a restart (stored).
void graph_paused(self_ptr self, caf::timespan wait) {
  auto& st = self->state;
  st.gate.pause(self->clock().now() + wait);
  storage::batch changes;
  stage_pause(changes, st.throttle, st.cfg.id, "graph-pause", wait);
  write(self, std::move(changes), "a pause");
}

poll_result succeeded() {
  poll_result r;
  r.ok = true;
  return r;
}

poll_result failed(std::string step, std::string code, std::string message) {
  poll_result r;
  r.step = std::move(step);
  r.code = std::move(code);
  r.message = std::move(message);
  return r;
}

/// The wall clock now, in ms, as this actor's clock sees it (see wall_ms_at).
std::int64_t wall_ms(self_ptr self) {
  const auto& st = self->state;
  return wall_ms_at(st.wall_base, st.clock_base, self->clock().now());
}

/// Ends the poll cycle and tells the listener how it went. A message skipped for its
/// backoff brings the next poll forward to its time.
void report(self_ptr self, poll_result r) {
  auto& st = self->state;
  st.polling = false;
  st.in_try = false;
  st.queue.clear();
  st.queue.shrink_to_fit(); // idle mailboxes stay small
  st.next = 0;
  auto now = self->clock().now();
  if (st.next_retry != caf::actor_clock::time_point::max()) {
    auto at = std::max(st.next_retry, paused_until(self));
    self->delayed_send(self, std::max(at - now, caf::timespan{0}), atom::internal_v,
                       atom::poll_v, st.generation);
    st.next_retry = caf::actor_clock::time_point::max();
  }
  r.fetch_used = fetch_used(self);
  r.restarts = std::exchange(st.child_restarts, 0);
  r.failed_message = std::move(st.last_failure);
  st.last_failure = {};
  auto wall = std::chrono::system_clock::now();
  if (paused_until(self) > now) r.paused_until = wall_time(paused_until(self), now);
  r.at = net::format_rfc3339(wall);
  self->send(st.listener, atom::polled_v, st.cfg.id, std::move(r));
}

/// The whole mailbox failed (listing, throttling, token, storage): no request before
/// Retry-After (429, 503) or the gate's backoff; a failure that will not heal by itself
/// waits at least a poll interval. Only a listing that works resets the backoff.
void back_off(self_ptr self, std::optional<caf::timespan> asked, bool heals) {
  auto& st = self->state;
  ++st.gate_failures;
  caf::timespan wait = asked ? *asked
                             : backoff_delay(st.cfg.backoff_initial, st.cfg.backoff_max,
                                             st.gate_failures, st.rng);
  if (!heals) wait = std::max(wait, caf::timespan{st.cfg.poll_interval});
  st.paused_until = self->clock().now() + wait;
  // Stored, so that a restart does not knock on Graph's door before the pause ends.
  storage::batch changes;
  stage_pause(changes, st.throttle, st.cfg.id, "pause", wait);
  self->delayed_send(self, wait, atom::internal_v, atom::poll_v, st.generation);
  write(self, std::move(changes), "a pause");
  // Graph throttles the mailbox, not the request: its SENDER waits as well.
  if (asked) graph_paused(self, wait);
}

/// A mailbox-wide failure that is not Graph's answer (no token, storage trouble).
void fail(self_ptr self, const caf::error& err) {
  auto grant_gone = is(err, ec::reauthorization_required);
  bool token = grant_gone || is(err, ec::app_credentials_rejected) ||
               is(err, ec::token_unavailable);
  auto r =
      failed(token                          ? "token"
             : is(err, ec::storage_failure) ? "storage"
                                            : "internal",
             err.category() == error_category ? to_string(static_cast<ec>(err.code()))
                                              : "internal_error",
             render(err));
  r.grant_gone = grant_gone;
  // A new consent or the operator's fix of the app's secret restarts polling; the rest
  // waits out the gate's backoff.
  if (!grant_gone && !is(err, ec::app_credentials_rejected))
    back_off(self, std::nullopt, true);
  if (!grant_gone)
    spdlog::warn("mailbox {}/{}: {}", self->state.cfg.account_id, self->state.cfg.id,
                 r.message);
  report(self, std::move(r));
}

/// Graph's answer that concerns the whole mailbox: throttled, token refused, or the
/// listing failed. The cycle ends.
void fail_graph(self_ptr self, const net::client_response& res, const char* doing) {
  auto e = graph::read_error(res);
  back_off(self, asked_pause(res), graph::transient(res));
  spdlog::warn("mailbox {}/{}: {} failed: {} {} (the mailbox waits)",
               self->state.cfg.account_id, self->state.cfg.id, doing, e.code, e.message);
  report(self, failed("listing", e.code, e.message));
}

/// A Graph call of this mailbox, through its gate like its children's; a token that
/// cannot be had ends the cycle.
void call_graph(self_ptr self, request_maker make, response_handler on_response,
                error_handler on_error = {}) {
  auto me = self->address();
  self->state.gate.wait(me, [=] {
    exc::call_graph(
        self, service::get<token_service_actor>(self->system()),
        service::get<http_actor>(self->system()), self->state.cfg.id, make,
        [=](net::client_response& res) {
          self->state.gate.leave(me);
          if (auto asked = asked_pause(res)) graph_paused(self, *asked);
          admit(self);
          on_response(res);
        },
        [=](const caf::error& err) {
          self->state.gate.leave(me);
          admit(self);
          if (on_error) on_error(err);
          fail(self, err);
        });
  });
  admit(self);
}

bool has_category(const message_ref& ref, const std::string& name) {
  return std::any_of(ref.categories.begin(), ref.categories.end(),
                     [&](const std::string& c) { return net::iequals(c, name); });
}

/// Marks the current message done in this cycle and takes the next.
void advance(self_ptr self) {
  self->state.in_try = false;
  ++self->state.next;
  process(self);
}

/// A message may be tried at `retry_at_ms`: true if that is still ahead (the poll
/// after this cycle comes no later than then).
bool not_yet(self_ptr self, std::int64_t retry_at_ms) {
  auto left = retry_at_ms - wall_ms(self);
  if (left <= 0) return false;
  auto& st = self->state;
  st.next_retry =
      std::min(st.next_retry, self->clock().now() + std::chrono::milliseconds{left});
  return true;
}

void label(self_ptr self, bool rejected);

/// A failed try of the current message, for the HELPDESK.
message_failure failure_of(self_ptr self, ingest_step step, std::string code,
                           std::string message, bool counts) {
  const auto& st = self->state;
  const auto& ref = st.queue[st.next];
  message_failure f;
  f.account_id = st.cfg.account_id;
  f.mailbox_id = st.cfg.id;
  f.graph_id = ref.graph_id;
  f.internet_message_id = ref.internet_message_id;
  f.received_at = ref.received_at;
  f.step = step;
  f.code = std::move(code);
  f.message = std::move(message);
  f.max_attempts = st.cfg.max_attempts;
  f.counts = counts;
  return f;
}

/// The current message failed at `step`: the HELPDESK counts it, with the message's
/// own backoff; the cycle goes on with the next message (or labels a quarantined one
/// as rejected). `counts` false takes back a counted try that failed through no fault
/// of the message.
void message_failed(self_ptr self, ingest_step step, std::string code,
                    std::string message, bool counts = true) {
  auto& st = self->state;
  if (step != ingest_step::labelling) st.in_try = false;
  auto f = failure_of(self, step, std::move(code), std::move(message), counts);
  auto delay = backoff_delay(st.cfg.retry_initial, st.cfg.backoff_max,
                             std::max<std::uint32_t>(st.tries, 1), st.rng);
  f.retry_at_ms = wall_ms(self) + delay.count();
  if (!counts) {
    // The cycle is ending anyway; the journal only gives the try back.
    self->request(the_helpdesk(self), std::chrono::seconds{60}, atom::failed_v,
                  std::move(f))
        .then([](const failure_outcome&) {},
              [=](const caf::error& err) {
                spdlog::warn("mailbox {}/{}: cannot give back a try: {}",
                             self->state.cfg.account_id, self->state.cfg.id, render(err));
              });
    return;
  }
  spdlog::warn("mailbox {}/{}: message {}: {} failed: {} {}", st.cfg.account_id,
               st.cfg.id, f.graph_id, to_string(step), f.code, f.message);
  st.last_failure = {to_string(step), f.code, f.message,
                     net::format_rfc3339(std::chrono::system_clock::now())};
  auto retry_at = f.retry_at_ms;
  self->request(the_helpdesk(self), std::chrono::seconds{60}, atom::failed_v,
                std::move(f))
      .then(
          [=](const failure_outcome& out) {
            if (out.quarantined && step != ingest_step::labelling) {
              label(self, true); // a processing_failed rejection now
              return advance(self);
            }
            not_yet(self, retry_at);
            advance(self);
          },
          [=](const caf::error& err) { fail(self, err); });
}

/// A failed Graph answer about the current message: the mailbox's trouble ends the
/// cycle, anything else is the message's.
void message_answer_failed(self_ptr self, const net::client_response& res,
                           ingest_step step, const char* doing) {
  if (mailbox_wide(res)) {
    if (step != ingest_step::labelling) message_failed(self, step, {}, {}, false);
    return fail_graph(self, res, doing);
  }
  auto e = graph::read_error(res);
  message_failed(self, step, e.code, e.message);
}

/// Hands the current message to the LABELER, spawned if none runs (monitored: this
/// MAILBOX ends it when it is idle, and it ends with this MAILBOX).
void label(self_ptr self, bool rejected) {
  auto& st = self->state;
  if (st.stopping) return; // no new child: the journal keeps it for the next start
  const auto& ref = st.queue[st.next];
  if (!st.labeler) {
    labeler_config lc;
    lc.id = st.cfg.id;
    lc.account_id = st.cfg.account_id;
    lc.address = st.cfg.address;
    lc.graph_url = st.cfg.graph_url;
    lc.labels = st.cfg.labels;
    lc.retry_initial = st.cfg.retry_initial;
    lc.backoff_max = st.cfg.backoff_max;
    lc.max_attempts = st.cfg.max_attempts;
    st.labeler = self->spawn<caf::monitored>(labeler, std::move(lc),
                                             caf::actor_cast<graph_gate_actor>(self),
                                             caf::actor_cast<label_listener_actor>(self));
    st.labels_sent = 0;
  }
  ++st.labels_sent;
  self->send(st.labeler, atom::label_v,
             label_task{ref.graph_id, ref.internet_message_id, ref.received_at, rejected,
                        st.tries});
}

/// Hands the mail to the HELPDESK; once it is durable, has it labelled and goes on.
void store(self_ptr self, inbound_mail m) {
  self->request(the_helpdesk(self), std::chrono::minutes{5}, atom::ingest_v, std::move(m))
      .then(
          [=](const ingest_outcome& out) {
            self->state.in_try = false; // the message has its outcome
            label(self, out.rejected());
            advance(self);
          },
          [=](const caf::error& err) {
            message_failed(self, ingest_step::storing,
                           err.category() == error_category
                               ? to_string(static_cast<ec>(err.code()))
                               : "storing_failed",
                           render(err));
          });
}

/// The parts of an inbound mail the mailbox knows before anything is downloaded.
inbound_mail base_mail(self_ptr self, const message_ref& ref) {
  inbound_mail m;
  m.account_id = self->state.cfg.account_id;
  m.mailbox_id = self->state.cfg.id;
  m.graph_id = ref.graph_id;
  m.received_at = ref.received_at;
  m.message_id = ref.internet_message_id;
  if (m.message_id.size() > 2 && m.message_id.front() == '<' &&
      m.message_id.back() == '>')
    m.message_id = m.message_id.substr(1, m.message_id.size() - 2);
  return m;
}

/// The download itself, once it is marked.
void request_download(self_ptr self) {
  auto& st = self->state;
  auto base = base_mail(self, st.queue[st.next]);
  auto graph_id = base.graph_id;
  call_graph(
      self,
      [=](const std::string& token) {
        const auto& cfg = self->state.cfg;
        return graph::raw_message(cfg.graph_url, token, cfg.address, graph_id);
      },
      [=](net::client_response& res) {
        // Counted when the answer is in, not when the request left: Graph counts on
        // arrival, which lies in between, so the window can never hold one too many.
        self->state.downloads.push_back(self->clock().now());
        storage::batch changes;
        stage_fetch_window(self, changes);
        stage_download_pending(self, changes, false);
        write(self, std::move(changes), "the fetch window");
        if (res.ok() && res.status == 404) return advance(self); // deleted meanwhile
        if (!res.ok() || res.status != 200)
          return message_answer_failed(self, res, ingest_step::download,
                                       "downloading a message");
        // The least loaded CONVERTER, leased until the answer (or the MAILBOX's end).
        auto& st = self->state;
        auto lease = st.converters ? st.converters->acquire() : nullptr;
        auto which = lease ? lease->index() : st.converter;
        self->request(service::converter(self->system(), which), std::chrono::minutes{5},
                      atom::convert_v, std::move(res.body), base)
            .then(
                [=](inbound_mail& m) { // moved, not copied
                  (void)lease;
                  store(self, std::move(m));
                },
                [=](const caf::error& err) {
                  (void)lease;
                  message_failed(self, ingest_step::conversion, "conversion_failed",
                                 render(err));
                });
      },
      [=](const caf::error&) { // no token: not the message's fault
        storage::batch changes;
        stage_download_pending(self, changes, false);
        write(self, std::move(changes), "the end of a download");
        message_failed(self, ingest_step::download, {}, {}, false);
      });
}

/// Downloads the raw MIME, has it converted and stored. The download is marked as in
/// flight before its request can leave, so that a restart counts it in the window.
void download(self_ptr self) {
  storage::batch marker;
  stage_download_pending(self, marker, true);
  storage_requests::commit(
      self, std::move(marker), storage::durability::relaxed, [=](const caf::error& err) {
        if (err) // not the message's fault either
          return message_failed(self, ingest_step::download, "storage_failure",
                                render(err), false);
        if (!self->state.stopping) request_download(self);
      });
}

/// Counts the try in the journal before it starts (a try the process does not survive
/// counts too), then downloads.
void begin_try(self_ptr self) {
  auto& st = self->state;
  const auto& ref = st.queue[st.next];
  // If this try does not finish (the process stops), the next one waits: at once after
  // a first try (a crash is most likely not the message's doing), then the message's
  // backoff. Either way the tries count towards its quarantine.
  std::int64_t retry_at = 0;
  if (st.tries > 0)
    retry_at =
        wall_ms(self) +
        backoff_delay(st.cfg.retry_initial, st.cfg.backoff_max, st.tries, st.rng).count();
  self->request(the_helpdesk(self), std::chrono::seconds{60}, atom::attempt_v, st.cfg.id,
                ref.graph_id, base_mail(self, ref).message_id, retry_at)
      .then(
          [=](std::uint32_t tries) {
            if (tries == 0) return advance(self); // it has an outcome already
            self->state.tries = tries;
            self->state.in_try = true;
            download(self);
          },
          [=](const caf::error& err) { fail(self, err); });
}

/// Takes the next message of the cycle through whatever it still needs.
void process(self_ptr self) {
  auto& st = self->state;
  if (st.stopping) return; // nothing new once told to stop
  while (st.next < st.queue.size()) {
    const auto& ref = st.queue[st.next];
    auto known = st.store->journal(st.cfg.id, ref.graph_id);
    if (!known) return fail(self, known.error());
    st.tries = 0;
    if (*known && !(*known)->pending()) {
      const auto& entry = **known;
      // Converted before: never again. Put back labels someone removed.
      bool labelled = has_category(ref, st.cfg.labels.processed) &&
                      (!entry.rejected() || has_category(ref, st.cfg.labels.rejected));
      if ((labelled && entry.labelled) || not_yet(self, entry.retry_at_ms)) {
        ++st.next;
        continue;
      }
      st.tries = entry.label_attempts + 1;
      label(self, entry.rejected());
      ++st.next;
      continue;
    }
    if (*known) { // tried before without an outcome
      const auto& entry = **known;
      if (not_yet(self, entry.retry_at_ms)) {
        ++st.next;
        continue;
      }
      st.tries = entry.attempts;
      if (entry.attempts >= st.cfg.max_attempts) // the last try did not finish
        return message_failed(
            self, ingest_step_from(entry.step.empty() ? "download" : entry.step),
            "interrupted",
            "the daemon stopped while it was processing the message, " +
                std::to_string(entry.attempts) + " times");
    } else if (has_category(ref, st.cfg.labels.processed)) {
      ++st.next; // labelled by an earlier install
      continue;
    }
    if (ref.size > st.cfg.max_message_size) {
      auto m = base_mail(self, ref);
      m.rejection = "too_large";
      m.detail = std::to_string(ref.size) + " bytes; the limit is " +
                 std::to_string(st.cfg.max_message_size);
      return store(self, std::move(m));
    }
    if (self->clock().now() < paused_until(self)) {
      // Graph paused the mailbox meanwhile (its SENDER asked, say): go on after it.
      self->delayed_send(self, paused_until(self) - self->clock().now(), atom::internal_v,
                         atom::poll_v, st.generation);
      return report(self, succeeded());
    }
    auto wait = fetch_wait(self);
    if (wait > caf::timespan{0}) {
      // The fetch rate is spent: poll again when it has room, not a whole interval on.
      self->delayed_send(self, wait, atom::internal_v, atom::poll_v, st.generation);
      return report(self, succeeded());
    }
    return begin_try(self);
  }
  report(self, succeeded());
}

/// Lists one page of new mail; the last page starts the processing.
void list_page(self_ptr self, std::string next_link) {
  call_graph(
      self,
      [=](const std::string& token) {
        const auto& cfg = self->state.cfg;
        if (next_link.empty())
          return graph::new_mail(cfg.graph_url, token, cfg.address, cfg.since);
        return graph::get("", token, next_link); // verbatim, as Graph asks
      },
      [=](net::client_response& res) {
        if (!res.ok() || res.status != 200)
          return fail_graph(self, res, "listing new mail");
        std::string next;
        auto page = graph::read_message_page(res.body, next);
        if (!page) {
          back_off(self, std::nullopt, true);
          return report(self, failed("listing", "graph_failure",
                                     "Graph answered a listing that is not a page of "
                                     "messages"));
        }
        auto& q = self->state.queue;
        q.insert(q.end(), std::make_move_iterator(page->begin()),
                 std::make_move_iterator(page->end()));
        if (!next.empty()) return list_page(self, next);
        self->state.gate_failures = 0; // the listing works: the gate's backoff ends
        process(self);
      });
}

/// Spawns the SENDER (monitored: this MAILBOX restarts it), if the mailbox sends.
void start_sender(self_ptr self) {
  auto& st = self->state;
  if (!st.outbox || st.sender) return;
  auto send = st.cfg.send;
  send.id = st.cfg.id;
  send.account_id = st.cfg.account_id;
  send.address = st.cfg.address;
  send.graph_url = st.cfg.graph_url;
  if (st.present) {
    // A SENDER of this mailbox may outlive its MAILBOX by a moment (a crash): wait.
    if (st.present->contains(sender_key(st.cfg.id))) {
      self->delayed_send(self, std::chrono::milliseconds{100}, atom::internal_v,
                         atom::restart_v);
      return;
    }
    st.present->enter(sender_key(st.cfg.id));
  }
  // Monitored: restarted here. It watches this MAILBOX and ends with it, however that
  // comes.
  st.sender = self->spawn<caf::monitored>(
      sender, std::move(send),
      sender_peers{caf::actor_cast<send_listener_actor>(self), st.outbox, st.metrics,
                   st.throttle, st.present});
}

/// Stopping: once its children are down, the MAILBOX ends.
void stop_if_done(self_ptr self) {
  auto& st = self->state;
  if (!st.sender && !st.labeler) self->quit(st.stop_reason);
}

/// Stopping: the children first (their down messages then end the MAILBOX).
void stop_children(self_ptr self) {
  auto& st = self->state;
  if (st.labeler) self->send_exit(st.labeler, st.stop_reason);
  if (st.sender) self->send_exit(st.sender, st.stop_reason);
  stop_if_done(self);
}

/// A graceful stop during a counted try: the try is given back in the journal (it
/// failed through no fault of the message; the next start takes the message up again
/// at once), then the MAILBOX stops. Bounded: the HELPDESK has a second to answer.
void park(self_ptr self) {
  auto& st = self->state;
  st.in_try = false;
  auto f = failure_of(self, ingest_step::download, "shutdown", {}, false);
  self->request(the_helpdesk(self), std::chrono::seconds{1}, atom::failed_v, std::move(f))
      .then([=](const failure_outcome&) { stop_children(self); },
            [=](const caf::error& err) {
              spdlog::warn("mailbox {}/{}: cannot park its try on shutdown: {}",
                           self->state.cfg.account_id, self->state.cfg.id, render(err));
              stop_children(self);
            });
}

/// Told to stop (or its REGISTRY is gone): parks a try in flight on a graceful stop,
/// then stops its children and itself.
void begin_stop(self_ptr self, caf::error reason) {
  auto& st = self->state;
  if (st.stopping) return;
  st.stopping = true;
  st.stop_reason = std::move(reason);
  ++st.generation; // no more polls
  if (st.in_try && st.stop_reason == caf::exit_reason::user_shutdown) return park(self);
  stop_children(self);
}

} // namespace

mailbox_actor::behavior_type mailbox(mailbox_actor::stateful_pointer<mailbox_state> self,
                                     mailbox_config cfg, mailbox_peers peers) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.listener = std::move(peers.listener);
  st.converter = peers.converter;
  st.converters = peers.converters;
  st.present = peers.present;
  if (st.present) // however it ends
    self->attach_functor(
        [p = st.present, key = mailbox_key(st.cfg.id)] { p->leave(key); });
  st.store = peers.store;
  st.throttle = peers.throttle;
  st.outbox = peers.outbox;
  st.metrics = peers.metrics;
  st.wall_base = std::chrono::system_clock::now();
  st.clock_base = self->clock().now();
  // A MAILBOX that failed may have left writes queued at the STORAGE WRITER: its
  // windows are read after them.
  storage_requests::await_earlier_writes(self, [=] {
    load_windows(self);
    start_sender(self);
  });
  // It ends with its REGISTRY, however that ends (a REGISTRY that stops normally stops
  // its MAILBOXes first).
  if (st.listener) self->monitor(st.listener);
  // A child that fails is restarted here, after a backoff; the MAILBOX itself stops
  // only once its children are down, so that its replacement never runs beside them.
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    if (st.listener && dm.source == st.listener.address())
      return begin_stop(self, caf::exit_reason::user_shutdown);
    st.gate.forget(dm.source); // what a child held or waited for
    admit(self);
    if (st.labeler && dm.source == st.labeler.address()) {
      st.labeler = nullptr;
      if (st.stopping) return stop_if_done(self);
      if (dm.reason) { // a new one starts with the next message to label
        ++st.child_restarts;
        if (st.metrics)
          st.metrics->add("exconnect_actor_restarts_total", {{"kind", "labeler"}});
        spdlog::error("mailbox {}/{}: its LABELER failed ({}); the journal keeps what "
                      "it had to do",
                      st.cfg.account_id, st.cfg.id, render(dm.reason));
      }
      return;
    }
    if (!st.sender || dm.source != st.sender.address()) return;
    st.sender = nullptr;
    if (st.stopping) return stop_if_done(self);
    ++st.sender_failures;
    ++st.child_restarts;
    if (st.metrics)
      st.metrics->add("exconnect_actor_restarts_total", {{"kind", "sender"}});
    auto delay = backoff_delay(std::chrono::milliseconds{100}, st.cfg.backoff_max,
                               st.sender_failures, st.rng);
    spdlog::error("mailbox {}/{}: its SENDER failed ({}); restarting it in {} ms",
                  st.cfg.account_id, st.cfg.id, render(dm.reason), delay.count());
    self->delayed_send(self, delay, atom::internal_v, atom::restart_v);
  });
  self->set_exit_handler([=](caf::exit_msg& em) { begin_stop(self, em.reason); });
  // Mailboxes started together are spread over their interval (first_poll).
  if (st.cfg.first_poll > std::chrono::milliseconds{0})
    self->delayed_send(self, st.cfg.first_poll, atom::internal_v, atom::poll_v,
                       st.generation);
  else
    self->send(self, atom::internal_v, atom::poll_v, st.generation);
  return {
      [=](atom::internal, atom::poll, std::uint64_t generation) {
        auto& st = self->state;
        if (generation != st.generation || st.stopping) return;
        auto now = self->clock().now();
        if (now < paused_until(self)) { // throttled: poll when the pause ends
          self->delayed_send(self, paused_until(self) - now, atom::internal_v,
                             atom::poll_v, ++st.generation);
          return;
        }
        self->delayed_send(self, st.cfg.poll_interval, atom::internal_v, atom::poll_v,
                           ++st.generation);
        if (st.polling) return; // the previous poll is still running
        st.polling = true;
        list_page(self, {});
      },
      [=](atom::settings, const label_settings& labels) {
        self->state.cfg.labels = labels;
        if (self->state.labeler)
          self->send(self->state.labeler, atom::settings_v, labels);
      },
      [=](atom::failed, const std::string&, const poll_result::failure& f) {
        self->state.last_failure = f; // reported with the next poll
      },
      [=](atom::idle, std::uint64_t received) {
        // Nothing sent since: it ends (a new one starts with the next message).
        auto& st = self->state;
        // Stopping: its down message ends it (stop_children sent it the exit).
        if (st.stopping || !st.labeler || received != st.labels_sent ||
            self->current_sender() != caf::actor_cast<caf::strong_actor_ptr>(st.labeler))
          return;
        self->send_exit(st.labeler, caf::exit_reason::user_shutdown);
        st.labeler = nullptr;
      },
      [=](atom::wake) {
        if (self->state.sender) self->send(self->state.sender, atom::wake_v);
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
      [=](atom::release, caf::timespan pause) {
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
        out.fetch_used = fetch_used(self);
        out.sending = st.sending;
        return out;
      },
      [=](atom::internal, atom::restart) {
        if (!self->state.stopping) start_sender(self);
      },
  };
}

} // namespace exc

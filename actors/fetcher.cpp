#include "actors/fetcher.hpp"

#include "actors/listing.hpp"

#include "messages/error.hpp"
#include "messages/lifetime.hpp"
#include "messages/services.hpp"
#include "messages/storage_requests.hpp"
#include "net/graph/call.hpp"
#include "net/graph/requests.hpp"
#include "net/limits/backoff.hpp"
#include "net/time_format.hpp"
#include "net/url.hpp"

#include <caf/system_messages.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace exc {

namespace {

using self_ptr = fetcher_actor::stateful_pointer<fetcher_state>;

void process(self_ptr self);

helpdesk_actor the_helpdesk(self_ptr self) {
  return service::get<helpdesk_actor>(self->system());
}

/// Writes `changes` without waiting (relaxed: they survive a crash of the process).
void write(self_ptr self, storage::batch changes, const char* what) {
  storage_requests::commit_or_log(
      self, std::move(changes),
      "mailbox " + self->state.cfg.account_id + "/" + self->state.cfg.id, what);
}

/// Where the next round starts ("": a full round). Relaxed, as its MAILBOX writes it.
void keep_delta_link(self_ptr self, const std::string& link) {
  storage::batch changes;
  self->state.peers.store->stage_delta_link(changes, self->state.cfg.id, link);
  write(self, std::move(changes), "the delta link");
}

/// Marks a download in flight, or its end (see fetch_window::stage_pending).
void write_download_pending(self_ptr self, bool pending) {
  const auto& st = self->state;
  if (!st.peers.throttle) return;
  storage::batch changes;
  fetch_window::stage_pending(changes, *st.peers.throttle, st.cfg.id, pending);
  write(self, std::move(changes),
        pending ? "the start of a download" : "the end of a download");
}

/// The wall clock now, in ms, as its MAILBOX's clock sees it.
std::int64_t wall_ms(self_ptr self) {
  return self->state.cfg.wall.ms_at(self->clock().now());
}

/// Ends the cycle: tells the MAILBOX how it went and quits.
void finish(self_ptr self, fetch_report r) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (st.next_retry != caf::actor_clock::time_point::max() && !r.back_off) {
    auto retry = std::max(st.next_retry - now, caf::timespan{0});
    r.poll_in = r.poll_in < caf::timespan{0} ? retry : std::min(r.poll_in, retry);
  }
  r.result.failed_message = std::move(st.last_failure);
  r.listed = st.listed;
  self->send(st.peers.mailbox, atom::fetched_v, std::move(r));
  self->quit();
}

/// A mailbox-wide failure that is not Graph's answer (no token, storage trouble).
void fail(self_ptr self, const caf::error& err) {
  finish(self, call_failed(err, self->state.cfg.account_id, self->state.cfg.id));
}

/// Graph's answer that concerns the whole mailbox: the cycle ends and the mailbox waits.
void fail_graph(self_ptr self, const net::client_response& res, const char* doing) {
  finish(self, graph_failed(res, doing, self->state.cfg.account_id, self->state.cfg.id));
}

/// A Graph call of the mailbox, through its gate; a token that cannot be had ends the
/// cycle (after `on_error`, if any).
void call(self_ptr self, request_maker make, response_handler on_response,
          error_handler on_error = {}, bool batchable = false) {
  const auto& st = self->state;
  call_graph_gated(self, st.peers.mailbox, tokens_of(self->system(), st.peers.tokens),
                   route_of(self->system(), st.cfg, batchable), token_key_of(st.cfg),
                   std::move(make), std::move(on_response), [=](const caf::error& err) {
                     if (on_error) on_error(err);
                     fail(self, err);
                   });
}

bool has_category(const message_ref& ref, const std::string& name) {
  return std::any_of(ref.categories.begin(), ref.categories.end(),
                     [&](const std::string& c) { return net::iequals(c, name); });
}

/// Marks the current message done in this cycle and takes the next.
void advance(self_ptr self) {
  self->state.in_try = false;
  self->state.reserved.reset(); // its bytes of the conversion budget
  ++self->state.next;
  process(self);
}

/// The conversion budget has no room for the current message now: looks again after a
/// wait that doubles (100 ms to 2 s, jittered) while there is none. Conversions end
/// within their time budget, so room comes; the cycle's other mail waits behind it,
/// in order.
void wait_for_room(self_ptr self) {
  auto& st = self->state;
  auto wait = backoff_delay(std::chrono::milliseconds{100}, std::chrono::seconds{2},
                            ++st.room_waits, st.rng);
  self->delayed_send(self, wait, atom::internal_v, atom::wake_v);
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

/// Has the current message labelled (by the MAILBOX's LABELER).
void label(self_ptr self, bool rejected) {
  const auto& st = self->state;
  const auto& ref = st.queue[st.next];
  self->send(st.peers.mailbox, atom::label_v,
             label_task{ref.graph_id, ref.internet_message_id, ref.received_at, rejected,
                        st.tries});
}

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

/// Gives a counted try back in the journal: it failed through no fault of the message
/// (the mailbox's trouble, a stop). `then` runs once the HELPDESK answered, or after
/// `wait` without an answer.
template <class Then>
void give_back(self_ptr self, std::string code, caf::timespan wait, Then then) {
  self->state.in_try = false;
  auto f = failure_of(self, ingest_step::download, std::move(code), {}, false);
  self->request(the_helpdesk(self), wait, atom::failed_v, std::move(f))
      .then([=](const failure_outcome&) { then(); },
            [=](const caf::error& err) {
              spdlog::warn("mailbox {}/{}: cannot give back a try: {}",
                           self->state.cfg.account_id, self->state.cfg.id, render(err));
              then();
            });
}

/// The current message failed at `step`: the HELPDESK counts it, with the message's
/// own backoff; the cycle goes on with the next message (or labels a quarantined one
/// as rejected).
void message_failed(self_ptr self, ingest_step step, std::string code,
                    std::string message) {
  auto& st = self->state;
  st.in_try = false;
  auto f = failure_of(self, step, std::move(code), std::move(message), true);
  auto delay = backoff_delay(st.cfg.retry_initial, st.cfg.backoff_max,
                             std::max<std::uint32_t>(st.tries, 1), st.rng);
  f.retry_at_ms = wall_ms(self) + delay.count();
  spdlog::warn("mailbox {}/{}: message {}: {} failed: {} {}", st.cfg.account_id,
               st.cfg.id, f.graph_id, to_string(step), f.code, f.message);
  st.last_failure = {to_string(step), f.code, f.message,
                     net::format_rfc3339(std::chrono::system_clock::now())};
  auto retry_at = f.retry_at_ms;
  self->request(the_helpdesk(self), std::chrono::seconds{60}, atom::failed_v,
                std::move(f))
      .then(
          [=](const failure_outcome& out) {
            if (out.quarantined)
              label(self, true); // a processing_failed rejection now
            else
              not_yet(self, retry_at);
            advance(self);
          },
          [=](const caf::error& err) { fail(self, err); });
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

/// The parts of an inbound mail known before anything is downloaded.
inbound_mail base_mail(self_ptr self, const message_ref& ref) {
  inbound_mail m;
  m.account_id = self->state.cfg.account_id;
  m.mailbox_id = self->state.cfg.id;
  m.graph_id = ref.graph_id;
  m.received_at = ref.received_at;
  m.message_id = ref.internet_message_id;
  m.reject_list_mail = self->state.cfg.labels.reject_list_mail;
  if (m.message_id.size() > 2 && m.message_id.front() == '<' &&
      m.message_id.back() == '>')
    m.message_id = m.message_id.substr(1, m.message_id.size() - 2);
  return m;
}

/// Has the downloaded MIME converted by the least loaded CONVERTER (leased until the
/// answer, or this actor's end), then stored.
void convert(self_ptr self, std::string mime, inbound_mail base) {
  auto& st = self->state;
  auto lease = st.peers.converters ? st.peers.converters->acquire() : nullptr;
  auto which = lease ? lease->index() : st.peers.converter;
  self->request(service::converter(self->system(), which), std::chrono::minutes{5},
                atom::convert_v, std::move(mime), std::move(base))
      .then(
          [=](inbound_mail& m) { // moved, not copied
            (void)lease;
            store(self, std::move(m));
          },
          [=](const caf::error& err) {
            (void)lease;
            auto timeout = is(err, ec::conversion_timeout);
            message_failed(self, ingest_step::conversion,
                           timeout ? "conversion_timeout" : "conversion_failed",
                           timeout ? context_of(err) : render(err));
          });
}

/// Downloads the raw MIME in the gate's slot it holds (marked in flight already, see
/// begin_try), then converts it.
void download(self_ptr self) {
  auto& st = self->state;
  auto base = base_mail(self, st.queue[st.next]);
  st.downloading = true;
  call_graph_in_slot(
      self, st.peers.mailbox, tokens_of(self->system(), st.peers.tokens),
      service::get<http_actor>(self->system()), token_key_of(st.cfg),
      raw_message_of(st.cfg.graph_url, st.cfg.address, base.graph_id),
      [=](net::client_response& res) {
        // Counted when the answer is in, not when the request left: Graph counts on
        // arrival, which lies in between, so the window can never hold one too many.
        auto& st = self->state;
        st.downloading = false;
        auto now = self->clock().now();
        st.window.add(now);
        self->send(st.peers.mailbox, atom::downloaded_v);
        if (st.peers.throttle) {
          storage::batch changes;
          st.window.stage(changes, *st.peers.throttle, st.cfg.id, now);
          fetch_window::stage_pending(changes, *st.peers.throttle, st.cfg.id, false);
          write(self, std::move(changes), "the fetch window");
        }
        if (st.stopping) return;                                 // parked meanwhile
        if (res.ok() && res.status == 404) return advance(self); // deleted meanwhile
        if (!res.ok() || res.status != 200) {
          if (mailbox_wide(res))
            return give_back(self, {}, std::chrono::seconds{60},
                             [=] { fail_graph(self, res, "downloading a message"); });
          auto e = graph::read_error(res);
          return message_failed(self, ingest_step::download, e.code, e.message);
        }
        convert(self, std::move(res.body), std::move(base));
      },
      [=](const caf::error& err) { // no token: not the message's fault
        self->state.downloading = false;
        write_download_pending(self, false);
        give_back(self, {}, std::chrono::seconds{60}, [=] { fail(self, err); });
      });
}

/// Counts the try in the journal, then downloads. In this order: a slot at the gate
/// (none while a pause lasts: the cycle ends and the MAILBOX polls once it is over),
/// then the download marked in flight (the STORAGE WRITER applies the mark before the
/// HELPDESK's count, which comes after it, so the mark is stored before the request
/// leaves and a restart counts the download in the fetch window), then the count (a
/// try the process does not survive counts too).
void begin_try(self_ptr self) {
  self->request(self->state.peers.mailbox, caf::infinite, atom::acquire_v, atom::pause_v)
      .then(
          [=](caf::timespan paused) {
            auto& st = self->state;
            if (paused > caf::timespan{0}) { // no slot taken
              fetch_report r;
              r.result.ok = true;
              r.poll_in = paused;
              return finish(self, std::move(r));
            }
            const auto& ref = st.queue[st.next];
            // If this try does not finish (the process stops), the next one waits: at
            // once after a first try (a crash is most likely not the message's doing),
            // then the message's backoff. Either way it counts towards quarantine.
            std::int64_t retry_at = 0;
            if (st.tries > 0)
              retry_at =
                  wall_ms(self) + backoff_delay(st.cfg.retry_initial, st.cfg.backoff_max,
                                                st.tries, st.rng)
                                      .count();
            write_download_pending(self, true);
            // From here a stop gives the try back (the HELPDESK gets both in order).
            st.in_try = true;
            self->request(the_helpdesk(self), std::chrono::seconds{60}, atom::attempt_v,
                          st.cfg.id, ref.graph_id, base_mail(self, ref).message_id,
                          retry_at)
                .then(
                    [=](std::uint32_t tries) {
                      auto& st = self->state;
                      if (tries == 0) { // it has an outcome already
                        st.in_try = false;
                        self->send(st.peers.mailbox, atom::release_v, caf::timespan{0});
                        write_download_pending(self, false);
                        return advance(self);
                      }
                      st.tries = tries;
                      download(self);
                    },
                    [=](const caf::error& err) {
                      self->state.in_try = false;
                      self->send(self->state.peers.mailbox, atom::release_v,
                                 caf::timespan{0});
                      write_download_pending(self, false);
                      fail(self, err);
                    });
          },
          [=](const caf::error& err) { fail(self, err); });
}

/// Takes the next message of the cycle through whatever it still needs.
void process(self_ptr self) {
  auto& st = self->state;
  if (st.stopping) return; // nothing new once told to stop
  while (st.next < st.queue.size()) {
    const auto& ref = st.queue[st.next];
    auto known = st.peers.store->journal(st.cfg.id, ref.graph_id);
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
    auto wait = st.window.wait(self->clock().now());
    if (wait > caf::timespan{0}) {
      // The fetch rate is spent: poll again when it has room, not a whole interval on.
      fetch_report r;
      r.result.ok = true;
      r.poll_in = wait;
      return finish(self, std::move(r));
    }
    // Its bytes of the process's conversion budget, held from before the download
    // until it is stored, as Graph lists its size.
    if (st.peers.converters && !st.reserved) {
      st.reserved = st.peers.converters->reserve(std::max<std::uint64_t>(ref.size, 1));
      if (!st.reserved) return wait_for_room(self);
    }
    st.room_waits = 0;
    return begin_try(self);
  }
  // Every message of the round was taken: the next round starts after it.
  if (!st.delta_link.empty() && st.delta_link != st.from_link)
    keep_delta_link(self, st.delta_link);
  fetch_report r;
  r.result.ok = true;
  finish(self, std::move(r));
}

/// The messages of the round, oldest first (a delta round comes in the order of the
/// changes; a reply should not overtake the mail it answers).
void sort_queue(self_ptr self) {
  auto& q = self->state.queue;
  std::stable_sort(q.begin(), q.end(), [](const message_ref& a, const message_ref& b) {
    return a.received_at < b.received_at; // RFC 3339 in UTC: text order is time order
  });
}

/// Looks again at the open messages due (one GET each) that the round did not report:
/// each one still there joins the queue; one gone from Exchange, or read while it was
/// still pending, leaves the index. Then the processing starts.
void look_again(self_ptr self) {
  auto& st = self->state;
  if (st.stopping) return;
  while (!st.due.empty()) {
    auto id = std::move(st.due.back());
    st.due.pop_back();
    auto listed = std::any_of(st.queue.begin(), st.queue.end(),
                              [&](const message_ref& r) { return r.graph_id == id; });
    if (listed) continue;
    return call(
        self,
        [=](const std::string& token) {
          const auto& cfg = self->state.cfg;
          return graph::message_ref_of(cfg.graph_url, token, cfg.address, id);
        },
        [=](net::client_response& res) {
          auto& st = self->state;
          if (res.ok() && res.status == 200) {
            bool is_read = false;
            auto ref = graph::read_message_ref(res.body, is_read);
            auto known = st.peers.store->journal(st.cfg.id, id);
            bool pending = known && (!*known || (*known)->pending());
            if (ref && !(is_read && pending)) {
              st.queue.push_back(std::move(*ref));
              return look_again(self);
            }
          } else if (mailbox_wide(res)) {
            return fail_graph(self, res, "looking at an open message again");
          } else if (!res.ok() || res.status != 404) { // the next cycle looks again
            auto e = graph::read_error(res);
            spdlog::warn("mailbox {}/{}: message {}: looking at it again failed: {} {}",
                         st.cfg.account_id, st.cfg.id, id, e.code, e.message);
            return look_again(self);
          }
          storage::batch changes; // gone, or read before it was taken
          st.peers.store->stage_not_open(changes, st.cfg.id, id);
          write(self, std::move(changes), "a message no longer open");
          look_again(self);
        },
        {}, true);
  }
  sort_queue(self);
  st.taking = true;
  process(self);
}

/// Lists the next page of the round; the last page (with the deltaLink) starts the
/// processing. Every page is listed first, as Graph's links stand for the round's state
/// when it began.
void list_page(self_ptr self, std::string next_link) {
  call(
      self,
      [=](const std::string& token) {
        return graph::inbox_delta({}, token, {}, {}, next_link);
      },
      [=](net::client_response& res) {
        auto& st = self->state;
        if (graph::sync_state_gone(res)) {
          // Graph forgot the round: the next cycle, at once, is a full round.
          spdlog::info("mailbox {}/{}: Graph no longer knows the delta round; a full "
                       "round starts",
                       st.cfg.account_id, st.cfg.id);
          keep_delta_link(self, "");
          fetch_report r;
          r.result.ok = true;
          r.poll_in = caf::timespan{0};
          return finish(self, std::move(r));
        }
        auto read = read_listing(res, st.cfg.graph_url, st.cfg.account_id, st.cfg.id);
        if (auto* failed = std::get_if<fetch_report>(&read))
          return finish(self, std::move(*failed));
        auto& page = std::get<mail_page>(read);
        auto& q = st.queue;
        q.insert(q.end(), std::make_move_iterator(page.messages.begin()),
                 std::make_move_iterator(page.messages.end()));
        if (!page.next_link.empty()) return list_page(self, std::move(page.next_link));
        st.delta_link = std::move(page.delta_link);
        st.listed = true; // the mailbox's backoff ends, however the cycle does
        look_again(self);
      },
      {}, true);
}

/// Told to stop: a counted try under way is given back in the journal (it failed
/// through no fault of the message; the next start takes the message up again at
/// once), within a second, then it ends.
void stop(self_ptr self, caf::error reason) {
  auto& st = self->state;
  if (st.stopping) return;
  st.stopping = true;
  if (!st.in_try || reason != caf::exit_reason::user_shutdown)
    return self->quit(std::move(reason));
  if (!st.downloading) write_download_pending(self, false); // none went out
  give_back(self, "shutdown", std::chrono::seconds{1},
            [=] { self->quit(caf::exit_reason::user_shutdown); });
}

} // namespace

fetcher_actor::behavior_type fetcher(fetcher_actor::stateful_pointer<fetcher_state> self,
                                     fetcher_config cfg, fetcher_peers peers,
                                     fetch_window window, mail_round round) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.peers = std::move(peers);
  st.window = std::move(window);
  if (auto* p = st.peers.present) // however it ends
    self->attach_functor([p, key = fetcher_key(st.cfg.id)] { p->leave(key); });
  // It ends with its MAILBOX, however that ends (one that stops gracefully stops its
  // children first).
  end_with(self, st.peers.mailbox);
  self->set_down_handler([=](caf::down_msg& dm) {
    if (dm.source == self->state.peers.mailbox.address())
      stop(self, std::move(dm.reason));
  });
  self->set_exit_handler([=](caf::exit_msg& em) { stop(self, std::move(em.reason)); });
  st.queue = std::move(round.first.messages);
  st.from_link = std::move(round.from_link);
  st.due = std::move(round.due);
  if (!round.first.next_link.empty()) {
    list_page(self, std::move(round.first.next_link));
  } else { // listed in full: taken from its first message (not inside this init)
    st.delta_link = std::move(round.first.delta_link);
    st.listed = true;
    self->send(self, atom::internal_v, atom::wake_v);
  }
  return {
      [=](atom::settings, const label_settings& labels) {
        self->state.cfg.labels = labels;
      },
      [=](atom::internal, atom::wake) { // its start, or see wait_for_room
        auto& st = self->state;
        if (st.stopping) return;
        if (!st.taking) return look_again(self);
        process(self);
      },
  };
}

} // namespace exc

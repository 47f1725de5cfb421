#include "actors/mailbox.hpp"

#include "actors/backoff.hpp"
#include "actors/graph.hpp"
#include "actors/graph_call.hpp"
#include "messages/error.hpp"
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

/// The fetch window on the wall clock, so a restart does not start it empty.
void save_fetch_window(self_ptr self) {
  auto& st = self->state;
  if (!st.throttle) return;
  fetch_used(self); // drops what left the window
  auto wall = std::chrono::system_clock::now();
  auto now = self->clock().now();
  std::vector<storage::throttle_store::time_point> events;
  for (auto t : st.downloads)
    events.push_back(
        wall - std::chrono::duration_cast<std::chrono::system_clock::duration>(now - t));
  if (auto err = st.throttle->save(st.cfg.id, "fetch", events))
    spdlog::warn("mailbox {}/{}: cannot store the fetch window: {}", st.cfg.account_id,
                 st.cfg.id, render(err));
}

/// The fetch window and the pause a previous run left, on this actor's clock.
void load_windows(self_ptr self) {
  auto& st = self->state;
  if (!st.throttle) return;
  st.paused_until = self->clock().now() + stored_pause(st.throttle, st.cfg.id, "pause");
  auto stored = st.throttle->load(st.cfg.id, "fetch");
  if (!stored) {
    spdlog::warn("mailbox {}/{}: cannot read the fetch window: {}", st.cfg.account_id,
                 st.cfg.id, render(stored.error()));
    return;
  }
  auto wall = std::chrono::system_clock::now();
  auto now = self->clock().now();
  for (auto t : *stored)
    if (t <= wall)
      st.downloads.push_back(now - std::chrono::duration_cast<caf::timespan>(wall - t));
  fetch_used(self);
}

/// How long until the fetch window has room for one more download (zero: now).
caf::timespan fetch_wait(self_ptr self) {
  auto& st = self->state;
  if (fetch_used(self) < st.cfg.fetch_rate.count) return caf::timespan{0};
  auto window = std::chrono::duration_cast<caf::timespan>(st.cfg.fetch_rate.window);
  return st.downloads.front() + window - self->clock().now();
}

poll_result succeeded() {
  poll_result r;
  r.ok = true;
  return r;
}

poll_result failed(std::string code, std::string message) {
  poll_result r;
  r.code = std::move(code);
  r.message = std::move(message);
  return r;
}

/// Ends the poll cycle and tells the listener how it went.
void report(self_ptr self, poll_result r) {
  auto& st = self->state;
  st.polling = false;
  st.queue.clear();
  st.queue.shrink_to_fit(); // idle mailboxes stay small
  st.next = 0;
  if (r.ok) st.failures = 0;
  r.fetch_used = fetch_used(self);
  auto wall = std::chrono::system_clock::now();
  auto now = self->clock().now();
  if (st.paused_until > now) r.paused_until = wall_time(st.paused_until, now);
  r.at = net::format_rfc3339(wall);
  self->send(st.listener, atom::polled_v, st.cfg.id, std::move(r));
}

caf::timespan backoff(self_ptr self) {
  auto& st = self->state;
  return backoff_delay(st.cfg.backoff_initial, st.cfg.backoff_max, st.failures, st.rng);
}

/// Graph throttled this mailbox or failed in a way that heals: no request until
/// Retry-After (429, 503) or the backoff has passed; then the cycle starts over.
void pause(self_ptr self, const net::client_response& res) {
  auto& st = self->state;
  ++st.failures;
  auto asked = asked_pause(res);
  auto wait = asked ? *asked : backoff(self);
  st.paused_until = self->clock().now() + wait;
  // Stored, so that a restart does not knock on Graph's door before the pause ends.
  store_pause(st.throttle, st.cfg.id, "pause", wait);
  self->delayed_send(self, wait, atom::internal_v, atom::poll_v, st.generation);
}

void fail(self_ptr self, const caf::error& err) {
  poll_result r;
  r.grant_gone = is(err, ec::reauthorization_required);
  r.code = err.category() == error_category ? to_string(static_cast<ec>(err.code()))
                                            : "internal_error";
  r.message = render(err);
  if (!r.grant_gone)
    spdlog::warn("mailbox {}/{}: {}", self->state.cfg.account_id, self->state.cfg.id,
                 r.message);
  report(self, std::move(r));
}

void fail_graph(self_ptr self, const net::client_response& res, const char* doing) {
  auto e = graph::read_error(res);
  if (graph::transient(res)) pause(self, res);
  spdlog::warn("mailbox {}/{}: {} failed: {} {}{}", self->state.cfg.account_id,
               self->state.cfg.id, doing, e.code, e.message,
               graph::transient(res) ? " (pausing this mailbox)" : "");
  report(self, failed(e.code, e.message));
}

/// A Graph call of this mailbox; a token that cannot be had ends the cycle. Any answer
/// Graph gives without a server error ends the backoff: a long cycle must not pile up
/// the failures of its many requests.
void call_graph(self_ptr self, request_maker make, response_handler on_response) {
  const auto& st = self->state;
  exc::call_graph(
      self, st.tokens, st.http, st.cfg.id, std::move(make),
      [=](net::client_response& res) {
        if (!graph::transient(res)) self->state.failures = 0;
        on_response(res);
      },
      [=](const caf::error& err) { fail(self, err); });
}

bool has_category(const message_ref& ref, const std::string& name) {
  return std::any_of(ref.categories.begin(), ref.categories.end(),
                     [&](const std::string& c) { return net::iequals(c, name); });
}

/// Marks the current message done in this cycle and takes the next.
void advance(self_ptr self) {
  ++self->state.next;
  process(self);
}

/// The journal learns that the message is labelled; then the next message.
void labelled(self_ptr self, const std::string& graph_id) {
  self->request(self->state.helpdesk, std::chrono::seconds{60}, atom::labelled_v,
                self->state.cfg.id, graph_id)
      .then([=](bool) { advance(self); },
            [=](const caf::error& err) { fail(self, err); });
}

/// PATCH the categories the message has now plus our labels. They are read again
/// first: the listing may be minutes old, and a PATCH replaces the whole list.
void label(self_ptr self, bool rejected) {
  auto graph_id = self->state.queue[self->state.next].graph_id;
  call_graph(
      self,
      [=](const std::string& token) {
        const auto& cfg = self->state.cfg;
        return graph::categories_of(cfg.graph_url, token, cfg.address, graph_id);
      },
      [=](net::client_response& res) {
        // Deleted meanwhile: there is nothing left to label.
        if (res.ok() && res.status == 404) return labelled(self, graph_id);
        auto current = res.ok() && res.status == 200 ? graph::read_categories(res.body)
                                                     : std::nullopt;
        if (!current) return fail_graph(self, res, "reading a message's categories");
        auto categories = *current;
        const auto& labels = self->state.cfg.labels;
        for (const auto* name : {&labels.processed, &labels.rejected}) {
          if (name == &labels.rejected && !rejected) continue;
          if (std::none_of(categories.begin(), categories.end(),
                           [&](const std::string& c) { return net::iequals(c, *name); }))
            categories.push_back(*name);
        }
        call_graph(
            self,
            [=](const std::string& token) {
              const auto& cfg = self->state.cfg;
              return graph::set_categories(cfg.graph_url, token, cfg.address, graph_id,
                                           categories, cfg.labels.mark_as_read);
            },
            [=](net::client_response& res) {
              if (res.ok() && res.status == 404) return labelled(self, graph_id);
              if (!res.ok() || res.status != 200)
                return fail_graph(self, res, "labelling a message");
              labelled(self, graph_id);
            });
      });
}

/// Hands the mail to the HELPDESK; once it is durable, labels it.
void store(self_ptr self, inbound_mail m) {
  self->request(self->state.helpdesk, std::chrono::minutes{5}, atom::ingest_v,
                std::move(m))
      .then([=](const ingest_outcome& out) { label(self, out.rejected()); },
            [=](const caf::error& err) { fail(self, err); });
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

/// Downloads the raw MIME, has it converted and stored.
void download(self_ptr self) {
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
        save_fetch_window(self);
        if (res.ok() && res.status == 404) return advance(self); // deleted meanwhile
        if (!res.ok() || res.status != 200)
          return fail_graph(self, res, "downloading a message");
        self->request(self->state.converter, std::chrono::minutes{5}, atom::convert_v,
                      std::move(res.body), base)
            .then(
                [=](inbound_mail& m) { store(self, std::move(m)); }, // moved, not copied
                [=](const caf::error& err) { fail(self, err); });
      });
}

/// Takes the next message of the cycle through whatever it still needs.
void process(self_ptr self) {
  auto& st = self->state;
  while (st.next < st.queue.size()) {
    const auto& ref = st.queue[st.next];
    auto known = st.store->journal(st.cfg.id, ref.graph_id);
    if (!known) return fail(self, known.error());
    if (*known) {
      // Converted before: never again. Put back labels someone removed.
      bool labelled =
          has_category(ref, st.cfg.labels.processed) &&
          (!(*known)->rejected() || has_category(ref, st.cfg.labels.rejected));
      if (labelled && (*known)->labelled) {
        ++st.next;
        continue;
      }
      return label(self, (*known)->rejected());
    }
    if (has_category(ref, st.cfg.labels.processed)) { // labelled by an earlier install
      ++st.next;
      continue;
    }
    if (ref.size > st.cfg.max_message_size) {
      auto m = base_mail(self, ref);
      m.rejection = "too_large";
      m.detail = std::to_string(ref.size) + " bytes; the limit is " +
                 std::to_string(st.cfg.max_message_size);
      return store(self, std::move(m));
    }
    auto wait = fetch_wait(self);
    if (wait > caf::timespan{0}) {
      // The fetch rate is spent: poll again when it has room, not a whole interval on.
      self->delayed_send(self, wait, atom::internal_v, atom::poll_v, st.generation);
      return report(self, succeeded());
    }
    return download(self);
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
        if (!page)
          return report(self, failed("graph_failure",
                                     "Graph answered a listing that is not a page of "
                                     "messages"));
        auto& q = self->state.queue;
        q.insert(q.end(), std::make_move_iterator(page->begin()),
                 std::make_move_iterator(page->end()));
        if (!next.empty()) return list_page(self, next);
        process(self);
      });
}

} // namespace

mailbox_actor::behavior_type mailbox(mailbox_actor::stateful_pointer<mailbox_state> self,
                                     mailbox_config cfg, mailbox_peers peers) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.tokens = std::move(peers.tokens);
  st.http = std::move(peers.http);
  st.listener = std::move(peers.listener);
  st.converter = std::move(peers.converter);
  st.helpdesk = std::move(peers.helpdesk);
  st.store = peers.store;
  st.throttle = peers.throttle;
  load_windows(self);
  if (peers.outbox) {
    auto send = st.cfg.send;
    send.id = st.cfg.id;
    send.account_id = st.cfg.account_id;
    send.address = st.cfg.address;
    send.graph_url = st.cfg.graph_url;
    // Linked: the sender stops with its mailbox (pause, delete, failure).
    st.sender = self->spawn<caf::linked>(sender, std::move(send),
                                         sender_peers{st.tokens, st.http, st.helpdesk,
                                                      st.listener, peers.outbox,
                                                      peers.metrics, st.throttle});
  }
  self->send(self, atom::internal_v, atom::poll_v, st.generation);
  return {
      [=](atom::internal, atom::poll, std::uint64_t generation) {
        auto& st = self->state;
        if (generation != st.generation) return;
        auto now = self->clock().now();
        if (now < st.paused_until) { // throttled: poll when the pause ends
          self->delayed_send(self, st.paused_until - now, atom::internal_v, atom::poll_v,
                             ++st.generation);
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
      },
      [=](atom::wake) {
        if (self->state.sender) self->send(self->state.sender, atom::wake_v);
      },
  };
}

} // namespace exc

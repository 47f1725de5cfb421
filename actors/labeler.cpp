#include "actors/labeler.hpp"

#include "messages/error.hpp"
#include "messages/lifetime.hpp"
#include "messages/services.hpp"
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

using self_ptr = labeler_actor::stateful_pointer<labeler_state>;

void next(self_ptr self);

helpdesk_actor the_helpdesk(self_ptr self) {
  return service::get<helpdesk_actor>(self->system());
}

/// The task under way is finished, one way or the other: the next one.
void done(self_ptr self) {
  auto& st = self->state;
  st.queue.erase(st.queue.begin());
  st.busy = false;
  next(self);
}

/// A Graph call of the mailbox, through its gate. No token, or no answer at all: the
/// mailbox's trouble; what is left waits for the MAILBOX's next poll.
void call(self_ptr self, request_maker make, response_handler on_response) {
  const auto& st = self->state;
  call_graph_gated(self, st.gate, tokens_of(self->system(), st.tokens),
                   service::get<http_actor>(self->system()), token_key_of(st.cfg),
                   std::move(make), std::move(on_response), [=](const caf::error& err) {
                     spdlog::warn("labeler {}/{}: {}; the rest waits for the next poll",
                                  self->state.cfg.account_id, self->state.cfg.id,
                                  render(err));
                     self->quit();
                   });
}

/// The label of the task under way failed: the HELPDESK counts it, with the message's
/// own backoff (a quarantine after max_attempts), and the next task goes on.
void label_failed(self_ptr self, std::string code, std::string message) {
  auto& st = self->state;
  const auto& t = st.queue.front();
  message_failure f;
  f.account_id = st.cfg.account_id;
  f.mailbox_id = st.cfg.id;
  f.graph_id = t.graph_id;
  f.internet_message_id = t.internet_message_id;
  f.received_at = t.received_at;
  f.step = ingest_step::labelling;
  f.code = std::move(code);
  f.message = std::move(message);
  f.max_attempts = st.cfg.max_attempts;
  auto delay = backoff_delay(st.cfg.retry_initial, st.cfg.backoff_max,
                             std::max<std::uint32_t>(t.tries, 1), st.rng);
  f.retry_at_ms = st.cfg.wall.ms_at(self->clock().now()) + delay.count();
  spdlog::warn("mailbox {}/{}: message {}: labelling failed: {} {}", st.cfg.account_id,
               st.cfg.id, f.graph_id, f.code, f.message);
  self->send(st.listener, atom::failed_v, st.cfg.id,
             poll_result::failure{"labelling", f.code, f.message,
                                  net::format_rfc3339(std::chrono::system_clock::now())});
  self->request(the_helpdesk(self), std::chrono::seconds{60}, atom::failed_v,
                std::move(f))
      .then([=](const failure_outcome&) { done(self); },
            [=](const caf::error& err) {
              spdlog::warn("labeler {}/{}: cannot count a failed label: {}",
                           self->state.cfg.account_id, self->state.cfg.id, render(err));
              done(self);
            });
}

/// Graph refused a request of the task under way: the mailbox's trouble (throttled, a
/// refused token) ends the labelling for now; anything else is the message's.
void answer_failed(self_ptr self, const net::client_response& res) {
  if (mailbox_wide(res)) {
    spdlog::warn("labeler {}/{}: Graph answered {}; the rest waits for the next poll",
                 self->state.cfg.account_id, self->state.cfg.id, res.status);
    return self->quit();
  }
  auto e = graph::read_error(res);
  label_failed(self, e.code, e.message);
}

/// The journal learns that the message is labelled.
void labelled(self_ptr self) {
  const auto& st = self->state;
  self->request(the_helpdesk(self), std::chrono::seconds{60}, atom::labelled_v, st.cfg.id,
                st.queue.front().graph_id)
      .then([=](bool) { done(self); },
            [=](const caf::error& err) { // labelled again on a later poll: harmless
              spdlog::warn("labeler {}/{}: cannot record a label: {}",
                           self->state.cfg.account_id, self->state.cfg.id, render(err));
              done(self);
            });
}

/// PATCHes the categories the message has now plus the labels.
void set_labels(self_ptr self, std::vector<std::string> categories) {
  const auto& st = self->state;
  const auto& labels = st.cfg.labels;
  // The rejected label is ours: mail that is a ticket does not carry it (a recovered
  // rejection loses it).
  if (!st.queue.front().rejected)
    categories.erase(std::remove_if(categories.begin(), categories.end(),
                                    [&](const std::string& c) {
                                      return net::iequals(c, labels.rejected);
                                    }),
                     categories.end());
  for (const auto* name : {&labels.processed, &labels.rejected}) {
    if (name == &labels.rejected && !st.queue.front().rejected) continue;
    if (std::none_of(categories.begin(), categories.end(),
                     [&](const std::string& c) { return net::iequals(c, *name); }))
      categories.push_back(*name);
  }
  auto graph_id = st.queue.front().graph_id;
  call(
      self,
      [=](const std::string& token) {
        const auto& cfg = self->state.cfg;
        return graph::set_categories(cfg.graph_url, token, cfg.address, graph_id,
                                     categories, cfg.labels.mark_as_read);
      },
      [=](net::client_response& res) {
        if (res.ok() && (res.status == 200 || res.status == 404)) // 404: deleted
          return labelled(self);
        answer_failed(self, res);
      });
}

/// Takes the next task; with none left, tells its MAILBOX, which ends it (a task sent
/// meanwhile is never lost: the MAILBOX knows how many it sent).
void next(self_ptr self) {
  auto& st = self->state;
  if (st.busy) return;
  if (st.queue.empty()) return self->send(st.listener, atom::idle_v, st.received);
  st.busy = true;
  auto graph_id = st.queue.front().graph_id;
  call(
      self,
      [=](const std::string& token) {
        const auto& cfg = self->state.cfg;
        return graph::categories_of(cfg.graph_url, token, cfg.address, graph_id);
      },
      [=](net::client_response& res) {
        if (res.ok() && res.status == 404) return labelled(self); // nothing to label
        if (!res.ok() || res.status != 200) return answer_failed(self, res);
        auto current = graph::read_categories(res.body);
        if (!current)
          return label_failed(self, "graph_failure",
                              "Graph answered a message that has no categories");
        set_labels(self, std::move(*current));
      });
}

} // namespace

labeler_actor::behavior_type labeler(labeler_actor::stateful_pointer<labeler_state> self,
                                     labeler_config cfg, graph_gate_actor gate,
                                     label_listener_actor listener,
                                     const token_cache* tokens) {
  auto& st = self->state;
  st.tokens = tokens;
  st.cfg = std::move(cfg);
  st.gate = std::move(gate);
  st.listener = std::move(listener);
  // It ends with its MAILBOX, however that ends.
  end_with(self, st.gate);
  self->set_down_handler([=](caf::down_msg& dm) {
    if (dm.source == self->state.gate.address())
      self->quit(caf::exit_reason::user_shutdown);
  });
  return {
      [=](atom::label, label_task& t) {
        auto& st = self->state;
        ++st.received;
        bool queued =
            std::any_of(st.queue.begin(), st.queue.end(),
                        [&](const label_task& q) { return q.graph_id == t.graph_id; });
        if (queued || st.queue.size() >= st.cfg.max_queue) return;
        st.queue.push_back(std::move(t));
        next(self);
      },
      [=](atom::settings, const label_settings& labels) {
        self->state.cfg.labels = labels;
      },
  };
}

} // namespace exc

#include "actors/graph_batcher.hpp"

#include "messages/services.hpp"
#include "net/graph/batch.hpp"
#include "net/graph/call.hpp"

namespace exc {

namespace {

using self_ptr = graph_batcher_actor::stateful_pointer<graph_batcher_state>;

/// Sends `req` (one caller's request, or a batch of two or more) and hands each caller
/// its answer within answer_wait: the BATCHER holds every caller's deadline (they wait
/// without a timer of their own), and until the answer the callers are in `in_flight`,
/// which its state answers if it ends first.
void send(self_ptr self, net::client_request req,
          std::vector<graph_batcher_state::promise> callers) {
  auto id = ++self->state.next_batch;
  self->state.in_flight.emplace(id, std::move(callers));
  auto wait = answer_wait(req);
  self->request(service::get<http_actor>(self->system()), wait, std::move(req))
      .then(
          [=](net::client_response& res) {
            auto i = self->state.in_flight.find(id);
            if (i == self->state.in_flight.end()) return;
            auto& to = i->second;
            if (to.size() == 1) {
              to.front().deliver(std::move(res));
            } else {
              auto answers = graph::answers_of(res, to.size());
              for (std::size_t k = 0; k < answers.size(); ++k)
                to[k].deliver(std::move(answers[k]));
            }
            self->state.in_flight.erase(i);
          },
          [=](const caf::error& err) {
            auto i = self->state.in_flight.find(id);
            if (i == self->state.in_flight.end()) return;
            for (auto& p : i->second)
              p.deliver(err);
            self->state.in_flight.erase(i);
          });
}

/// Sends one token's waiting requests: one alone as it is, more as a batch.
void send_group(self_ptr self, std::vector<graph_batcher_state::waiting> group) {
  if (group.size() == 1)
    return send(self, std::move(group.front().request), {group.front().answer});
  std::vector<const net::client_request*> inner;
  std::vector<graph_batcher_state::promise> callers;
  for (auto& w : group) {
    inner.push_back(&w.request);
    callers.push_back(std::move(w.answer));
  }
  send(self, graph::batch_of(self->state.cfg.graph_url, inner), std::move(callers));
}

} // namespace

graph_batcher_actor::behavior_type
graph_batcher(graph_batcher_actor::stateful_pointer<graph_batcher_state> self,
              graph_batcher_config cfg) {
  self->state.cfg = std::move(cfg);
  return {
      [=](net::client_request& req) -> caf::result<net::client_response> {
        auto& st = self->state;
        auto rp = self->make_response_promise<net::client_response>();
        if (st.cfg.batch_size <= 1 || !graph::batchable(req, st.cfg.graph_url)) {
          send(self, std::move(req), {rp});
          return rp;
        }
        auto key = std::string{req.header("Authorization")};
        auto& group = st.waiting_by_token[key];
        group.push_back({std::move(req), rp});
        if (group.size() >= std::min(st.cfg.batch_size, graph::batch_limit)) {
          auto full = std::move(group);
          st.waiting_by_token.erase(key);
          send_group(self, std::move(full));
        } else if (!st.flush_planned) {
          st.flush_planned = true;
          self->delayed_send(self, st.cfg.window, atom::internal_v, atom::flush_v);
        }
        return rp;
      },
      [=](atom::internal, atom::flush) {
        auto& st = self->state;
        st.flush_planned = false;
        auto groups = std::move(st.waiting_by_token);
        st.waiting_by_token.clear();
        for (auto& [key, group] : groups)
          send_group(self, std::move(group));
      },
  };
}

} // namespace exc

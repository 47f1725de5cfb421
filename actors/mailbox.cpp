#include "actors/mailbox.hpp"

#include "actors/graph.hpp"
#include "messages/error.hpp"
#include "net/time_format.hpp"

namespace exc {

namespace {

using self_ptr = mailbox_actor::stateful_pointer<mailbox_state>;

void report(self_ptr self, poll_result r) {
  self->state.polling = false;
  r.at = net::format_rfc3339(std::chrono::system_clock::now());
  self->send(self->state.listener, atom::polled_v, self->state.cfg.id, std::move(r));
}

void report_error(self_ptr self, const caf::error& err) {
  poll_result r;
  r.grant_gone = is(err, ec::reauthorization_required);
  r.code = err.category() == error_category ? to_string(static_cast<ec>(err.code()))
                                            : "internal_error";
  r.message = render(err);
  report(self, std::move(r));
}

/// One probe with a token; a 401 gets one fresh token and one more try.
void probe(self_ptr self, bool retried) {
  const auto& cfg = self->state.cfg;
  self->request(self->state.tokens, std::chrono::seconds{60}, atom::token_v, cfg.id)
      .then(
          [=](const std::string& token) {
            const auto& cfg = self->state.cfg;
            auto req = graph::inbox_probe(cfg.graph_url, token, cfg.address);
            self->request(self->state.http, std::chrono::seconds{90}, std::move(req))
                .then(
                    [=](const net::client_response& res) {
                      if (res.ok() && res.status == 200) {
                        report(self, poll_result{true, {}, {}, {}, false});
                        return;
                      }
                      if (graph::token_refused(res) && !retried) {
                        self->send(self->state.tokens, atom::invalidate_v,
                                   self->state.cfg.id, token);
                        probe(self, true);
                        return;
                      }
                      auto e = graph::read_error(res);
                      report(self, poll_result{false, {}, e.code, e.message, false});
                    },
                    [=](const caf::error& err) { report_error(self, err); });
          },
          [=](const caf::error& err) { report_error(self, err); });
}

} // namespace

mailbox_actor::behavior_type mailbox(mailbox_actor::stateful_pointer<mailbox_state> self,
                                     mailbox_config cfg, token_service_actor tokens,
                                     http_actor http, poll_listener_actor listener) {
  self->state.cfg = std::move(cfg);
  self->state.tokens = std::move(tokens);
  self->state.http = std::move(http);
  self->state.listener = std::move(listener);
  self->send(self, atom::internal_v, atom::poll_v, self->state.generation);
  return {
      [=](atom::internal, atom::poll, std::uint64_t generation) {
        auto& st = self->state;
        if (generation != st.generation) return;
        self->delayed_send(self, st.cfg.poll_interval, atom::internal_v, atom::poll_v,
                           ++st.generation);
        if (st.polling) return; // the previous poll is still running
        st.polling = true;
        probe(self, false);
      },
  };
}

} // namespace exc

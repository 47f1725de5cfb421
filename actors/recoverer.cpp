#include "actors/recoverer.hpp"

#include "messages/error.hpp"
#include "messages/lifetime.hpp"
#include "messages/services.hpp"
#include "net/graph/call.hpp"
#include "net/graph/requests.hpp"

#include <spdlog/spdlog.h>

#include <memory>

namespace exc {

namespace {

using self_ptr = recoverer_pointer;

/// What one recovery carries from step to step.
struct job {
  recovery what;
  caf::typed_response_promise<ingest_outcome> answer;
  std::shared_ptr<converter_load::reservation> reserved; ///< until it ends
  unsigned room_waits = 0;
};
using job_ptr = std::shared_ptr<job>;

void fail(self_ptr self, const job_ptr& j, caf::error err) {
  spdlog::warn("mailbox {}/{}: recovering {} failed: {}", self->state.cfg.account_id,
               self->state.cfg.id, j->what.rejection_id, render(err));
  j->answer.deliver(std::move(err));
  self->quit();
}

inbound_mail base_of(self_ptr self, const job& j) {
  inbound_mail m;
  m.account_id = self->state.cfg.account_id;
  m.mailbox_id = self->state.cfg.id;
  m.graph_id = j.what.graph_id;
  m.received_at = j.what.received_at;
  m.message_id = j.what.internet_message_id;
  m.recovering = j.what.rejection_id;
  return m;
}

/// Stored: the MAILBOX labels it (a ticket now, so the rejected label goes).
void store(self_ptr self, const job_ptr& j, inbound_mail m) {
  self->request(service::get<helpdesk_actor>(self->system()), std::chrono::minutes{5},
                atom::recover_v, std::move(m))
      .then(
          [=](const ingest_outcome& out) {
            const auto& w = j->what;
            self->send(
                self->state.peers.mailbox, atom::label_v,
                label_task{w.graph_id, w.internet_message_id, w.received_at, false, 0});
            j->answer.deliver(out);
            self->quit();
          },
          [=](const caf::error& err) { fail(self, j, err); });
}

/// Has the downloaded mail converted (moved, not copied: a CONVERTER answers a mail
/// being recovered with a ticket however its conversion ends).
void convert(self_ptr self, const job_ptr& j, std::string raw) {
  auto& st = self->state;
  auto lease = st.peers.converters ? st.peers.converters->acquire() : nullptr;
  auto which = lease ? lease->index() : st.peers.converter;
  self->request(service::converter(self->system(), which), std::chrono::minutes{5},
                atom::convert_v, std::move(raw), base_of(self, *j))
      .then(
          [=](inbound_mail& m) {
            (void)lease;
            store(self, j, std::move(m));
          },
          [=](const caf::error& err) {
            (void)lease;
            fail(self, j, err);
          });
}

/// Downloads the raw MIME through the MAILBOX's Graph gate.
void download(self_ptr self, const job_ptr& j) {
  const auto& st = self->state;
  call_graph_gated(
      self, st.peers.mailbox, tokens_of(self->system(), st.peers.tokens),
      service::get<http_actor>(self->system()), token_key_of(st.cfg),
      raw_message_of(st.cfg.graph_url, st.cfg.address, j->what.graph_id),
      [=](net::client_response& res) {
        if (res.ok()) self->send(self->state.peers.mailbox, atom::downloaded_v);
        if (res.ok() && res.status == 404)
          return fail(self, j,
                      make_error(ec::invalid_state, "the mail is no longer in the "
                                                    "mailbox (deleted in Exchange)"));
        if (!res.ok() || res.status != 200) {
          auto e = graph::read_error(res);
          return fail(self, j,
                      make_error(ec::graph_failure, "downloading the mail failed: " +
                                                        e.code + " " + e.message));
        }
        convert(self, j, std::move(res.body));
      },
      [=](const caf::error& err) { fail(self, j, err); });
}

/// Reserves its room in the process's conversion budget before the download, as much
/// as the largest mail that is not too_large; waits for room (100 ms doubling to 2 s)
/// as the FETCHER does, at most about two minutes.
void reserve_then_download(self_ptr self, const job_ptr& j) {
  auto& st = self->state;
  if (st.peers.converters && !j->reserved) {
    j->reserved =
        st.peers.converters->reserve(std::max<std::uint64_t>(st.cfg.max_message_size, 1));
    if (!j->reserved) {
      if (++j->room_waits > 64)
        return fail(self, j,
                    make_error(ec::unspecified, "no room in the conversion budget "
                                                "for two minutes; try again"));
      auto wait = backoff_delay(std::chrono::milliseconds{100}, std::chrono::seconds{2},
                                j->room_waits, st.rng);
      self->delayed_send(self, wait, atom::internal_v, atom::wake_v);
      return;
    }
  }
  download(self, j);
}

} // namespace

recoverer_actor::behavior_type recoverer(recoverer_pointer self, recoverer_config cfg,
                                         recoverer_peers peers) {
  self->state.cfg = std::move(cfg);
  self->state.peers = std::move(peers);
  end_with(self, self->state.peers.mailbox); // its MAILBOX ending fails it
  self->set_down_handler([=](caf::down_msg& dm) { self->quit(dm.reason); });
  auto current = std::make_shared<job_ptr>();
  return {
      [=](atom::recover, const recovery& what) -> caf::result<ingest_outcome> {
        if (*current)
          return make_error(ec::invalid_state, "a RECOVERER recovers one mail");
        auto j = std::make_shared<job>();
        j->what = what;
        j->answer = self->make_response_promise<ingest_outcome>();
        *current = j;
        reserve_then_download(self, j);
        return j->answer;
      },
      [=](atom::internal, atom::wake) { // see reserve_then_download
        if (*current) reserve_then_download(self, *current);
      },
  };
}

} // namespace exc

#include "actors/supervisor.hpp"

#include "messages/error.hpp"
#include "net/limits/backoff.hpp"

#include <caf/system_messages.hpp>

#include <spdlog/spdlog.h>

namespace exc {

namespace {

using self_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

void start(self_ptr self, std::size_t i) {
  auto& s = self->state.services[i];
  s.handle = s.spec.start(self);
  s.started = self->clock().now();
  spdlog::info("supervisor: {} started", s.spec.kind);
}

/// Stops the last service still running; once none is left, the SUPERVISOR quits.
/// One at a time, in the reverse order of their start: each service may still use
/// those started before it while it stops (a MAILBOX parks its try with the HELPDESK).
void stop_next(self_ptr self) {
  auto& st = self->state;
  for (auto s = st.services.rbegin(); s != st.services.rend(); ++s)
    if (s->handle) {
      if (s->spec.interrupt) s->spec.interrupt();
      return self->send_exit(s->handle, caf::exit_reason::user_shutdown);
    }
  self->quit(st.stop_reason);
}

/// Stops every service, the last started first.
void stop_all(self_ptr self, caf::error reason) {
  auto& st = self->state;
  st.stopping = true;
  st.stop_reason = std::move(reason);
  stop_next(self);
}

/// Service `i` went down while it should run: restart it after a backoff, or give up
/// if it failed too often.
void failed(self_ptr self, std::size_t i, const caf::error& reason) {
  auto& st = self->state;
  auto& s = st.services[i];
  auto now = self->clock().now();
  auto window = std::chrono::duration_cast<caf::timespan>(st.cfg.budget_window);
  s.failed_at.push_back(now);
  while (!s.failed_at.empty() && s.failed_at.front() + window <= now)
    s.failed_at.pop_front();
  if (!s.spec.restartable || s.failed_at.size() > st.cfg.restart_budget) {
    auto why = !s.spec.restartable
                   ? s.spec.kind + " failed (" + render(reason) + ") and is not restarted"
                   : s.spec.kind + " failed " + std::to_string(s.failed_at.size()) +
                         " times within " +
                         std::to_string(st.cfg.budget_window.count() / 1000) +
                         " s (last: " + render(reason) + ")";
    spdlog::critical("supervisor: giving up: {}; stopping exconnectd", why);
    if (st.on_give_up) st.on_give_up(why);
    return stop_all(self, make_error(ec::unspecified, why));
  }
  if (st.metrics) // a restart follows (not on giving up)
    st.metrics->add("exconnect_actor_restarts_total", {{"kind", s.spec.kind}});
  if (now - s.started > std::chrono::duration_cast<caf::timespan>(st.cfg.stable_after))
    s.failures = 0;
  ++s.failures;
  auto delay =
      backoff_delay(st.cfg.backoff_initial, st.cfg.backoff_max, s.failures, st.rng);
  spdlog::error("supervisor: {} failed ({}); restarting it in {} ms", s.spec.kind,
                render(reason), delay.count());
  self->delayed_send(self, delay, atom::internal_v, atom::restart_v,
                     static_cast<std::uint64_t>(i));
}

} // namespace

supervisor_actor::behavior_type
supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
           supervisor_config cfg, std::vector<service_spec> services,
           net::metrics* metrics, std::function<void(const std::string&)> on_give_up) {
  auto& st = self->state;
  st.cfg = cfg;
  st.metrics = metrics;
  st.on_give_up = std::move(on_give_up);
  if (metrics)
    metrics->describe(
        "exconnect_actor_restarts_total", "counter",
        "Actors restarted after a failure, by kind (storage_writer, http_client, "
        "token_service, helpdesk, converter, registry, rest, mailbox, fetcher, sender, "
        "labeler).");
  for (auto& spec : services)
    st.services.push_back(supervised_service{std::move(spec), {}, {}, 0, {}});
  for (std::size_t i = 0; i < st.services.size(); ++i)
    start(self, i);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    for (std::size_t i = 0; i < st.services.size(); ++i) {
      auto& s = st.services[i];
      if (!s.handle || s.handle.address() != dm.source) continue;
      s.handle = nullptr;
      if (st.stopping) return stop_next(self);
      // A service never ends by itself: even a normal exit is a failure here.
      return failed(self, i, dm.reason);
    }
  });
  // Shutdown: every service stops first, the SUPERVISOR last.
  self->set_exit_handler([=](caf::exit_msg& em) {
    if (!self->state.stopping) stop_all(self, em.reason);
  });
  return {
      [=](atom::internal, atom::restart, std::uint64_t i) {
        auto& st = self->state;
        if (st.stopping || i >= st.services.size() || st.services[i].handle) return;
        start(self, i);
      },
  };
}

} // namespace exc

#pragma once

#include "messages/interfaces.hpp"
#include "net/limits/backoff.hpp"
#include "net/metrics.hpp"

#include <caf/actor.hpp>
#include <caf/actor_clock.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <random>
#include <string>
#include <vector>

/// The SUPERVISOR: the root of the actor tree. It starts the long-lived services
/// (HTTP CLIENT, TOKEN SERVICE, HELPDESK, CONVERTERs, API), monitors them and restarts
/// each one on its own, after a backoff with jitter, and registers every new instance
/// under its name (messages/services.hpp) so that its users find it. A service that
/// fails more often than the restart budget allows makes it give up: it stops every
/// service and reports why, and exconnectd exits non-zero so that its service manager
/// restarts the whole process.
namespace exc {

/// One service the SUPERVISOR keeps running.
struct service_spec {
  std::string kind; ///< "helpdesk", "token_service", …: for logs and metrics
  /// False: a failure cannot be healed by a restart here, the SUPERVISOR gives up.
  bool restartable = true;
  /// Spawns the service, monitored by `self`, and registers it under its name.
  std::function<caf::actor(caf::local_actor* self)> start;
  /// If given, called as the SUPERVISOR tells the service to stop: for a detached
  /// service that may be deep in one long call (a CONVERTER mid-conversion) and would
  /// read its exit only after it.
  std::function<void()> interrupt = {};
};

struct supervisor_config {
  /// A restart waits initial * 2^(failures-1), capped, plus up to a quarter more.
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{30'000};
  /// A service that ran this long since its last start counts as healthy again: its
  /// next failure waits the initial delay.
  std::chrono::milliseconds stable_after{60'000};
  /// More than this many failures of one service within `budget_window`: give up.
  std::uint32_t restart_budget = 5;
  std::chrono::milliseconds budget_window{60'000};
};

struct supervised_service {
  service_spec spec;
  caf::actor handle; ///< null while it waits for its restart
  caf::actor_clock::time_point started{};
  unsigned failures = 0;                              ///< in a row, for the backoff
  std::deque<caf::actor_clock::time_point> failed_at; ///< within the budget window
};

struct supervisor_state {
  static inline const char* name = "supervisor";
  supervisor_config cfg;
  std::vector<supervised_service> services;
  net::metrics* metrics = nullptr;
  /// Called once if the SUPERVISOR gives up, with the reason.
  std::function<void(const std::string&)> on_give_up;
  bool stopping = false;
  caf::error stop_reason;
  std::minstd_rand rng{jitter_seed()};
};

/// @param self the actor
/// @param cfg restart backoff and budget
/// @param services what to start, in order (each may use those before it)
/// @param metrics counts restarts by kind; must outlive the actor
/// @param on_give_up told why, once, if the budget is spent (from the actor's thread)
supervisor_actor::behavior_type
supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
           supervisor_config cfg, std::vector<service_spec> services,
           net::metrics* metrics, std::function<void(const std::string&)> on_give_up);

} // namespace exc

#pragma once

#include "messages/interfaces.hpp"
#include "messages/services.hpp"
#include "net/limits/backoff.hpp"
#include "net/metrics.hpp"
#include "storage/vault.hpp"
#include "storage/webhooks.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

/// The WEBHOOK DISPATCHER: delivers each account's webhook events to its receiver. The
/// writers (HELPDESK, SENDERs, REGISTRY) record events in the batch of the change that
/// causes them and wake it; it also looks at every account with a webhook now and
/// then, so an event whose wake was lost (a restart) still goes. Each event is POSTed
/// signed (X-Exconnect-Signature) with its id (X-Exconnect-Event-Id), only once it is
/// durable, until the receiver answers 2xx; then it is erased. Events with the same
/// order key (a ticket, an email, a mailbox) go one at a time, in id order; a failing
/// one holds back those after it and is tried again after a backoff, and parked once it
/// has failed for `park_after`. It owns the webhooks themselves too: it seals their
/// secrets.
namespace exc {

struct webhook_dispatcher_config {
  /// How long a receiver has to answer.
  std::chrono::milliseconds timeout{10'000};
  std::chrono::milliseconds retry_initial{1'000};
  std::chrono::milliseconds retry_max{3'600'000};
  /// A failing event is parked after failing for this long.
  std::chrono::milliseconds park_after{86'400'000};
  /// A parked event not retried is dropped this long after it was recorded: the parked
  /// events of a receiver that is gone for good do not pile up without end.
  std::chrono::milliseconds parked_retention{30LL * 86'400'000};
  /// Deliveries under way per account.
  std::size_t in_flight = 4;
  /// Undelivered events one pass over an account looks at.
  std::size_t look_ahead = 1'000;
  /// Every account with a webhook is looked at this often.
  std::chrono::milliseconds sweep_interval{30'000};
  wall_clock wall = wall_clock::at(caf::actor_clock::clock_type::now());
};

/// What the WEBHOOK DISPATCHER reads and writes; each must outlive it. Its HTTP goes
/// through the HTTP CLIENT service, its writes through the STORAGE WRITER.
struct webhook_dispatcher_peers {
  const storage::webhook_store* store = nullptr;
  const storage::vault* vault = nullptr;
  net::metrics* metrics = nullptr;
};

/// What the dispatcher knows of one account.
struct webhook_account {
  std::unordered_set<std::string> busy_keys; ///< order keys with a delivery under way
  /// Events under way, until their outcome is applied (the pass reads storage).
  std::unordered_set<std::string> busy_ids;
  std::string sealed; ///< the webhook's secret as stored, and opened
  std::string secret;
  /// The account's timer: the earliest time it is set for (none: max).
  caf::actor_clock::time_point timer_at = caf::actor_clock::time_point::max();
};

struct webhook_dispatcher_state {
  static inline const char* name = "webhooks";
  webhook_dispatcher_config cfg;
  webhook_dispatcher_peers peers;
  std::unordered_map<std::string, webhook_account> accounts;
  std::minstd_rand rng{jitter_seed()};
};

using webhook_dispatcher_pointer =
    webhook_actor::stateful_pointer<webhook_dispatcher_state>;

webhook_actor::behavior_type webhook_dispatcher(webhook_dispatcher_pointer self,
                                                webhook_dispatcher_config cfg,
                                                webhook_dispatcher_peers peers);

/// Counters and gauges it keeps (described once per process).
void describe_webhook_metrics(net::metrics& metrics);

/// After a commit of `changes` was applied: wakes the dispatcher for each account with
/// events in it.
template <class Self>
void wake_webhooks(Self* self, const std::vector<std::string>& accounts) {
  if (accounts.empty()) return;
  auto dispatcher = service::get<webhook_actor>(self->system());
  if (!dispatcher) return; // restarting: its start looks at every account
  for (const auto& account : accounts)
    self->send(dispatcher, atom::wake_v, account);
}

} // namespace exc

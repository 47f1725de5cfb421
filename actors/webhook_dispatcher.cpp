#include "actors/webhook_dispatcher.hpp"

#include "messages/error.hpp"
#include "messages/storage_requests.hpp"
#include "net/time_format.hpp"
#include "net/webhook_signature.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

namespace exc {

namespace {

using self_ptr = webhook_dispatcher_pointer;

/// Events read from storage at a time.
constexpr std::size_t page_size = 50;
/// Undelivered events dropped per pass once an account's webhook is gone.
constexpr std::size_t drop_at_once = 500;
/// How much `retry` takes at once.
constexpr std::size_t retry_at_once = 1'000;
/// After a storage error, the account is looked at again this much later.
constexpr std::int64_t storage_wait_ms = 5'000;

std::int64_t now_ms(self_ptr self) {
  return self->state.cfg.wall.ms_at(self->clock().now());
}

std::string rfc3339(std::int64_t ms) {
  return net::format_rfc3339(
      std::chrono::system_clock::time_point{std::chrono::milliseconds{ms}});
}

/// The account's timer: a pass at `at_ms` (wall clock), unless one is set earlier.
void wake_at(self_ptr self, const std::string& account, std::int64_t at_ms) {
  auto& w = self->state.accounts[account];
  auto wait = std::chrono::milliseconds{std::max<std::int64_t>(at_ms - now_ms(self), 0)};
  auto at = self->clock().now() + wait;
  if (at >= w.timer_at) return;
  w.timer_at = at;
  self->delayed_send(self, wait, atom::internal_v, atom::wake_v, account);
}

/// Where an account's events go, with the secret opened.
struct hook {
  std::string url;
  std::string secret;
};

/// The account's webhook; nullopt if it has none. An error reading or opening it is
/// logged and the account looked at again later.
caf::expected<std::optional<hook>> webhook_of(self_ptr self, const std::string& account) {
  auto& st = self->state;
  auto config = st.peers.store->config(account);
  if (!config) return config.error();
  if (!*config) return std::optional<hook>{};
  auto& w = st.accounts[account];
  if (w.sealed != (*config)->sealed_secret) {
    auto opened = st.peers.vault->open(storage::webhook_secret_record(account),
                                       (*config)->sealed_secret);
    if (!opened) return opened.error();
    w.sealed = (*config)->sealed_secret;
    w.secret = std::move(*opened);
    if (st.peers.vault->needs_reseal(w.sealed)) { // a previous master key sealed it
      auto resealed =
          st.peers.vault->seal(storage::webhook_secret_record(account), w.secret);
      if (resealed) {
        auto updated = **config;
        updated.sealed_secret = *resealed;
        storage::batch changes;
        st.peers.store->stage_config(changes, account, updated);
        storage_requests::commit_or_log(self, std::move(changes), "webhooks",
                                        "the resealed secret of account " + account);
      }
    }
  }
  return std::optional<hook>{hook{(*config)->url, w.secret}};
}

/// The account has no webhook (any more): its undelivered events go, a share at a
/// time.
void drop_undelivered(self_ptr self, const std::string& account) {
  auto& st = self->state;
  auto& w = st.accounts[account];
  storage::batch changes;
  std::size_t dropped = 0;
  bool more = false;
  for (bool parked : {false, true}) {
    auto events = st.peers.store->events(account, parked, "", drop_at_once);
    if (!events) {
      spdlog::error("webhooks: account {}: {}", account, render(events.error()));
      return wake_at(self, account, now_ms(self) + storage_wait_ms);
    }
    more = more || events->size() == drop_at_once;
    for (const auto& e : *events) {
      if (w.busy_ids.count(e.id)) continue; // its outcome comes, then it goes
      st.peers.store->stage_drop(changes, e);
      ++dropped;
    }
  }
  if (dropped > 0) {
    spdlog::info("webhooks: account {} has no webhook: {} undelivered events dropped",
                 account, dropped);
    st.peers.metrics->add("exconnect_webhook_events_dropped_total",
                          {{"reason", "removed"}}, static_cast<double>(dropped));
    storage_requests::commit_or_log(self, std::move(changes), "webhooks",
                                    "the events of account " + account);
  }
  if (more)
    wake_at(self, account, now_ms(self) + 100);
  else if (w.busy_ids.empty())
    st.accounts.erase(account);
}

void deliver(self_ptr self, const hook& h, storage::webhook_event e, std::string body);
void settle(self_ptr self, storage::webhook_event e, unsigned status, std::string error);

/// Reads the event's body and delivers it; an event dropped meanwhile is let go.
void deliver_stored(self_ptr self, const hook& h, const storage::webhook_event& e) {
  auto body = self->state.peers.store->body(e.account_id, e.id);
  if (!body)
    return settle(self, e, 0, "its body cannot be read: " + render(body.error()));
  if (!*body) { // dropped (the webhook was removed): nothing to send
    auto& w = self->state.accounts[e.account_id];
    w.busy_ids.erase(e.id);
    w.busy_keys.erase(e.order_key);
    return;
  }
  deliver(self, h, e, std::move(**body));
}

/// Delivers what is due of the account's events: in id order, one at a time per order
/// key, at most `in_flight` at once; sets the timer for the next that is not yet due.
void pass(self_ptr self, const std::string& account) {
  auto& st = self->state;
  auto found = webhook_of(self, account);
  if (!found) {
    spdlog::error("webhooks: account {}: cannot read its webhook: {}", account,
                  render(found.error()));
    return wake_at(self, account, now_ms(self) + storage_wait_ms);
  }
  if (!*found) return drop_undelivered(self, account);
  auto& w = st.accounts[account];
  auto held = w.busy_keys; // order keys that wait for an earlier event
  std::vector<storage::webhook_event> due;
  auto now = now_ms(self);
  auto earliest = std::numeric_limits<std::int64_t>::max();
  auto room = [&] { return w.busy_ids.size() + due.size() < st.cfg.in_flight; };
  std::string after;
  std::size_t seen = 0;
  for (bool more = true; more && room() && seen < st.cfg.look_ahead;) {
    auto page = st.peers.store->events(account, false, after, page_size);
    if (!page) {
      spdlog::error("webhooks: account {}: {}", account, render(page.error()));
      return wake_at(self, account, now + storage_wait_ms);
    }
    more = page->size() == page_size;
    for (auto& e : *page) {
      after = e.id;
      ++seen;
      if (w.busy_ids.count(e.id)) continue; // its key is held already
      if (!held.insert(e.order_key).second) continue;
      if (e.next_at_ms > now) {
        earliest = std::min(earliest, e.next_at_ms);
        continue;
      }
      due.push_back(std::move(e));
      if (!room()) break;
    }
  }
  if (earliest != std::numeric_limits<std::int64_t>::max())
    wake_at(self, account, earliest);
  if (due.empty()) return;
  for (const auto& e : due) {
    w.busy_ids.insert(e.id);
    w.busy_keys.insert(e.order_key);
  }
  // Only what is durable goes out: a receiver never sees an event of a change that a
  // crash could still undo.
  storage_requests::sync(self, [=, h = **found](const caf::error& err) {
    if (!err) {
      for (const auto& e : due)
        deliver_stored(self, h, e);
      return;
    }
    spdlog::error("webhooks: account {}: storage sync failed: {}", account, render(err));
    auto& acc = self->state.accounts[account];
    for (const auto& e : due) {
      acc.busy_ids.erase(e.id);
      acc.busy_keys.erase(e.order_key);
    }
    wake_at(self, account, now_ms(self) + storage_wait_ms);
  });
}

/// Records how a delivery went (`error` empty: delivered), then looks at the account
/// again.
void settle(self_ptr self, storage::webhook_event e, unsigned status, std::string error) {
  auto& st = self->state;
  auto now = now_ms(self);
  storage::batch changes;
  const char* outcome = "delivered";
  if (error.empty()) {
    st.peers.store->stage_delivered(changes, e);
  } else {
    ++e.attempts;
    e.last_status = status;
    e.last_error = std::move(error);
    e.last_attempt_at = rfc3339(now);
    if (e.first_failure_ms == 0) e.first_failure_ms = now;
    if (now - e.first_failure_ms >= st.cfg.park_after.count()) {
      outcome = "parked";
      e.parked_at = rfc3339(now);
      st.peers.store->stage_park(changes, e);
      spdlog::warn("webhooks: account {}: event {} ({}) parked after {} tries: {}",
                   e.account_id, e.id, e.type, e.attempts, e.last_error);
    } else {
      outcome = "failed";
      auto wait =
          backoff_delay(st.cfg.retry_initial, st.cfg.retry_max, e.attempts, st.rng);
      e.next_at_ms = now + wait.count();
      st.peers.store->stage_update(changes, e);
      spdlog::info("webhooks: account {}: event {} ({}) failed ({}), again in {} ms",
                   e.account_id, e.id, e.type, e.last_error, wait.count());
    }
  }
  st.peers.metrics->add("exconnect_webhook_deliveries_total", {{"outcome", outcome}});
  storage_requests::commit(self, std::move(changes), storage::durability::relaxed,
                           [=](const caf::error& err) {
                             if (err)
                               spdlog::error("webhooks: cannot store the delivery of "
                                             "event {}: {}",
                                             e.id, render(err));
                             auto& w = self->state.accounts[e.account_id];
                             w.busy_ids.erase(e.id);
                             w.busy_keys.erase(e.order_key);
                             pass(self, e.account_id);
                           });
}

void deliver(self_ptr self, const hook& h, storage::webhook_event e, std::string body) {
  auto& cfg = self->state.cfg;
  net::client_request req;
  req.method = "POST";
  req.url = h.url;
  req.timeout = cfg.timeout;
  req.max_response_body = 64 * 1024; // the tenant's server: only its status counts
  req.headers = {{"Content-Type", "application/json"},
                 {"User-Agent", "exconnect-webhooks/1"},
                 {"X-Exconnect-Event-Id", e.id},
                 {"X-Exconnect-Event-Type", e.type},
                 {"X-Exconnect-Signature", net::webhook_signature(h.secret, body)}};
  req.body = std::move(body);
  self->request(service::get<http_actor>(self->system()),
                cfg.timeout + std::chrono::seconds{5}, std::move(req))
      .then(
          [=](const net::client_response& res) {
            if (!res.ok())
              return settle(self, e, 0,
                            std::string{net::to_string(res.error)} + ": " +
                                res.error_message);
            if (res.status >= 200 && res.status < 300) return settle(self, e, 0, "");
            settle(self, e, res.status,
                   "the receiver answered " + std::to_string(res.status));
          },
          [=](const caf::error& err) {
            settle(self, e, 0, "no answer: " + render(err));
          });
}

/// Commits `changes` durably, answers `value` and looks at the account again.
template <class T>
caf::result<T> commit_and_pass(self_ptr self, storage::batch changes,
                               const std::string& account, T value) {
  auto rp = self->make_response_promise<T>();
  storage_requests::commit(self, std::move(changes), storage::durability::durable,
                           [=](const caf::error& err) mutable {
                             if (err) {
                               rp.deliver(err);
                               return;
                             }
                             rp.deliver(value);
                             pass(self, account);
                           });
  return rp;
}

/// Stores the account's new webhook (or its removal).
caf::result<bool> configure(self_ptr self, const std::string& account,
                            const webhook_settings& s) {
  auto& st = self->state;
  std::optional<storage::webhook_config> config;
  if (!s.url.empty()) {
    auto sealed = st.peers.vault->seal(storage::webhook_secret_record(account), s.secret);
    if (!sealed) return sealed.error();
    config = storage::webhook_config{s.url, std::move(*sealed), rfc3339(now_ms(self))};
  }
  storage::batch changes;
  st.peers.store->stage_config(changes, account, config);
  spdlog::info("webhooks: account {}: {}", account,
               s.url.empty() ? "removing the webhook"
                             : "setting the webhook to " + s.url);
  return commit_and_pass(self, std::move(changes), account, true);
}

/// Tries parked and failing events again now, with a fresh allowance.
caf::result<std::uint64_t> retry(self_ptr self, const std::string& account,
                                 const std::string& id) {
  auto& st = self->state;
  const auto& store = *st.peers.store;
  auto& busy = st.accounts[account].busy_ids;
  storage::batch changes;
  std::uint64_t count = 0;
  auto again = [&](storage::webhook_event e, bool parked) {
    e.first_failure_ms = 0;
    e.next_at_ms = 0;
    e.parked_at.clear();
    parked ? store.stage_unpark(changes, e) : store.stage_update(changes, e);
    ++count;
  };
  for (bool parked : {true, false}) {
    if (!id.empty()) {
      auto e = store.event(account, id, parked);
      if (!e) return e.error();
      if (*e && (parked || ((*e)->attempts > 0 && !busy.count(id)))) again(**e, parked);
      continue;
    }
    std::string after;
    for (bool more = true; more && count < retry_at_once;) {
      auto page = store.events(account, parked, after, page_size);
      if (!page) return page.error();
      more = page->size() == page_size;
      for (auto& e : *page) {
        after = e.id;
        if ((parked || e.attempts > 0) && !busy.count(e.id) && count < retry_at_once)
          again(std::move(e), parked);
      }
    }
  }
  if (!id.empty() && count == 0)
    return make_error(ec::not_found, "no parked or failing event " + id);
  return commit_and_pass(self, std::move(changes), account, count);
}

/// Drops the account's parked events recorded longer than `parked_retention` ago, the
/// oldest first (ids sort by the time they were recorded), a share at a time.
void expire_parked(self_ptr self, const std::string& account) {
  auto& st = self->state;
  auto cutoff = rfc3339(now_ms(self) - st.cfg.parked_retention.count());
  storage::batch changes;
  std::size_t dropped = 0;
  std::string after;
  // Oldest first, a page at a time: the first one young enough ends the look.
  for (bool more = true; more && dropped < drop_at_once;) {
    auto parked = st.peers.store->events(account, true, after, page_size);
    if (!parked) {
      spdlog::error("webhooks: account {}: {}", account, render(parked.error()));
      return;
    }
    more = parked->size() == page_size;
    for (const auto& e : *parked) {
      if (e.created_at >= cutoff) { // RFC 3339 in UTC sorts as time does
        more = false;
        break;
      }
      st.peers.store->stage_drop(changes, e);
      after = e.id;
      ++dropped;
    }
  }
  if (dropped == 0) return;
  spdlog::warn("webhooks: account {}: {} parked events older than the retention dropped",
               account, dropped);
  st.peers.metrics->add("exconnect_webhook_events_dropped_total", {{"reason", "expired"}},
                        static_cast<double>(dropped));
  storage_requests::commit_or_log(self, std::move(changes), "webhooks",
                                  "the expired events of account " + account);
}

/// Looks at every account with a webhook, and at those it knows that lost theirs.
void sweep(self_ptr self) {
  auto& st = self->state;
  auto accounts = st.peers.store->accounts();
  if (!accounts) {
    spdlog::error("webhooks: cannot list the webhooks: {}", render(accounts.error()));
  } else {
    std::vector<std::string> known;
    for (const auto& [account, w] : st.accounts)
      known.push_back(account);
    for (const auto& account : *accounts) {
      expire_parked(self, account);
      pass(self, account);
    }
    for (const auto& account : known)
      if (!std::binary_search(accounts->begin(), accounts->end(), account))
        pass(self, account);
  }
  self->delayed_send(self, st.cfg.sweep_interval, atom::internal_v, atom::poll_v);
}

} // namespace

void describe_webhook_metrics(net::metrics& metrics) {
  metrics.describe("exconnect_webhook_deliveries_total", "counter",
                   "Webhook deliveries by outcome (delivered: answered 2xx; failed: "
                   "tried again later; parked: failing for too long).");
  metrics.describe(
      "exconnect_webhook_events_dropped_total", "counter",
      "Undelivered webhook events dropped, by reason (removed: the account's "
      "webhook was removed; expired: parked past the retention).");
}

webhook_actor::behavior_type webhook_dispatcher(webhook_dispatcher_pointer self,
                                                webhook_dispatcher_config cfg,
                                                webhook_dispatcher_peers peers) {
  self->state.cfg = cfg;
  self->state.peers = peers;
  self->send(self, atom::internal_v, atom::poll_v);
  return {
      [=](atom::wake, const std::string& account) { pass(self, account); },
      [=](atom::settings, const std::string& account, const webhook_settings& s)
          -> caf::result<bool> { return configure(self, account, s); },
      [=](atom::retry, const std::string& account, const std::string& id)
          -> caf::result<std::uint64_t> { return retry(self, account, id); },
      [=](atom::internal, atom::wake, const std::string& account) {
        auto& w = self->state.accounts[account];
        if (self->clock().now() >= w.timer_at)
          w.timer_at = caf::actor_clock::time_point::max();
        pass(self, account);
      },
      [=](atom::internal, atom::poll) { sweep(self); },
  };
}

} // namespace exc

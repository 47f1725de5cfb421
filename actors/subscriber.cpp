#include "actors/subscriber.hpp"

#include "messages/error.hpp"
#include "messages/lifetime.hpp"
#include "messages/services.hpp"
#include "messages/storage_requests.hpp"
#include "net/graph/call.hpp"
#include "net/graph/requests.hpp"
#include "net/graph/subscriptions.hpp"
#include "net/time_format.hpp"
#include "storage/secret_file.hpp"

#include <spdlog/spdlog.h>

namespace exc {

namespace {

using self_ptr = subscriber_actor::stateful_pointer<subscriber_state>;

std::int64_t now_ms(self_ptr self) {
  return self->state.cfg.wall.ms_at(self->clock().now());
}

/// The one timer: act again at `at_ms` (wall clock), an earlier timer becomes stale.
void wake_at(self_ptr self, std::int64_t at_ms) {
  auto wait = std::chrono::milliseconds{std::max<std::int64_t>(at_ms - now_ms(self), 0)};
  self->delayed_send(self, wait, atom::internal_v, atom::wake_v,
                     ++self->state.generation);
}

/// Stores the subscription and tells the MAILBOX.
void keep(self_ptr self) {
  auto& st = self->state;
  storage::batch changes;
  st.store->stage_push(changes, st.cfg.id, st.push);
  storage_requests::commit_or_log(self, std::move(changes),
                                  "mailbox " + st.cfg.account_id + "/" + st.cfg.id,
                                  "its subscription");
  self->send(st.listener, atom::subscribed_v, st.push);
}

/// When a subscription that expires at `expires_ms` is renewed: two thirds into its
/// lifetime.
std::int64_t renewal_of(self_ptr self, std::int64_t expires_ms) {
  auto lifetime = std::chrono::duration_cast<std::chrono::milliseconds>(
      self->state.cfg.push.lifetime);
  return expires_ms - lifetime.count() / 3;
}

/// A try failed (`why`): again after the backoff, or sooner if the subscription it
/// still has would expire first.
void retry_later(self_ptr self, std::string why) {
  auto& st = self->state;
  ++st.failures;
  auto wait = backoff_delay(st.cfg.retry_initial, st.cfg.retry_max, st.failures, st.rng);
  auto in_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait).count();
  // A subscription it still has must not lapse: half the time it has left at most.
  if (!st.push.subscription_id.empty())
    in_ms = std::min<std::int64_t>(
        in_ms, std::max<std::int64_t>((st.push.expires_ms - now_ms(self)) / 2, 1'000));
  auto at = now_ms(self) + in_ms;
  spdlog::warn("mailbox {}/{}: change notifications: {}; trying again in {} s",
               st.cfg.account_id, st.cfg.id, why, (at - now_ms(self)) / 1000);
  if (st.push.subscription_id.empty()) {
    st.push.error = std::move(why);
    keep(self);
  }
  wake_at(self, at);
}

/// A Graph call of the mailbox, through its gate; no token: retried later.
void call(self_ptr self, request_maker make, response_handler on_response) {
  auto& st = self->state;
  st.busy = true;
  call_graph_gated(
      self, st.gate, tokens_of(self->system(), st.tokens),
      service::get<http_actor>(self->system()), token_key_of(st.cfg), std::move(make),
      [=](net::client_response& res) {
        self->state.busy = false;
        on_response(res);
      },
      [=](const caf::error& err) {
        self->state.busy = false;
        retry_later(self, render(err));
      });
}

/// The expiry asked for: a lifetime from now (the wall clock as its clock sees it).
std::string expiry(self_ptr self) {
  auto lifetime = std::chrono::duration_cast<std::chrono::milliseconds>(
      self->state.cfg.push.lifetime);
  return net::format_rfc3339(std::chrono::system_clock::time_point{
      std::chrono::milliseconds{now_ms(self) + lifetime.count()}});
}

/// Graph's answer to a creation or renewal that worked: kept, and renewed in time.
void subscribed(self_ptr self, const graph::subscription_answer& sub) {
  auto& st = self->state;
  st.failures = 0;
  st.push.subscription_id = sub.id;
  st.push.expires_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           sub.expires.time_since_epoch())
                           .count();
  st.push.unavailable_until_ms = 0;
  st.push.error.clear();
  keep(self);
  wake_at(self, renewal_of(self, st.push.expires_ms));
}

void create(self_ptr self) {
  auto& st = self->state;
  // A fresh secret per subscription; only its hash is kept.
  auto client_state = storage::random_token(32);
  st.push.state_hash = storage::token_hash(client_state);
  graph::subscription_request what{st.cfg.address, st.cfg.push.notification_url,
                                   st.cfg.push.lifecycle_url, client_state, expiry(self)};
  call(
      self,
      [=](const std::string& token) {
        return graph::create_subscription(self->state.cfg.graph_url, token, what);
      },
      [=](net::client_response& res) {
        auto& st = self->state;
        if (res.ok() && res.status == 201) {
          if (auto sub = graph::read_subscription(res.body)) {
            spdlog::info("mailbox {}/{}: subscribed to change notifications ({})",
                         st.cfg.account_id, st.cfg.id, sub->id);
            return subscribed(self, *sub);
          }
          return retry_later(self, "Graph answered a subscription without id or expiry");
        }
        auto e = graph::read_error(res);
        if (res.ok() && res.status == 403) { // this mailbox cannot be subscribed
          st.push = push_state{};
          st.push.unavailable_until_ms =
              now_ms(self) +
              std::chrono::duration_cast<std::chrono::milliseconds>(st.cfg.refused_wait)
                  .count();
          st.push.error = "Graph refused a subscription: " + e.code + " " + e.message;
          spdlog::info("mailbox {}/{}: {}; it polls", st.cfg.account_id, st.cfg.id,
                       st.push.error);
          keep(self);
          return wake_at(self, st.push.unavailable_until_ms);
        }
        st.push.subscription_id.clear();
        retry_later(self, "creating the subscription failed: " +
                              (res.ok() ? std::to_string(res.status) + " " : "") +
                              e.code + " " + e.message);
      });
}

void renew(self_ptr self) {
  auto id = self->state.push.subscription_id;
  auto until = expiry(self);
  call(
      self,
      [=](const std::string& token) {
        return graph::renew_subscription(self->state.cfg.graph_url, token, id, until);
      },
      [=](net::client_response& res) {
        auto& st = self->state;
        if (res.ok() && res.status == 200) {
          if (auto sub = graph::read_subscription(res.body))
            return subscribed(self, *sub);
        }
        if (res.ok() && res.status == 404) { // Graph no longer has it
          st.push.subscription_id.clear();
          return create(self);
        }
        auto e = graph::read_error(res);
        retry_later(self,
                    "renewing the subscription failed: " + e.code + " " + e.message);
      });
}

/// What is due now: create, renew, or wait.
void act(self_ptr self) {
  auto& st = self->state;
  if (st.busy) return;
  auto now = now_ms(self);
  if (st.push.unavailable_until_ms > now)
    return wake_at(self, st.push.unavailable_until_ms);
  if (st.push.subscription_id.empty() || st.push.expires_ms <= now) return create(self);
  if (renewal_of(self, st.push.expires_ms) <= now) return renew(self);
  wake_at(self, renewal_of(self, st.push.expires_ms));
}

} // namespace

subscriber_actor::behavior_type
subscriber(subscriber_actor::stateful_pointer<subscriber_state> self,
           subscriber_config cfg, graph_gate_actor gate, push_listener_actor listener,
           const storage::helpdesk_store* store, const token_cache* tokens) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.gate = std::move(gate);
  st.listener = std::move(listener);
  st.store = store;
  st.tokens = tokens;
  // It ends with its MAILBOX, however that ends.
  end_with(self, st.gate);
  self->set_down_handler([=](caf::down_msg& dm) {
    if (dm.source == self->state.gate.address()) self->quit(std::move(dm.reason));
  });
  if (auto stored = st.store->push(st.cfg.id)) {
    st.push = std::move(*stored);
    if (!st.push.subscription_id.empty() || st.push.unavailable_until_ms > 0)
      self->send(st.listener, atom::subscribed_v, st.push);
  }
  self->send(self, atom::internal_v, atom::wake_v, st.generation);
  return {
      [=](atom::notify, const std::string& event) {
        auto& st = self->state;
        if (st.busy) return; // its own work under way settles the subscription
        if (event == "subscriptionRemoved") {
          st.push.subscription_id.clear();
          return create(self);
        }
        if (event == "reauthorizationRequired" && !st.push.subscription_id.empty())
          return renew(self);
      },
      [=](atom::internal, atom::wake, std::uint64_t generation) {
        if (generation == self->state.generation) act(self);
      },
  };
}

} // namespace exc

#include "actors/registry.hpp"

#include "actors/mailbox.hpp"
#include "actors/webhook_dispatcher.hpp"
#include "messages/error.hpp"
#include "messages/services.hpp"
#include "messages/storage_requests.hpp"
#include "messages/tenant_key.hpp"
#include "net/graph/requests.hpp"
#include "net/graph/subscriptions.hpp"
#include "net/limits/poll_phase.hpp"
#include "net/pkce.hpp"
#include "net/time_format.hpp"
#include "net/url.hpp"
#include "storage/secret_file.hpp"

#include <caf/actor_cast.hpp>
#include <caf/spawn_options.hpp>
#include <caf/system_messages.hpp>

#include <spdlog/spdlog.h>

namespace exc {

namespace {

using self_ptr = registry_pointer;

// --- time, names, storage ---------------------------------------------------------

/// Now, RFC 3339, on the wall clock as moved by the actor's clock.
std::string now(self_ptr self) {
  const auto& st = self->state;
  auto wall =
      st.wall_base + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                         self->clock().now() - st.clock_base);
  return net::format_rfc3339(wall);
}

/// "<account id>/<mailbox id>": how log lines name a mailbox.
std::string log_name(self_ptr self, const std::string& id) {
  auto i = self->state.mailboxes.find(id);
  return (i == self->state.mailboxes.end() ? std::string{"?"} : i->second.account_id) +
         "/" + id;
}

/// The mailbox's status as last stored (read from storage the first time).
std::optional<storage::mailbox_status> stored_status(self_ptr self,
                                                     const std::string& id) {
  auto& st = self->state;
  if (auto i = st.stored_status.find(id); i != st.stored_status.end()) return i->second;
  auto stored = st.stores.db->get(storage::family::mailboxes, id);
  if (!stored || !*stored) return std::nullopt;
  auto mb = storage::mailbox_from_json(**stored);
  if (!mb) return std::nullopt;
  return mb->status;
}

/// Stages the mailbox's record; a new status also stages its webhook event
/// (mailbox.status_changed), if the account has a webhook. A failure to read the
/// webhook is logged: the status itself must be stored.
void stage_mailbox(self_ptr self, storage::batch& changes,
                   const storage::mailbox_record& mb) {
  changes.put(storage::family::mailboxes, mb.id, storage::to_json(mb).dump());
  auto before = stored_status(self, mb.id);
  self->state.stored_status[mb.id] = mb.status;
  if (before == mb.status) return;
  nlohmann::json error = nullptr;
  if (mb.last_error)
    error = {{"code", mb.last_error->code},
             {"message", mb.last_error->message},
             {"at", mb.last_error->at},
             {"step", mb.last_error->step}};
  auto staged = storage::webhook_store{*self->state.stores.db}.stage_event(
      changes, mb.account_id, storage::event_type::mailbox_status_changed,
      "mailbox:" + mb.id,
      {{"mailbox_id", mb.id},
       {"address", mb.address},
       {"status", to_string(mb.status)},
       {"previous_status", before ? nlohmann::json(to_string(*before)) : nullptr},
       {"last_error", error}});
  if (!staged)
    spdlog::error("registry: mailbox {}/{}: its status event is lost: {}", mb.account_id,
                  mb.id, render(staged.error()));
}

void stage_account(storage::batch& changes, const storage::account_record& a) {
  changes.put(storage::family::accounts, storage::account_key(a.id),
              storage::to_json(a).dump());
}

/// Commits durably through the STORAGE WRITER, then runs `next` with the error to
/// answer with (none if it worked). Nothing else is handled meanwhile, so the next
/// request never sees memory and disk disagree.
template <class Next>
void commit(self_ptr self, storage::batch changes, Next next) {
  auto webhook_accounts = storage::webhook_store::accounts_in(changes);
  storage_requests::commit_awaited(
      self, std::move(changes), storage::durability::durable,
      [=](const caf::error& err) mutable {
        if (!err) {
          wake_webhooks(self, webhook_accounts);
          return next(caf::error{});
        }
        spdlog::error("registry: storage write failed: {}", render(err));
        if (storage_requests::may_land_later(err)) {
          // It may be stored yet: memory and disk may disagree, so a restart reloads.
          next(make_error(ec::storage_failure, "the change may or may not be stored"));
          return self->quit(err);
        }
        next(make_error(ec::storage_failure,
                        "the change could not be stored; nothing was changed"));
      });
}

/// Commits as above and answers with what `apply` returns once the change is stored
/// (`apply` changes the REGISTRY's memory to match), or with the error.
template <class T, class Apply>
caf::result<T> commit_and_answer(self_ptr self, storage::batch changes, Apply apply) {
  auto rp = self->make_response_promise<T>();
  commit(self, std::move(changes), [=](caf::error err) mutable {
    if (err)
      rp.deliver(std::move(err));
    else
      rp.deliver(apply());
  });
  return rp;
}

/// Keeps the gauges of accounts and mailboxes by status current.
void update_gauges(self_ptr self) {
  auto& st = self->state;
  for (auto status : storage::mailbox_statuses)
    st.stores.metrics->set(
        "exconnect_mailboxes", {{"status", to_string(status)}},
        static_cast<double>(st.status_counts[static_cast<std::size_t>(status)]));
  st.stores.metrics->set("exconnect_accounts", {},
                         static_cast<double>(st.accounts.size()));
}

/// The tenants by status (few: counted when one changes).
void update_tenant_gauges(self_ptr self) {
  double consented = 0, lost = 0;
  for (const auto& [id, t] : self->state.tenants)
    (t.consented ? consented : lost) += 1;
  auto* metrics = self->state.stores.metrics;
  metrics->set("exconnect_tenants", {{"status", "consented"}}, consented);
  metrics->set("exconnect_tenants", {{"status", "consent_lost"}}, lost);
}

/// Counts a mailbox's status change (`before` the old status, `after` the new one).
void count_status(self_ptr self, std::optional<storage::mailbox_status> before,
                  std::optional<storage::mailbox_status> after) {
  auto& counts = self->state.status_counts;
  if (before) --counts[static_cast<std::size_t>(*before)];
  if (after) ++counts[static_cast<std::size_t>(*after)];
}

/// Writes a status change of a mailbox; logs (does not throw) if storage fails.
void save_status(self_ptr self, const storage::mailbox_record& mb) {
  storage::batch changes;
  stage_mailbox(self, changes, mb);
  auto webhook_accounts = storage::webhook_store::accounts_in(changes);
  // Not awaited: the next status of this mailbox is queued behind it.
  storage_requests::commit(
      self, std::move(changes), storage::durability::durable,
      [=, account = mb.account_id, id = mb.id](const caf::error& err) {
        wake_webhooks(self, webhook_accounts);
        if (err)
          spdlog::error("registry: cannot store the status of "
                        "mailbox {}/{}: {}",
                        account, id, render(err));
      });
  update_gauges(self);
}

/// The caller's mailbox `id`; nullptr if there is none or it is another account's.
storage::mailbox_record* find_mailbox(self_ptr self, const std::string& account,
                                      const std::string& id) {
  auto i = self->state.mailboxes.find(id);
  if (i == self->state.mailboxes.end() || i->second.account_id != account) return nullptr;
  return &i->second;
}

/// Stores `mb` in memory (new or changed) and in its account's index.
void keep_mailbox(self_ptr self, storage::mailbox_record mb) {
  auto& st = self->state;
  // Hinted at the end: the load keeps them in key order, at constant cost each.
  auto& ids = st.account_mailboxes[mb.account_id];
  ids.insert(ids.end(), mb.id);
  auto size = st.mailboxes.size();
  auto i = st.mailboxes.try_emplace(st.mailboxes.end(), mb.id);
  bool added = st.mailboxes.size() > size;
  count_status(self, added ? std::nullopt : std::optional{i->second.status}, mb.status);
  i->second = std::move(mb);
}

/// Drops a mailbox from memory and from its account's index.
void forget_mailbox(self_ptr self,
                    std::map<std::string, storage::mailbox_record>::iterator i) {
  auto& st = self->state;
  auto ids = st.account_mailboxes.find(i->second.account_id);
  if (ids != st.account_mailboxes.end()) {
    ids->second.erase(i->first);
    if (ids->second.empty()) st.account_mailboxes.erase(ids);
  }
  count_status(self, i->second.status, std::nullopt);
  st.mailboxes.erase(i);
}

/// The ids of the account's mailboxes, in order (empty for an account without any).
const std::set<std::string>& mailboxes_of(self_ptr self, const std::string& account) {
  static const std::set<std::string> none;
  auto i = self->state.account_mailboxes.find(account);
  return i == self->state.account_mailboxes.end() ? none : i->second;
}

caf::error no_such_mailbox() {
  return make_error(ec::not_found, "no such mailbox");
}

mailbox_entry entry_of(self_ptr self, const storage::mailbox_record& mb) {
  auto& st = self->state;
  mailbox_entry out;
  out.record = mb;
  auto rt = st.runtime.find(mb.id);
  if (rt != st.runtime.end()) {
    out.actor = rt->second.actor;
    out.restarts = rt->second.restarts;
    out.last_poll_at = rt->second.last_poll_at;
  }
  if (st.app_error) out.app_error = *st.app_error;
  return out;
}

label_settings labels_of(self_ptr self, const std::string& account_id) {
  label_settings out;
  auto a = self->state.accounts.find(account_id);
  if (a == self->state.accounts.end()) return out;
  out.processed = a->second.settings.processed_label;
  out.rejected = a->second.settings.rejected_label;
  out.mark_as_read = a->second.settings.mark_as_read;
  out.reject_list_mail = a->second.settings.reject_list_mail;
  return out;
}

// --- address holds ------------------------------------------------------------------

/// The mailbox's address is held by nobody else: either free, held by `mb` itself, or
/// by a pending mailbox without a live state (expired, or its link used and failed). That
/// one gives the address up: its new record is staged in `changes` and returned in
/// `released`, to be applied once `changes` are committed.
bool address_free_for(self_ptr self, const storage::mailbox_record& mb,
                      storage::batch& changes,
                      std::optional<storage::mailbox_record>& released) {
  auto& st = self->state;
  auto lower = net::to_lower(mb.address);
  if (st.claiming.count(lower)) return false; // being added through its tenant
  auto held = st.addresses.find(lower);
  if (held == st.addresses.end() || held->second == mb.id) return true;
  auto other = st.mailboxes.find(held->second);
  if (other == st.mailboxes.end()) return true;
  auto o = other->second;
  bool live_state = (!o.state_expires_at.empty() && o.state_expires_at > now(self)) ||
                    st.signing_in.count(o.id) > 0;
  if (o.status != storage::mailbox_status::pending_authorization || live_state)
    return false;
  // A pending mailbox gives its address up when its state expires, or once its one
  // sign-in link was used without connecting it. An expired state record stays until
  // its link is used or the next start, to say "expired".
  bool expired = !o.state_expires_at.empty();
  o.state_hash.clear();
  o.state_expires_at.clear();
  o.last_error = storage::error_record{
      "authorization_expired",
      expired ? "the sign-in was not finished in time; the address was given up"
              : "the sign-in link was used without connecting the mailbox; the address "
                "was given up",
      now(self), "authorization"};
  stage_mailbox(self, changes, o);
  released = std::move(o);
  return true;
}

/// Applies what address_free_for released, after the commit.
void apply_release(self_ptr self,
                   const std::optional<storage::mailbox_record>& released) {
  if (released) keep_mailbox(self, *released);
}

caf::error address_in_use(const std::string& address, const char* how) {
  return make_error(ec::address_in_use, address + how);
}

// --- the MAILBOX lifecycle ----------------------------------------------------------

/// Starts the MAILBOX of a mailbox that should poll. `at_start`: its first poll waits for
/// its turn (many mailboxes starting at once), else it comes at once.
void start_mailbox(self_ptr self, const std::string& id, bool at_start = false) {
  auto& st = self->state;
  auto mb = st.mailboxes.find(id);
  if (mb == st.mailboxes.end() || !storage::polls(mb->second.status)) return;
  auto& rt = st.runtime[id];
  if (rt.actor) return;
  if (rt.stopping) { // the old one first
    rt.start_when_down = true;
    return;
  }
  auto* present = st.stores.present;
  if (present) {
    // A MAILBOX of a previous REGISTRY may still be ending (linked to it, not to us):
    // try again shortly.
    if (present->contains(mailbox_key(id))) {
      self->delayed_send(self, std::chrono::milliseconds{100}, atom::internal_v,
                         atom::restart_v, id);
      return;
    }
    present->enter(mailbox_key(id));
  }
  const auto& record = mb->second;
  mailbox_config cfg;
  cfg.id = id;
  cfg.account_id = record.account_id;
  cfg.address = record.address;
  if (!record.tenant_id.empty()) cfg.token_key = tenant_token_key(record.tenant_id);
  cfg.graph_url = st.cfg.graph_url;
  cfg.poll_interval = record.poll_interval_s > 0
                          ? std::chrono::seconds{record.poll_interval_s}
                          : st.cfg.poll_interval;
  // New mail: received since the connection (Graph's clock), or backfill_days before.
  auto connected = net::parse_rfc3339(record.connected_at);
  cfg.since =
      net::format_rfc3339((connected ? *connected : std::chrono::system_clock::now()) -
                          std::chrono::hours{24 * record.backfill_days});
  cfg.max_message_size = st.cfg.max_message_size;
  cfg.max_attempts = st.cfg.max_attempts;
  cfg.retry_initial = st.cfg.retry_initial;
  cfg.phase = poll_phase(
      id, std::chrono::duration_cast<std::chrono::milliseconds>(cfg.poll_interval));
  // After a start, all poll as soon as their turn comes, then each on its phase.
  cfg.first_poll_waits_turn = at_start;
  cfg.after_predecessor = !(at_start && st.cfg.first_in_process &&
                            rt.started == caf::actor_clock::time_point{});
  cfg.fetch_rate = st.cfg.fetch_rate;
  cfg.labels = labels_of(self, record.account_id);
  cfg.send.rate = st.cfg.send_rate;
  cfg.send.bytes = st.cfg.send_bytes;
  cfg.send.recipients = st.cfg.send_recipients;
  cfg.send.sent_items_grace = st.cfg.sent_items_grace;
  if (st.cfg.push.enabled()) {
    cfg.push = st.cfg.push;
    cfg.push.notification_url += "?mailbox=" + net::percent_encode(id);
    cfg.push.lifecycle_url += "?mailbox=" + net::percent_encode(id);
  }
  mailbox_peers peers;
  peers.listener = caf::actor_cast<poll_listener_actor>(self);
  peers.converters = st.stores.converters;
  peers.present = present;
  peers.budget = st.stores.budget;
  peers.tokens = st.stores.tokens;
  peers.store = st.stores.helpdesk;
  peers.throttle = st.stores.throttle;
  peers.outbox = st.stores.outbox;
  peers.metrics = st.stores.metrics;
  // Monitored: restarted here. It watches the REGISTRY and ends with it, however that
  // comes; a restarted REGISTRY starts a new one once it is gone (presence).
  rt.actor = self->spawn<caf::monitored>(mailbox, std::move(cfg), std::move(peers));
  rt.started = self->clock().now();
  st.by_actor[rt.actor.address()] = id;
  if (at_start) st.first_polls.wait(id);
}

void first_poll_done(self_ptr self, const std::string& id);
void let_first_polls_in(self_ptr self);

/// Starts the next MAILBOXes of the process's start (each polls when its turn comes),
/// a few hundred at a time: each one spawned waits in a scheduler thread's queue until
/// it runs, and CAF's scheduler steals from the far end of such a queue by walking it
/// (100,000 spawned in one go made the other thread spend most of a minute stealing,
/// docs/benchmarks.md#idle-scale). The rest follows a moment later, after these ran.
void start_some(self_ptr self) {
  auto& st = self->state;
  if (st.stopping) return;
  for (std::size_t n = 0; n < registry_state::actors_at_once && !st.to_start.empty();
       ++n) {
    start_mailbox(self, st.to_start.front(), true);
    st.to_start.pop_front();
  }
  let_first_polls_in(self);
  if (!st.to_start.empty())
    self->delayed_send(self, std::chrono::milliseconds{1}, atom::internal_v,
                       atom::resume_v);
}

/// Gives the first polls whose turn it is their go (see start_window).
void let_first_polls_in(self_ptr self) {
  auto& st = self->state;
  while (!st.stopping) {
    auto ids = st.first_polls.admit();
    if (ids.empty()) return;
    for (auto& id : ids) {
      auto rt = st.runtime.find(id);
      if (rt == st.runtime.end() || !rt->second.actor) { // gone before its turn
        st.first_polls.done(id);
        continue;
      }
      // No timeout: the answer comes once the poll heard from Graph, and a MAILBOX
      // that ends first gives its place back (on_mailbox_down).
      self->request(rt->second.actor, caf::infinite, atom::poll_v)
          .then([=](bool) { first_poll_done(self, id); },
                [=](const caf::error&) { first_poll_done(self, id); });
    }
  }
}

/// The mailbox's first poll is over (or will not come): the next one's turn.
void first_poll_done(self_ptr self, const std::string& id) {
  if (self->state.first_polls.done(id)) let_first_polls_in(self);
}

/// Tells a MAILBOX to stop, with an exit message that names the MAILBOX as its source
/// (as caf::anon_send_exit does, which takes no caf::error). Its receiver unlinks from
/// the source, searching the source's attachments: the REGISTRY's hold a monitor of
/// each MAILBOX, so N stops sent by the REGISTRY would cost N^2 (minutes at 100,000).
void stop_now(const mailbox_actor& mailbox, const caf::error& reason) {
  mailbox->enqueue(nullptr, caf::make_message_id(),
                   caf::make_message(caf::exit_msg{mailbox.address(), reason}), nullptr);
}

/// Tells the next MAILBOXes to stop, a few hundred at a time (as start_some).
void stop_some(self_ptr self) {
  auto& st = self->state;
  for (std::size_t n = 0; n < registry_state::actors_at_once && !st.to_stop.empty();
       ++n) {
    stop_now(st.to_stop.back(), st.stop_reason);
    st.to_stop.pop_back();
  }
  if (!st.to_stop.empty())
    self->delayed_send(self, std::chrono::milliseconds{1}, atom::internal_v,
                       atom::resume_v);
}

/// Stops the MAILBOX; it stays known until it is down, and no replacement starts
/// before that.
void stop_mailbox(self_ptr self, const std::string& id) {
  auto& st = self->state;
  auto rt = st.runtime.find(id);
  if (rt == st.runtime.end() || !rt->second.actor) return;
  stop_now(rt->second.actor, caf::exit_reason::user_shutdown);
  rt->second.stopping = std::move(rt->second.actor);
  rt->second.actor = nullptr;
  rt->second.start_when_down = false;
}

void on_mailbox_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto i = st.by_actor.find(dm.source);
  if (i == st.by_actor.end()) return;
  auto id = i->second;
  st.by_actor.erase(i);
  first_poll_done(self, id); // its place, if it held or waited for one
  if (st.stopping) {
    if (st.by_actor.empty()) self->quit(st.stop_reason);
    return;
  }
  auto found = st.runtime.find(id);
  if (found == st.runtime.end()) return; // deleted
  auto& rt = found->second;
  if (rt.stopping && rt.stopping.address() == dm.source) {
    rt.stopping = nullptr;
    if (rt.start_when_down) {
      rt.start_when_down = false;
      start_mailbox(self, id);
    }
    return;
  }
  rt.actor = nullptr;
  if (!dm.reason || dm.reason == caf::exit_reason::user_shutdown) return;
  spdlog::error("registry: mailbox {} failed: {}", log_name(self, id), render(dm.reason));
  st.stores.metrics->add("exconnect_actor_restarts_total", {{"kind", "mailbox"}});
  ++rt.restarts;
  if (self->clock().now() - rt.started > std::chrono::seconds{60}) rt.failures = 0;
  auto delay = std::min(std::chrono::milliseconds{100 << std::min(rt.failures, 9u)},
                        std::chrono::milliseconds{60'000});
  ++rt.failures;
  self->delayed_send(self, delay, atom::internal_v, atom::restart_v, id);
}

// --- sign-in --------------------------------------------------------------------------

/// Notes a sign-in link asked for by `mb`'s account for its address, if the mailbox was
/// never connected; an error if the account has asked for as many in the last hour as
/// it may. A link holds the address until it expires, so this bounds how long an
/// account can hold an address it does not own: sign_in_attempts links per hour.
caf::error note_link(self_ptr self, const std::string& key, const std::string& what);

caf::error note_sign_in(self_ptr self, const storage::mailbox_record& mb) {
  if (mb.status != storage::mailbox_status::pending_authorization) return {};
  return note_link(self, mb.account_id + "\n" + net::to_lower(mb.address),
                   "sign-in links for " + mb.address);
}

/// Notes a link (sign-in or admin consent) under `key` ("account\nwhat"); an error if
/// as many were asked for in the last hour as cfg.sign_in_attempts allows.
caf::error note_link(self_ptr self, const std::string& key, const std::string& what) {
  auto& st = self->state;
  constexpr auto hour = std::chrono::hours{1};
  auto t = self->clock().now();
  auto aged = [&](const std::deque<caf::actor_clock::time_point>& q) {
    return q.empty() || t - q.back() >= hour;
  };
  // Forget addresses without a recent link now and then (amortised: when the map has
  // doubled since the last sweep), so the map stays as large as the last hour's use.
  if (st.sign_ins.size() >= 2 * st.sign_ins_swept + 1024) {
    for (auto i = st.sign_ins.begin(); i != st.sign_ins.end();)
      i = aged(i->second) ? st.sign_ins.erase(i) : std::next(i);
    st.sign_ins_swept = st.sign_ins.size();
  }
  auto& q = st.sign_ins[key];
  while (!q.empty() && t - q.front() >= hour)
    q.pop_front();
  if (q.size() >= st.cfg.sign_in_attempts) {
    auto wait = std::chrono::duration_cast<std::chrono::seconds>(q.front() + hour - t);
    return make_error(ec::too_many_sign_ins,
                      "this account asked for " + std::to_string(q.size()) + " " + what +
                          " within the last hour, the most allowed; try again in " +
                          std::to_string(std::max<long long>(1, wait.count())) + " s");
  }
  q.push_back(t);
  return {};
}

/// An error if the account already has as many mailboxes waiting for their first
/// sign-in as it may.
caf::error check_pending_cap(self_ptr self, const std::string& account) {
  const auto& st = self->state;
  std::uint32_t pending = 0;
  for (const auto& id : mailboxes_of(self, account))
    if (st.mailboxes.at(id).status == storage::mailbox_status::pending_authorization)
      ++pending;
  if (pending < st.cfg.max_pending) return {};
  return make_error(ec::too_many_pending,
                    "this account has " + std::to_string(pending) +
                        " mailboxes waiting for their first sign-in, the most allowed; "
                        "finish or delete some first");
}

std::string redirect_uri(self_ptr self) {
  return self->state.cfg.public_url + "/oauth/callback";
}

/// A fresh state and PKCE pair for the mailbox, staged in `changes`; the authorize URL
/// to send the browser to.
caf::expected<std::string> begin_authorization(self_ptr self, storage::mailbox_record& mb,
                                               storage::batch& changes) {
  auto& st = self->state;
  auto state = storage::random_token(32);
  auto hash = storage::token_hash(state);
  auto verifier = net::make_code_verifier();
  auto sealed = st.stores.vault->seal(storage::oauth_state_key(hash), verifier);
  if (!sealed) {
    spdlog::error("registry: cannot seal a PKCE verifier: {}", render(sealed.error()));
    return make_error(ec::crypto_failure, "cannot start the sign-in");
  }
  if (!mb.state_hash.empty())
    changes.erase(storage::family::meta, storage::oauth_state_key(mb.state_hash));
  storage::oauth_state_record rec;
  rec.account_id = mb.account_id;
  rec.mailbox_id = mb.id;
  rec.sealed_verifier = *sealed;
  auto expires = st.wall_base +
                 std::chrono::duration_cast<std::chrono::system_clock::duration>(
                     self->clock().now() - st.clock_base) +
                 st.cfg.state_lifetime;
  rec.expires_at = net::format_rfc3339(expires);
  changes.put(storage::family::meta, storage::oauth_state_key(hash),
              storage::to_json(rec).dump());
  mb.state_hash = hash;
  mb.state_expires_at = rec.expires_at;
  return st.cfg.authorize_url + "?" +
         net::encode_query({{"client_id", st.cfg.client_id},
                            {"response_type", "code"},
                            {"redirect_uri", redirect_uri(self)},
                            {"response_mode", "query"},
                            {"scope", st.cfg.scope},
                            {"state", state},
                            {"code_challenge", net::code_challenge_s256(verifier)},
                            {"code_challenge_method", "S256"},
                            {"login_hint", mb.address}});
}

/// What a token request's failure means to the caller, besides its own cases: the
/// app's credentials refused, or no answer.
caf::error login_failure(const caf::error& err) {
  if (is(err, ec::app_credentials_rejected))
    return make_error(ec::app_credentials_rejected,
                      "the login service refused the connector's own credentials: " +
                          context_of(err));
  return make_error(ec::token_unavailable,
                    "the login service did not answer: " + render(err));
}

/// Deletes a stored grant nobody will use.
void drop_grant(self_ptr self, const std::string& id) {
  self->request(service::get<token_service_actor>(self->system()),
                std::chrono::seconds{30}, atom::forget_v, id)
      .then([](bool) {},
            [=](const caf::error& err) {
              spdlog::error("registry: cannot drop the grant of mailbox {}: {}",
                            log_name(self, id), render(err));
            });
}

using entry_promise = caf::typed_response_promise<mailbox_entry>;

/// The last step: the grant is proven; store it and mark the mailbox connected.
void finish_connect(self_ptr self, const std::string& id, const token_grant& grant,
                    const std::string& graph_date, entry_promise rp) {
  self->request(service::get<token_service_actor>(self->system()),
                std::chrono::seconds{30}, atom::adopt_v, id, grant)
      .then(
          [=](bool) mutable {
            self->state.signing_in.erase(id);
            auto i = self->state.mailboxes.find(id);
            if (i == self->state.mailboxes.end()) {
              drop_grant(self, id);
              rp.deliver(
                  make_error(ec::mailbox_deleted, "the mailbox was deleted meanwhile"));
              return;
            }
            auto updated = i->second;
            std::optional<storage::mailbox_record> released;
            storage::batch changes;
            if (!address_free_for(self, updated, changes, released)) {
              drop_grant(self, id);
              rp.deliver(address_in_use(updated.address, " was connected meanwhile"));
              return;
            }
            if (updated.status != storage::mailbox_status::paused)
              updated.status = storage::mailbox_status::connected;
            if (updated.connected_at.empty()) updated.connected_at = graph_date;
            updated.last_error.reset();
            changes.put(storage::family::meta, storage::address_key(updated.address), id);
            stage_mailbox(self, changes, updated);
            commit(self, std::move(changes), [=](caf::error err) mutable {
              if (err) {
                rp.deliver(std::move(err));
                return;
              }
              auto i = self->state.mailboxes.find(id);
              if (i == self->state.mailboxes.end()) // not while the commit was awaited
              {
                rp.deliver(make_error(ec::mailbox_deleted, "deleted meanwhile"));
                return;
              }
              apply_release(self, released);
              self->state.addresses[net::to_lower(updated.address)] = id;
              self->state.stores.connected->add(updated.address);
              keep_mailbox(self, updated);
              update_gauges(self);
              spdlog::info("registry: mailbox {} connected", log_name(self, id));
              start_mailbox(self, id);
              rp.deliver(entry_of(self, i->second));
            });
          },
          [=](const caf::error& err) mutable {
            self->state.signing_in.erase(id);
            spdlog::error("registry: cannot store the grant of mailbox {}: {}",
                          log_name(self, id), render(err));
            rp.deliver(make_error(ec::storage_failure, "the grant could not be stored"));
          });
}

/// Proves that the grant opens the mailbox: GET its inbox with $top=1.
void check_grant(self_ptr self, const std::string& id, const token_grant& grant,
                 entry_promise rp) {
  auto i = self->state.mailboxes.find(id);
  if (i == self->state.mailboxes.end()) {
    self->state.signing_in.erase(id);
    rp.deliver(make_error(ec::mailbox_deleted, "the mailbox was deleted meanwhile"));
    return;
  }
  auto req = graph::inbox_probe(self->state.cfg.graph_url, grant.access_token,
                                i->second.address);
  auto fail = [self, id](entry_promise& rp, caf::error err) {
    self->state.signing_in.erase(id);
    rp.deliver(std::move(err));
  };
  self->request(service::get<http_actor>(self->system()), std::chrono::seconds{90},
                std::move(req))
      .then(
          [=](const net::client_response& res) mutable {
            if (!res.ok() || res.status == 429 || res.status >= 500)
              return fail(rp, make_error(ec::graph_failure,
                                         "Graph could not check the mailbox (" +
                                             (res.ok() ? std::to_string(res.status)
                                                       : res.error_message) +
                                             "); open the sign-in link again later"));
            if (res.status != 200) {
              auto e = graph::read_error(res);
              spdlog::warn("registry: the grant for mailbox {} does not open it: {} {}",
                           log_name(self, id), e.code, e.message);
              return fail(rp, make_error(ec::grant_refused,
                                         "the account that signed in cannot open this "
                                         "mailbox (" +
                                             e.code + ": " + e.message + ")"));
            }
            // "New mail" starts at the connection, on Microsoft's clock.
            auto date = net::parse_http_date(res.header("Date"));
            auto at =
                net::format_rfc3339(date ? *date : std::chrono::system_clock::now());
            finish_connect(self, id, grant, at, rp);
          },
          [=](const caf::error& err) mutable {
            fail(rp,
                 make_error(ec::graph_failure, "Graph did not answer: " + render(err)));
          });
}

/// The sign-in's state is used up: checks what came back, then redeems the code.
void redeem_code(self_ptr self, const sign_in_return& back,
                 const storage::oauth_state_record& rec, const std::string& hash,
                 entry_promise rp) {
  auto& st = self->state;
  auto fail = [&](caf::error err) { rp.deliver(std::move(err)); };
  auto mb = st.mailboxes.find(rec.mailbox_id);
  bool bound = mb != st.mailboxes.end() && mb->second.account_id == rec.account_id;
  if (rec.expires_at <= now(self))
    return fail(make_error(ec::sign_in_expired,
                           "this sign-in link has expired (after " +
                               std::to_string(st.cfg.state_lifetime.count()) +
                               " s); start again"));
  if (!bound)
    return fail(
        make_error(ec::sign_in_unknown, "the mailbox of this sign-in no longer exists"));
  if (!back.error.empty())
    return fail(make_error(
        ec::consent_refused,
        "Microsoft refused the sign-in: " +
            (back.error_description.empty() ? back.error : back.error_description)));
  if (back.code.empty())
    return fail(make_error(ec::invalid_argument, "the sign-in carries no code"));
  std::optional<storage::mailbox_record> released;
  storage::batch probe;
  if (!address_free_for(self, mb->second, probe, released))
    return fail(address_in_use(mb->second.address, " was connected meanwhile"));
  auto verifier =
      st.stores.vault->open(storage::oauth_state_key(hash), rec.sealed_verifier);
  if (!verifier)
    return fail(make_error(ec::crypto_failure, "cannot open the PKCE verifier"));
  auto id = rec.mailbox_id;
  // Until the sign-in ends, one way or the other, the mailbox keeps its address.
  st.signing_in.insert(id);
  self->request(service::get<token_service_actor>(self->system()),
                std::chrono::seconds{60}, atom::redeem_v, back.code, *verifier,
                redirect_uri(self))
      .then([=](const token_grant& grant) { check_grant(self, id, grant, rp); },
            [=](const caf::error& err) mutable {
              self->state.signing_in.erase(id);
              spdlog::warn("registry: code exchange for mailbox {} failed: {}",
                           log_name(self, id), render(err));
              if (is(err, ec::code_refused))
                rp.deliver(make_error(ec::code_refused,
                                      "Microsoft refused the code: " + context_of(err)));
              else
                rp.deliver(login_failure(err));
            });
}

/// The browser is back from Microsoft: the state is used up at once (single use);
/// then the code is redeemed, the grant proven and the mailbox connected.
caf::result<mailbox_entry> finish_sign_in(self_ptr self, const sign_in_return& back) {
  auto& st = self->state;
  auto hash = storage::token_hash(back.state);
  auto stored = st.stores.db->get(storage::family::meta, storage::oauth_state_key(hash));
  if (!stored) return make_error(ec::storage_failure, "cannot read the sign-in state");
  auto rec = *stored ? storage::oauth_state_from_json(**stored) : std::nullopt;
  if (!rec || rec->mailbox_id.empty()) // none, or an administrator's consent link
    return make_error(ec::sign_in_unknown,
                      "this sign-in link is unknown or was already used; start again");
  storage::batch changes;
  changes.erase(storage::family::meta, storage::oauth_state_key(hash));
  auto mb = st.mailboxes.find(rec->mailbox_id);
  std::optional<storage::mailbox_record> updated;
  if (mb != st.mailboxes.end() && mb->second.account_id == rec->account_id &&
      mb->second.state_hash == hash) {
    updated = mb->second;
    updated->state_hash.clear();
    updated->state_expires_at.clear();
    stage_mailbox(self, changes, *updated);
  }
  auto rp = self->make_response_promise<mailbox_entry>();
  commit(self, std::move(changes), [=](caf::error err) mutable {
    if (err) {
      rp.deliver(std::move(err));
      return;
    }
    auto i = self->state.mailboxes.find(rec->mailbox_id);
    if (updated && i != self->state.mailboxes.end()) keep_mailbox(self, *updated);
    redeem_code(self, back, *rec, hash, rp);
  });
  return rp;
}

// --- the mailbox operations ----------------------------------------------------------

caf::result<mailbox_entry> connect_mailbox(self_ptr self, storage::mailbox_record mb) {
  mb.id = "mbx_" + storage::random_token(12);
  mb.status = storage::mailbox_status::pending_authorization;
  mb.created_at = now(self);
  storage::batch changes;
  std::optional<storage::mailbox_record> released;
  if (!address_free_for(self, mb, changes, released))
    return address_in_use(mb.address, " is already connected or being connected");
  if (auto err = check_pending_cap(self, mb.account_id)) return err;
  if (auto err = note_sign_in(self, mb)) return err;
  auto url = begin_authorization(self, mb, changes);
  if (!url) return url.error();
  changes.put(storage::family::meta, storage::address_key(mb.address), mb.id);
  stage_mailbox(self, changes, mb);
  return commit_and_answer<mailbox_entry>(
      self, std::move(changes), [=, url = std::move(*url)] {
        auto& st = self->state;
        apply_release(self, released);
        st.addresses[net::to_lower(mb.address)] = mb.id;
        auto out = entry_of(self, mb);
        out.authorize_url = url;
        keep_mailbox(self, mb);
        update_gauges(self);
        return out;
      });
}

caf::result<std::string> reauthorize(self_ptr self, const std::string& account,
                                     const std::string& id) {
  auto* mb = find_mailbox(self, account, id);
  if (!mb) return no_such_mailbox();
  if (!mb->tenant_id.empty())
    return make_error(ec::invalid_state,
                      "this mailbox is connected through the administrator consent of "
                      "tenant " +
                          mb->tenant_id +
                          " and needs no sign-in; if that consent is gone, an "
                          "administrator of the tenant consents again");
  auto updated = *mb;
  storage::batch changes;
  std::optional<storage::mailbox_record> released;
  if (!address_free_for(self, updated, changes, released))
    return address_in_use(updated.address, " is already connected or being connected");
  if (auto err = note_sign_in(self, updated)) return err;
  auto url = begin_authorization(self, updated, changes);
  if (!url) return url.error();
  changes.put(storage::family::meta, storage::address_key(updated.address), updated.id);
  stage_mailbox(self, changes, updated);
  return commit_and_answer<std::string>(
      self, std::move(changes), [=, url = std::move(*url)] {
        apply_release(self, released);
        self->state.addresses[net::to_lower(updated.address)] = updated.id;
        keep_mailbox(self, updated);
        return url;
      });
}

/// Stores the mailbox's new status, then answers with its entry; `then` runs once it
/// is stored (it starts or stops the MAILBOX).
template <class Then>
caf::result<mailbox_entry> set_status(self_ptr self, const storage::mailbox_record& mb,
                                      storage::mailbox_status status, Then then) {
  auto updated = mb;
  updated.status = status;
  storage::batch changes;
  stage_mailbox(self, changes, updated);
  return commit_and_answer<mailbox_entry>(self, std::move(changes), [=] {
    keep_mailbox(self, updated);
    update_gauges(self);
    then();
    return entry_of(self, updated);
  });
}

caf::result<mailbox_entry> pause(self_ptr self, const std::string& account,
                                 const std::string& id) {
  auto* mb = find_mailbox(self, account, id);
  if (!mb) return no_such_mailbox();
  if (mb->status == storage::mailbox_status::pending_authorization)
    return make_error(ec::invalid_state, "a mailbox is paused once it is connected");
  // It does not poll anyway; pausing it would let resume skip the new consent.
  if (mb->status == storage::mailbox_status::reauthorization_required)
    return make_error(ec::invalid_state, "this mailbox needs a new consent (reauthorize) "
                                         "before it can be paused or resumed");
  if (mb->status == storage::mailbox_status::paused) return entry_of(self, *mb);
  return set_status(self, *mb, storage::mailbox_status::paused,
                    [=] { stop_mailbox(self, id); });
}

caf::result<mailbox_entry> resume(self_ptr self, const std::string& account,
                                  const std::string& id) {
  auto* mb = find_mailbox(self, account, id);
  if (!mb) return no_such_mailbox();
  if (mb->status != storage::mailbox_status::paused && !storage::polls(mb->status))
    return make_error(ec::invalid_state, std::string{"a mailbox in status "} +
                                             to_string(mb->status) +
                                             " needs a new consent (reauthorize)");
  if (mb->status == storage::mailbox_status::paused)
    return set_status(self, *mb, storage::mailbox_status::connected,
                      [=] { start_mailbox(self, id); });
  start_mailbox(self, id);
  return entry_of(self, *mb);
}

/// Deletes the mailbox's grant, then its records, and answers.
void forget_and_remove(self_ptr self, const std::string& id,
                       caf::typed_response_promise<bool> rp) {
  // The grant goes first: a mailbox record without credentials is harmless, the
  // reverse would leave a refresh token nobody can delete through the API.
  self->request(service::get<token_service_actor>(self->system()),
                std::chrono::seconds{30}, atom::forget_v, id)
      .then(
          [=](bool) mutable {
            auto& st = self->state;
            auto i = st.mailboxes.find(id);
            if (i == st.mailboxes.end()) {
              rp.deliver(true);
              return;
            }
            storage::batch changes;
            changes.erase(storage::family::mailboxes, id);
            st.stored_status.erase(id);
            auto held = st.addresses.find(net::to_lower(i->second.address));
            bool holds = held != st.addresses.end() && held->second == id;
            if (holds)
              changes.erase(storage::family::meta,
                            storage::address_key(i->second.address));
            if (!i->second.state_hash.empty())
              changes.erase(storage::family::meta,
                            storage::oauth_state_key(i->second.state_hash));
            commit(self, std::move(changes), [=](caf::error err) mutable {
              if (err) {
                rp.deliver(std::move(err));
                return;
              }
              auto& st = self->state;
              auto i = st.mailboxes.find(id);
              if (i != st.mailboxes.end()) {
                auto held = st.addresses.find(net::to_lower(i->second.address));
                if (held != st.addresses.end() && held->second == id)
                  st.addresses.erase(held);
                if (!i->second.connected_at.empty())
                  st.stores.connected->remove(i->second.address);
                forget_mailbox(self, i);
              }
              // A MAILBOX still stopping is forgotten: nothing replaces it.
              st.runtime.erase(id);
              update_gauges(self);
              rp.deliver(true);
            });
          },
          [=](const caf::error& err) mutable {
            spdlog::error("registry: cannot delete the grant of mailbox {}: {}",
                          log_name(self, id), render(err));
            rp.deliver(make_error(ec::storage_failure,
                                  "the mailbox's credentials could not be deleted"));
          });
}

/// Ends the mailbox's change-notification subscription at Graph while its grant still
/// opens it, then runs `next`. Best effort and brief: one that is left lapses at its
/// expiry, and its notifications are answered 404.
template <class Next>
void end_subscription(self_ptr self, const storage::mailbox_record& mb, Next next) {
  auto& st = self->state;
  auto push = st.stores.helpdesk ? st.stores.helpdesk->push(mb.id)
                                 : caf::expected<push_state>{push_state{}};
  if (!push || push->subscription_id.empty()) return next();
  auto key = mb.tenant_id.empty() ? mb.id : tenant_token_key(mb.tenant_id);
  auto subscription = push->subscription_id;
  auto gone = [=](const std::string& how) {
    spdlog::info("registry: mailbox {}: subscription {} {}", log_name(self, mb.id),
                 subscription, how);
  };
  self->request(service::get<token_service_actor>(self->system()),
                std::chrono::seconds{10}, atom::token_v, key)
      .then(
          [=](const std::string& token) mutable {
            self->request(service::get<http_actor>(self->system()),
                          std::chrono::seconds{15},
                          graph::delete_subscription(self->state.cfg.graph_url, token,
                                                     subscription))
                .then(
                    [=](const net::client_response& res) mutable {
                      gone(res.ok() ? "deleted at Graph: " + std::to_string(res.status)
                                    : "not deleted: " + res.error_message);
                      next();
                    },
                    [=](const caf::error& err) mutable {
                      gone("not deleted: " + render(err));
                      next();
                    });
          },
          [=](const caf::error& err) mutable {
            gone("not deleted (no token): " + render(err));
            next();
          });
}

caf::result<bool> remove(self_ptr self, const std::string& account,
                         const std::string& id) {
  auto* found = find_mailbox(self, account, id);
  if (!found) return no_such_mailbox();
  stop_mailbox(self, id);
  auto rp = self->make_response_promise<bool>();
  end_subscription(self, *found, [=]() mutable { forget_and_remove(self, id, rp); });
  return rp;
}

// --- reports from the MAILBOXes and the TOKEN SERVICE --------------------------------

void on_polled(self_ptr self, const std::string& id, const poll_result& r) {
  auto i = self->state.mailboxes.find(id);
  if (i == self->state.mailboxes.end()) return;
  auto& mb = i->second;
  auto& rt = self->state.runtime[id];
  rt.restarts += r.restarts;
  if (r.ok) {
    rt.last_poll_at = r.at;
    const auto& f = r.failed_message;
    // A message that failed does not stop the mailbox: it stays connected, and the
    // error shows until a poll goes by without one.
    std::optional<storage::error_record> error;
    if (!f.step.empty()) error = storage::error_record{f.code, f.message, f.at, f.step};
    bool same = error && mb.last_error && mb.last_error->code == error->code &&
                mb.last_error->step == error->step;
    if (mb.status == storage::mailbox_status::error ||
        (mb.last_error.has_value() != error.has_value()) || (error && !same)) {
      if (mb.status == storage::mailbox_status::error) {
        count_status(self, mb.status, storage::mailbox_status::connected);
        mb.status = storage::mailbox_status::connected;
      }
      mb.last_error = std::move(error);
      save_status(self, mb);
    }
    return;
  }
  if (r.grant_gone || r.code == "app_credentials_rejected") return;
  bool persistent = r.code == "ErrorAccessDenied" || r.code == "ErrorInvalidUser" ||
                    r.code == "MailboxNotEnabledForRESTAPI";
  auto status = persistent && mb.status == storage::mailbox_status::connected
                    ? storage::mailbox_status::error
                    : mb.status;
  // A failing mailbox fails on every poll: write only when something changes, keeping
  // the time the error began.
  if (mb.last_error && mb.last_error->code == r.code &&
      mb.last_error->message == r.message && mb.status == status)
    return;
  mb.last_error = storage::error_record{r.code, r.message, r.at, r.step};
  count_status(self, mb.status, status);
  mb.status = status;
  save_status(self, mb);
}

void on_grant_gone(self_ptr self, const std::string& id, const std::string& reason) {
  auto i = self->state.mailboxes.find(id);
  if (i == self->state.mailboxes.end()) return;
  auto& mb = i->second;
  stop_mailbox(self, id);
  if (mb.status == storage::mailbox_status::reauthorization_required ||
      mb.status == storage::mailbox_status::pending_authorization)
    return;
  spdlog::warn("registry: mailbox {} needs a new consent: {}", log_name(self, id),
               reason);
  // Even a paused mailbox: resume must not skip the new consent.
  mb.last_error =
      storage::error_record{"reauthorization_required", reason, now(self), "token"};
  count_status(self, mb.status, storage::mailbox_status::reauthorization_required);
  mb.status = storage::mailbox_status::reauthorization_required;
  save_status(self, mb);
}

// --- tenants: an administrator's consent for a whole Microsoft tenant ----------------

/// Delivers to a promise (a `return answer(...)` ends the handler).
template <class Promise, class T>
void answer(Promise& rp, T&& x) {
  rp.deliver(std::forward<T>(x));
}

std::string admin_consent_redirect(self_ptr self) {
  return self->state.cfg.public_url + "/oauth/admin-consent";
}

/// A tenant id as Microsoft sends it (a GUID), lower case; "" if it is none.
std::string tenant_id_of(const std::string& text) {
  auto id = net::to_lower(text);
  return plausible_tenant_id(id) ? id : std::string{};
}

/// The account's tenant; nullptr if there is none or another account holds it.
storage::tenant_record* find_tenant(self_ptr self, const std::string& account,
                                    const std::string& tenant) {
  auto i = self->state.tenants.find(tenant_id_of(tenant));
  if (i == self->state.tenants.end() || i->second.account_id != account) return nullptr;
  return &i->second;
}

void stage_tenant(storage::batch& changes, const storage::tenant_record& t) {
  changes.put(storage::family::accounts, storage::tenant_key(t.tenant_id),
              storage::to_json(t).dump());
}

/// A link for an administrator to consent for the whole tenant: a fresh single-use
/// state bound to the account (no PKCE: the consent returns no code).
caf::result<std::string> begin_admin_consent(self_ptr self, const std::string& account) {
  auto& st = self->state;
  if (auto err = note_link(self, account + "\nadmin consent", "admin consent links"))
    return err;
  auto state = storage::random_token(32);
  storage::oauth_state_record rec;
  rec.account_id = account;
  rec.expires_at =
      net::format_rfc3339(st.wall_base +
                          std::chrono::duration_cast<std::chrono::system_clock::duration>(
                              self->clock().now() - st.clock_base) +
                          st.cfg.state_lifetime);
  storage::batch changes;
  changes.put(storage::family::meta, storage::oauth_state_key(storage::token_hash(state)),
              storage::to_json(rec).dump());
  auto url = st.cfg.admin_consent_url + "?" +
             net::encode_query({{"client_id", st.cfg.client_id},
                                {"redirect_uri", admin_consent_redirect(self)},
                                {"state", state}});
  return commit_and_answer<std::string>(self, std::move(changes), [url] { return url; });
}

/// The tenant's consent is back: its mailboxes that lost it poll again.
void resume_tenant_mailboxes(self_ptr self, const storage::tenant_record& t) {
  auto& st = self->state;
  for (const auto& id : mailboxes_of(self, t.account_id)) {
    auto& mb = st.mailboxes.at(id);
    if (mb.tenant_id != t.tenant_id || !mb.last_error ||
        mb.last_error->code != "reauthorization_required")
      continue;
    if (mb.status == storage::mailbox_status::reauthorization_required) {
      count_status(self, mb.status, storage::mailbox_status::connected);
      mb.status = storage::mailbox_status::connected;
    }
    mb.last_error.reset();
    save_status(self, mb);
    start_mailbox(self, id);
  }
}

/// The tenant's consent is proven (the login service issued its app token): stores it
/// as the account's.
void keep_consent(self_ptr self, const std::string& account, const std::string& tenant,
                  caf::typed_response_promise<storage::tenant_record> rp) {
  auto& st = self->state;
  auto held = st.tenants.find(tenant);
  if (held != st.tenants.end() && held->second.account_id != account)
    return answer(rp,
                  make_error(ec::tenant_in_use,
                             "tenant " + tenant + " is connected to another account"));
  storage::tenant_record t;
  t.tenant_id = tenant;
  t.account_id = account;
  t.consented = true;
  t.consented_at = now(self);
  storage::batch changes;
  stage_tenant(changes, t);
  commit(self, std::move(changes), [=](caf::error err) mutable {
    if (err) return answer(rp, std::move(err));
    self->state.tenants[tenant] = t;
    update_tenant_gauges(self);
    spdlog::info("registry: tenant {} consented for account {}", tenant, account);
    resume_tenant_mailboxes(self, t);
    rp.deliver(t);
  });
}

/// The browser is back from the admin consent: the state is used up at once; then the
/// login service must issue the app's token for that tenant before it counts.
caf::result<storage::tenant_record>
finish_admin_consent(self_ptr self, const admin_consent_return& back) {
  auto& st = self->state;
  auto hash = storage::token_hash(back.state);
  auto stored = st.stores.db->get(storage::family::meta, storage::oauth_state_key(hash));
  if (!stored) return make_error(ec::storage_failure, "cannot read the consent state");
  auto rec = *stored ? storage::oauth_state_from_json(**stored) : std::nullopt;
  if (!rec || !rec->mailbox_id.empty()) // none, or a mailbox's sign-in link
    return make_error(ec::sign_in_unknown,
                      "this consent link is unknown or was already used; start again");
  storage::batch changes;
  changes.erase(storage::family::meta, storage::oauth_state_key(hash));
  using tenant_promise = caf::typed_response_promise<storage::tenant_record>;
  auto rp = self->make_response_promise<storage::tenant_record>();
  commit(self, std::move(changes), [=](caf::error err) mutable {
    if (err) return answer(rp, std::move(err));
    auto& st = self->state;
    if (rec->expires_at <= now(self))
      return answer(rp, make_error(ec::sign_in_expired,
                                   "this consent link has expired (after " +
                                       std::to_string(st.cfg.state_lifetime.count()) +
                                       " s); start again"));
    if (!back.error.empty() || !net::iequals(back.admin_consent, "true"))
      return answer(rp,
                    make_error(ec::consent_refused,
                               "the administrator did not consent: " +
                                   (back.error_description.empty()
                                        ? (back.error.empty()
                                               ? std::string{"admin_consent is not True"}
                                               : back.error)
                                        : back.error_description)));
    auto tenant = tenant_id_of(back.tenant);
    if (tenant.empty())
      return answer(rp, make_error(ec::invalid_argument,
                                   "the consent names no tenant id (a GUID)"));
    auto held = st.tenants.find(tenant);
    if (held != st.tenants.end() && held->second.account_id != rec->account_id)
      return answer(rp,
                    make_error(ec::tenant_in_use,
                               "tenant " + tenant + " is connected to another account"));
    auto tokens = service::get<token_service_actor>(self->system());
    auto key = tenant_token_key(tenant);
    auto account = rec->account_id;
    auto ask_token = [=](tenant_promise rp) mutable {
      self->request(tokens, std::chrono::seconds{60}, atom::token_v, key)
          .then(
              [=](const std::string&) mutable {
                keep_consent(self, account, tenant, rp);
              },
              [=](const caf::error& err) mutable {
                spdlog::warn("registry: no app token for tenant {}: {}", tenant,
                             render(err));
                if (is(err, ec::reauthorization_required))
                  rp.deliver(make_error(
                      ec::consent_refused,
                      "the login service issues no token of the app for tenant " +
                          tenant + ": " + context_of(err)));
                else
                  rp.deliver(login_failure(err));
              });
    };
    // A consent that was lost stays lost at the TOKEN SERVICE until it forgets it.
    if (held == st.tenants.end() || !held->second.consented) {
      self->request(tokens, std::chrono::seconds{30}, atom::forget_v, key)
          .then([=](bool) mutable { ask_token(rp); },
                [=](const caf::error& err) mutable { rp.deliver(err); });
      return;
    }
    ask_token(rp);
  });
  return rp;
}

/// The TOKEN SERVICE says the tenant's consent is gone: the tenant and its mailboxes
/// show it, and they stop until an administrator consents again.
void on_consent_gone(self_ptr self, const std::string& tenant,
                     const std::string& reason) {
  auto& st = self->state;
  auto i = st.tenants.find(tenant);
  if (i == st.tenants.end()) return;
  auto& t = i->second;
  if (t.consented) {
    spdlog::warn("registry: tenant {} lost its consent: {}", tenant, reason);
    t.consented = false;
    t.last_error = storage::error_record{"consent_lost", reason, now(self), "token"};
    update_tenant_gauges(self);
    storage::batch changes;
    stage_tenant(changes, t);
    storage_requests::commit_or_log(self, std::move(changes), "registry",
                                    "the lost consent of tenant " + tenant);
  }
  auto why = reason + "; an administrator of tenant " + tenant + " consents again";
  std::vector<std::string> affected;
  for (const auto& id : mailboxes_of(self, t.account_id))
    if (st.mailboxes.at(id).tenant_id == tenant) affected.push_back(id);
  for (const auto& id : affected)
    on_grant_gone(self, id, why);
}

caf::result<bool> remove_tenant(self_ptr self, const std::string& account,
                                const std::string& tenant) {
  auto* t = find_tenant(self, account, tenant);
  if (!t) return make_error(ec::not_found, "no such tenant");
  std::size_t users = 0;
  for (const auto& id : mailboxes_of(self, account))
    if (self->state.mailboxes.at(id).tenant_id == t->tenant_id) ++users;
  if (users > 0)
    return make_error(ec::invalid_state, std::to_string(users) +
                                             " mailboxes of this account use the "
                                             "tenant's consent; delete them first");
  auto id = t->tenant_id;
  storage::batch changes;
  changes.erase(storage::family::accounts, storage::tenant_key(id));
  auto rp = self->make_response_promise<bool>();
  commit(self, std::move(changes), [=](caf::error err) mutable {
    if (err) return answer(rp, std::move(err));
    self->state.tenants.erase(id);
    update_tenant_gauges(self);
    // Its tokens are of no use any more.
    self->request(service::get<token_service_actor>(self->system()),
                  std::chrono::seconds{30}, atom::forget_v, tenant_token_key(id))
        .then([](bool) {},
              [id](const caf::error& err) {
                spdlog::warn("registry: cannot drop the tokens of tenant {}: {}", id,
                             render(err));
              });
    rp.deliver(true);
  });
  return rp;
}

using entry_promise_t = caf::typed_response_promise<mailbox_entry>;

/// Stores a mailbox added through its tenant's consent (connected, or in status error
/// with what Graph said) and starts it.
void add_tenant_mailbox(self_ptr self, storage::mailbox_record mb, storage::batch changes,
                        std::optional<storage::mailbox_record> released,
                        entry_promise_t rp) {
  auto lower = net::to_lower(mb.address);
  changes.put(storage::family::meta, storage::address_key(mb.address), mb.id);
  stage_mailbox(self, changes, mb);
  commit(self, std::move(changes), [=](caf::error err) mutable {
    auto& st = self->state;
    st.claiming.erase(lower);
    if (err) return answer(rp, std::move(err));
    apply_release(self, released);
    st.addresses[lower] = mb.id;
    st.stores.connected->add(mb.address);
    keep_mailbox(self, mb);
    update_gauges(self);
    spdlog::info("registry: mailbox {} added through tenant {} ({})",
                 log_name(self, mb.id), mb.tenant_id, to_string(mb.status));
    start_mailbox(self, mb.id);
    rp.deliver(entry_of(self, st.mailboxes.at(mb.id)));
  });
}

/// Adds a mailbox of one of the account's consented tenants: Graph is asked at once
/// whether the tenant's app token opens it (an ApplicationAccessPolicy may keep the
/// app out); no sign-in.
caf::result<mailbox_entry> connect_tenant_mailbox(self_ptr self,
                                                  storage::mailbox_record mb) {
  auto* t = find_tenant(self, mb.account_id, mb.tenant_id);
  if (!t)
    return make_error(ec::invalid_argument,
                      "tenant_id: this account has no tenant " + mb.tenant_id +
                          " (an administrator of the tenant consents first)");
  if (!t->consented)
    return make_error(ec::invalid_state,
                      "the administrator consent of tenant " + t->tenant_id +
                          " is gone; an administrator of the tenant consents again");
  mb.tenant_id = t->tenant_id;
  mb.id = "mbx_" + storage::random_token(12);
  mb.created_at = now(self);
  // Checked again once Graph answered (a pending mailbox may give the address up then,
  // stored with this one).
  storage::batch unused;
  std::optional<storage::mailbox_record> unused_release;
  if (!address_free_for(self, mb, unused, unused_release))
    return address_in_use(mb.address, " is already connected or being connected");
  auto lower = net::to_lower(mb.address);
  self->state.claiming.insert(lower);
  auto rp = self->make_response_promise<mailbox_entry>();
  auto fail = [=](entry_promise_t& rp, caf::error err) {
    self->state.claiming.erase(lower);
    rp.deliver(std::move(err));
  };
  auto key = tenant_token_key(mb.tenant_id);
  self->request(service::get<token_service_actor>(self->system()),
                std::chrono::seconds{60}, atom::token_v, key)
      .then(
          [=](const std::string& token) mutable {
            auto req = graph::inbox_probe(self->state.cfg.graph_url, token, mb.address);
            self->request(service::get<http_actor>(self->system()),
                          std::chrono::seconds{90}, std::move(req))
                .then(
                    [=](const net::client_response& res) mutable {
                      if (!res.ok() || res.status == 429 || res.status >= 500)
                        return fail(rp,
                                    make_error(ec::graph_failure,
                                               "Graph could not check the mailbox (" +
                                                   (res.ok() ? std::to_string(res.status)
                                                             : res.error_message) +
                                                   "); try again later"));
                      auto date = net::parse_http_date(res.header("Date"));
                      auto added = mb;
                      added.connected_at = net::format_rfc3339(
                          date ? *date : std::chrono::system_clock::now());
                      added.status = storage::mailbox_status::connected;
                      if (res.status != 200) {
                        // Kept, and polled: it connects once the administrator lets
                        // the app in.
                        auto e = graph::read_error(res);
                        added.status = storage::mailbox_status::error;
                        added.last_error = storage::error_record{
                            e.code,
                            "the tenant's consent does not open this mailbox (" +
                                e.message +
                                "); an Exchange administrator may have limited the app "
                                "to other mailboxes (ApplicationAccessPolicy)",
                            now(self), "authorization"};
                      }
                      storage::batch changes;
                      std::optional<storage::mailbox_record> released;
                      self->state.claiming.erase(lower);
                      bool free = address_free_for(self, added, changes, released);
                      self->state.claiming.insert(lower);
                      if (!free)
                        return fail(rp, address_in_use(added.address,
                                                       " was connected meanwhile"));
                      add_tenant_mailbox(self, added, std::move(changes),
                                         std::move(released), rp);
                    },
                    [=](const caf::error& err) mutable {
                      fail(rp, make_error(ec::graph_failure,
                                          "Graph did not answer: " + render(err)));
                    });
          },
          [=](const caf::error& err) mutable {
            if (is(err, ec::reauthorization_required))
              return fail(rp,
                          make_error(ec::invalid_state,
                                     "the administrator consent of tenant " +
                                         mb.tenant_id + " is gone (" + context_of(err) +
                                         "); an administrator consents again"));
            fail(rp, login_failure(err));
          });
  return rp;
}

/// Loads accounts, API key hashes, mailboxes and address holders from storage.
caf::error load(self_ptr self) {
  auto& st = self->state;
  auto* db = st.stores.db;
  auto err = db->scan(storage::family::accounts, storage::account_prefix,
                      [&](std::string_view, std::string_view value) {
                        if (auto a = storage::account_from_json(std::string{value})) {
                          for (const auto& h : a->api_key_hashes)
                            st.api_keys[h] = a->id;
                          st.accounts[a->id] = std::move(*a);
                        }
                        return true;
                      });
  if (err) return err;
  std::vector<std::string> connected;
  err = db->scan(storage::family::mailboxes, "",
                 [&](std::string_view, std::string_view value) {
                   if (auto m = storage::mailbox_from_json(value)) {
                     if (!m->connected_at.empty()) connected.push_back(m->address);
                     keep_mailbox(self, std::move(*m));
                   }
                   return true;
                 });
  if (err) return err;
  st.stores.connected->add(connected);
  st.addresses.reserve(st.mailboxes.size());
  err = db->scan(storage::family::accounts, storage::tenant_prefix,
                 [&](std::string_view, std::string_view value) {
                   if (auto t = storage::tenant_from_json(std::string{value}))
                     st.tenants[t->tenant_id] = std::move(*t);
                   return true;
                 });
  if (err) return err;
  err = db->scan(storage::family::meta, "address/",
                 [&](std::string_view key, std::string_view value) {
                   st.addresses[std::string{key.substr(8)}] = std::string{value};
                   return true;
                 });
  if (err) return err;
  // Expired sign-in states are of no use any more.
  storage::batch expired;
  auto at = now(self);
  err = db->scan(storage::family::meta, storage::oauth_state_prefix,
                 [&](std::string_view key, std::string_view value) {
                   auto rec = storage::oauth_state_from_json(std::string{value});
                   if (!rec || rec->expires_at <= at)
                     expired.erase(storage::family::meta, key);
                   return true;
                 });
  if (err) return err;
  storage_requests::commit_or_log(self, std::move(expired), "registry",
                                  "the end of expired sign-ins");
  return {};
}

} // namespace

registry_actor::behavior_type registry(registry_pointer self, registry_config cfg,
                                       registry_stores stores) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.first_polls = start_window{st.cfg.first_polls_at_once};
  st.stores = stores;
  st.wall_base = std::chrono::system_clock::now();
  st.clock_base = self->clock().now();
  stores.metrics->describe("exconnect_mailboxes", "gauge", "Mailboxes by status.");
  stores.metrics->describe("exconnect_accounts", "gauge", "Accounts.");
  stores.metrics->describe("exconnect_tenants", "gauge",
                           "Tenants with an administrator's consent, by status.");
  // A REGISTRY that failed may have left a status queued at the STORAGE WRITER: the
  // replacement loads after it.
  storage_requests::await_earlier_writes(self, [=] {
    auto& st = self->state;
    if (auto err = load(self)) {
      spdlog::error("registry: cannot load accounts and mailboxes: {}", render(err));
      self->quit(err);
      return;
    }
    spdlog::info("registry: {} accounts, {} mailboxes", st.accounts.size(),
                 st.mailboxes.size());
    update_gauges(self);
    update_tenant_gauges(self);
    // Registered by name where it is spawned; the TOKEN SERVICE also finds its listener
    // by that name after a restart of its own.
    self->send(service::get<token_service_actor>(self->system()), atom::subscribe_v,
               caf::actor_cast<token_events_actor>(self));
    for (const auto& [id, mb] : st.mailboxes)
      if (storage::polls(mb.status)) st.to_start.push_back(id);
    start_some(self);
  });
  self->set_down_handler([=](caf::down_msg& dm) { on_mailbox_down(self, dm); });
  self->set_exit_handler([=](caf::exit_msg& em) {
    // MAILBOXes are monitored, not linked: stop them explicitly, and quit once they
    // are down (they may park their tries with the HELPDESK meanwhile).
    auto& st = self->state;
    if (st.stopping) return;
    st.stopping = true;
    st.stop_reason = em.reason;
    for (auto& [id, rt] : st.runtime) {
      if (rt.actor) st.to_stop.push_back(rt.actor);
      if (rt.stopping) st.to_stop.push_back(rt.stopping);
    }
    stop_some(self);
    if (st.by_actor.empty()) self->quit(em.reason);
  });
  return {
      [=](atom::authenticate, const std::string& key_hash) -> caf::result<std::string> {
        auto i = self->state.api_keys.find(key_hash);
        if (i == self->state.api_keys.end() ||
            !storage::constant_time_equal(i->first, key_hash))
          return make_error(ec::not_found, "no account has this API key");
        return i->second;
      },
      [=](atom::create, const std::string& name) -> caf::result<new_account> {
        new_account out;
        auto& a = out.account;
        a.id = "acc_" + storage::random_token(12);
        a.name = name;
        a.created_at = now(self);
        out.api_key = "exk_" + storage::random_token(32);
        a.api_key_hashes.push_back(storage::token_hash(out.api_key));
        storage::batch changes;
        stage_account(changes, a);
        changes.put(storage::family::accounts, storage::api_key_key(a.api_key_hashes[0]),
                    a.id);
        return commit_and_answer<new_account>(self, std::move(changes), [=] {
          self->state.api_keys[out.account.api_key_hashes[0]] = out.account.id;
          self->state.accounts[out.account.id] = out.account;
          update_gauges(self);
          return out;
        });
      },
      [=](atom::accounts) {
        std::vector<storage::account_record> out;
        for (const auto& [id, a] : self->state.accounts)
          out.push_back(a);
        return out;
      },
      [=](atom::account, const std::string& id) -> caf::result<storage::account_record> {
        auto i = self->state.accounts.find(id);
        if (i == self->state.accounts.end())
          return make_error(ec::not_found, "no such account");
        return i->second;
      },
      [=](atom::settings, const std::string& id, const storage::account_settings& read,
          const storage::account_settings& settings)
          -> caf::result<storage::account_record> {
        auto i = self->state.accounts.find(id);
        if (i == self->state.accounts.end())
          return make_error(ec::not_found, "no such account");
        if (storage::to_json(i->second.settings) != storage::to_json(read))
          return make_error(ec::conflict, "the settings changed meanwhile");
        auto updated = i->second;
        updated.settings = settings;
        storage::batch changes;
        stage_account(changes, updated);
        return commit_and_answer<storage::account_record>(self, std::move(changes), [=] {
          self->state.accounts[id] = updated;
          // Running mailboxes label with the new names from their next message on.
          auto labels = labels_of(self, id);
          for (const auto& [mid, mb] : self->state.mailboxes) {
            auto rt = self->state.runtime.find(mid);
            if (mb.account_id == id && rt != self->state.runtime.end() &&
                rt->second.actor)
              self->send(rt->second.actor, atom::settings_v, labels);
          }
          return updated;
        });
      },
      [=](atom::connect, storage::mailbox_record& draft) {
        if (!draft.tenant_id.empty())
          return connect_tenant_mailbox(self, std::move(draft));
        return connect_mailbox(self, std::move(draft));
      },
      [=](atom::consent, const std::string& account) {
        return begin_admin_consent(self, account);
      },
      [=](atom::consent, const admin_consent_return& back) {
        return finish_admin_consent(self, back);
      },
      [=](atom::tenants, const std::string& account) {
        std::vector<storage::tenant_record> out;
        for (const auto& [id, t] : self->state.tenants)
          if (t.account_id == account) out.push_back(t);
        return out;
      },
      [=](atom::tenants, atom::remove, const std::string& account,
          const std::string& tenant) { return remove_tenant(self, account, tenant); },
      [=](atom::mailboxes, const std::string& account, const std::string& after,
          std::uint32_t limit) {
        mailbox_page out;
        if (limit == 0) return out;
        const auto& ids = mailboxes_of(self, account);
        for (auto i = ids.upper_bound(after); i != ids.end(); ++i) {
          if (out.entries.size() == limit) {
            out.next = out.entries.back().record.id;
            break;
          }
          out.entries.push_back(entry_of(self, self->state.mailboxes.at(*i)));
        }
        return out;
      },
      [=](atom::mailboxes, const std::string& account) {
        const auto& ids = mailboxes_of(self, account);
        return std::vector<std::string>(ids.begin(), ids.end());
      },
      [=](atom::mailbox, const std::string& account,
          const std::string& id) -> caf::result<mailbox_entry> {
        auto* mb = find_mailbox(self, account, id);
        if (!mb) return no_such_mailbox();
        return entry_of(self, *mb);
      },
      [=](atom::reauthorize, const std::string& account, const std::string& id) {
        return reauthorize(self, account, id);
      },
      [=](atom::pause, const std::string& account, const std::string& id) {
        return pause(self, account, id);
      },
      [=](atom::resume, const std::string& account, const std::string& id) {
        return resume(self, account, id);
      },
      [=](atom::remove, const std::string& account, const std::string& id) {
        return remove(self, account, id);
      },
      [=](atom::recover, const std::string& account, const std::string& id,
          const recovery& what) -> caf::result<ingest_outcome> {
        auto* mb = find_mailbox(self, account, id);
        if (!mb) return no_such_mailbox();
        auto rt = self->state.runtime.find(id);
        if (rt == self->state.runtime.end() || !rt->second.actor)
          return make_error(ec::invalid_state,
                            std::string{"the mailbox is not running (status "} +
                                to_string(mb->status) +
                                "): resume or reauthorize it, then recover");
        return self->delegate(rt->second.actor, atom::recover_v, what);
      },
      [=](atom::callback, const sign_in_return& back) {
        return finish_sign_in(self, back);
      },
      [=](atom::notify, const std::string& id,
          std::vector<push_item>& items) -> caf::result<push_outcome> {
        auto& st = self->state;
        if (st.mailboxes.find(id) == st.mailboxes.end()) return no_such_mailbox();
        auto rt = st.runtime.find(id);
        // Not running (paused, or waiting for a sign-in): its first poll after a start
        // takes what came meanwhile, so nothing is lost by taking nothing now.
        if (rt == st.runtime.end() || !rt->second.actor) return push_outcome{};
        return self->delegate(rt->second.actor, atom::notify_v, std::move(items));
      },
      [=](atom::origin, const std::string& account,
          const std::string& id) -> caf::result<outbound_origin> {
        auto* mb = find_mailbox(self, account, id);
        if (!mb) return no_such_mailbox();
        outbound_origin o;
        o.account_id = mb->account_id;
        o.mailbox_id = mb->id;
        o.address = mb->address;
        auto a = self->state.accounts.find(mb->account_id);
        if (a != self->state.accounts.end()) {
          auto& h = a->second.settings.headers;
          o.headers.account_id = h["account_id"];
          o.headers.email_id = h["email_id"];
          o.headers.mailer = h["mailer"];
        }
        return o;
      },
      [=](atom::wake, const std::string& id) {
        // Its SENDER drains the outbox; one not running drains it when it starts.
        auto rt = self->state.runtime.find(id);
        if (rt != self->state.runtime.end() && rt->second.actor)
          self->send(rt->second.actor, atom::wake_v);
      },
      [=](atom::health) {
        return self->state.app_error.value_or(storage::error_record{});
      },
      [=](atom::reauth, const std::string& id, const std::string& reason) {
        if (auto tenant = tenant_of_key(id); !tenant.empty())
          return on_consent_gone(self, tenant, reason);
        on_grant_gone(self, id, reason);
      },
      [=](atom::app_status, const std::string& code, const std::string& message) {
        if (code.empty())
          self->state.app_error.reset();
        else
          self->state.app_error = storage::error_record{
              "app_credentials_rejected",
              "the login service refuses the connector's own app credentials (" + code +
                  "): " + message + " — fix the client secret; every grant is kept",
              now(self), "token"};
      },
      [=](atom::polled, const std::string& id, const poll_result& r) {
        on_polled(self, id, r);
      },
      [=](atom::internal, atom::resume) {
        if (self->state.stopping)
          stop_some(self);
        else
          start_some(self);
      },
      [=](atom::internal, atom::restart, const std::string& id) {
        start_mailbox(self, id);
      },
  };
}

} // namespace exc

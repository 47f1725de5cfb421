// The API's half of the OAuth 2.0 authorization-code flow with PKCE: the authorize URL
// for a mailbox, and the callback that redeems the code, proves that the grant opens
// the mailbox and only then marks it connected.
#include "actors/api_routes.hpp"

#include "actors/graph.hpp"
#include "messages/error.hpp"
#include "net/pkce.hpp"
#include "net/time_format.hpp"
#include "net/url.hpp"
#include "storage/secret_file.hpp"

#include <spdlog/spdlog.h>

namespace exc::api_detail {

using nlohmann::json;

namespace {

std::string redirect_uri(api_pointer self) {
  return self->state.cfg.public_url + "/oauth/callback";
}

std::string verifier_record_id(const std::string& state_hash) {
  return storage::oauth_state_key(state_hash);
}

/// The callback answers a browser with a page and a script (Accept: application/json)
/// with JSON.
struct callback_reply {
  reply_fn reply;
  bool json_wanted = false;

  void fail(unsigned status, const std::string& code, const std::string& message) const {
    if (json_wanted) return reply(rest::error_response(status, code, message));
    reply(rest::html_response(status, "The mailbox was not connected", message));
  }
  void connected(const json& mailbox) const {
    if (json_wanted) return reply(rest::json_response(200, mailbox));
    reply(rest::html_response(200, "Mailbox connected",
                              mailbox.value("address", std::string{}) +
                                  " is connected. You can close this window."));
  }
};

/// Deletes a stored grant nobody will use.
void drop_grant(api_pointer self, const std::string& id) {
  self->request(tokens(self), std::chrono::seconds{30}, atom::forget_v, id)
      .then([](bool) {},
            [=](const caf::error& err) {
              spdlog::error("api: cannot drop the grant of mailbox {}: {}",
                            log_name(self, id), render(err));
            });
}

/// The last step: the grant is proven; store it and mark the mailbox connected.
void finish_connect(api_pointer self, const std::string& id, const token_grant& grant,
                    const std::string& graph_date, const callback_reply& out) {
  self->request(tokens(self), std::chrono::seconds{30}, atom::adopt_v, id, grant)
      .then(
          [=](bool) {
            auto i = self->state.mailboxes.find(id);
            if (i == self->state.mailboxes.end()) {
              drop_grant(self, id);
              return out.fail(400, "mailbox_deleted",
                              "the mailbox was deleted meanwhile");
            }
            auto updated = i->second;
            std::optional<storage::mailbox_record> released;
            auto changes = self->state.db->start_batch();
            if (!address_free_for(self, updated, changes, released)) {
              drop_grant(self, id);
              return out.fail(409, "address_in_use",
                              updated.address + " was connected meanwhile");
            }
            if (updated.status != "paused") updated.status = "connected";
            if (updated.connected_at.empty()) updated.connected_at = graph_date;
            updated.last_error.reset();
            changes.put(storage::family::meta, storage::address_key(updated.address), id);
            stage_mailbox(changes, updated);
            if (auto failed = commit(self, changes)) return out.reply(std::move(*failed));
            apply_release(self, released);
            self->state.addresses[net::to_lower(updated.address)] = id;
            self->state.ingest.connected->add(updated.address);
            i->second = std::move(updated);
            spdlog::info("api: mailbox {} connected", log_name(self, id));
            start_mailbox(self, id);
            out.connected(mailbox_view(self, i->second));
          },
          [=](const caf::error& err) {
            spdlog::error("api: cannot store the grant of mailbox {}: {}",
                          log_name(self, id), render(err));
            out.fail(500, "storage_failure", "the grant could not be stored");
          });
}

/// Proves that the grant opens the mailbox: GET its inbox with $top=1.
void check_grant(api_pointer self, const std::string& id, const token_grant& grant,
                 const callback_reply& out) {
  auto i = self->state.mailboxes.find(id);
  if (i == self->state.mailboxes.end())
    return out.fail(400, "mailbox_deleted", "the mailbox was deleted meanwhile");
  auto req = graph::inbox_probe(self->state.cfg.graph_url, grant.access_token,
                                i->second.address);
  self->request(service::get<http_actor>(self->system()), std::chrono::seconds{90},
                std::move(req))
      .then(
          [=](const net::client_response& res) {
            if (!res.ok() || res.status == 429 || res.status >= 500)
              return out.fail(
                  502, "graph_unavailable",
                  "Graph could not check the mailbox (" +
                      (res.ok() ? std::to_string(res.status) : res.error_message) +
                      "); open the sign-in link again later");
            if (res.status != 200) {
              auto e = graph::read_error(res);
              spdlog::warn("api: the grant for mailbox {} does not open it: {} {}",
                           log_name(self, id), e.code, e.message);
              return out.fail(400, "grant_does_not_open_mailbox",
                              "the account that signed in cannot open this mailbox (" +
                                  e.code + ": " + e.message + ")");
            }
            // "New mail" starts at the connection, on Microsoft's clock.
            auto date = net::parse_http_date(res.header("Date"));
            auto at =
                net::format_rfc3339(date ? *date : std::chrono::system_clock::now());
            finish_connect(self, id, grant, at, out);
          },
          [=](const caf::error& err) {
            out.fail(502, "graph_unavailable", "Graph did not answer: " + render(err));
          });
}

} // namespace

std::variant<std::string, net::response> begin_authorization(api_pointer self,
                                                             storage::mailbox_record& mb,
                                                             storage::batch& changes) {
  auto& st = self->state;
  auto state = storage::random_token(32);
  auto hash = storage::token_hash(state);
  auto verifier = net::make_code_verifier();
  auto sealed = st.vault->seal(verifier_record_id(hash), verifier);
  if (!sealed) {
    spdlog::error("api: cannot seal a PKCE verifier: {}", render(sealed.error()));
    return rest::error_response(500, "internal_error", "cannot start the sign-in");
  }
  if (!mb.state_hash.empty())
    changes.erase(storage::family::meta, storage::oauth_state_key(mb.state_hash));
  storage::oauth_state_record rec;
  rec.account_id = mb.account_id;
  rec.mailbox_id = mb.id;
  rec.sealed_verifier = *sealed;
  rec.expires_at =
      net::format_rfc3339(std::chrono::system_clock::now() + st.cfg.state_lifetime);
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

void oauth_callback(api_pointer self, const http_request& req, const reply_fn& reply) {
  callback_reply out{
      reply, net::to_lower(rest::header(req, "Accept")).find("application/json") !=
                 std::string::npos};
  auto query = net::parse_query(net::split_target(req.target).second);
  if (!query) return out.fail(400, "invalid_request", "the query string is malformed");
  auto state = net::find_param(*query, "state");
  if (!state || state->empty())
    return out.fail(400, "invalid_state", "the sign-in carries no state");
  auto& st = self->state;
  auto hash = storage::token_hash(*state);
  auto stored = st.db->get(storage::family::meta, storage::oauth_state_key(hash));
  if (!stored) return out.fail(500, "storage_failure", "cannot read the sign-in state");
  auto rec = *stored ? storage::oauth_state_from_json(**stored) : std::nullopt;
  if (!rec)
    return out.fail(400, "invalid_state",
                    "this sign-in link is unknown or was already used; start again");
  // Single use: the state is gone before anything else happens.
  auto changes = st.db->start_batch();
  changes.erase(storage::family::meta, storage::oauth_state_key(hash));
  auto mb = st.mailboxes.find(rec->mailbox_id);
  bool bound = mb != st.mailboxes.end() && mb->second.account_id == rec->account_id;
  std::optional<storage::mailbox_record> updated;
  if (bound && mb->second.state_hash == hash) {
    updated = mb->second;
    updated->state_hash.clear();
    updated->state_expires_at.clear();
    stage_mailbox(changes, *updated);
  }
  if (auto failed = commit(self, changes)) return reply(std::move(*failed));
  if (updated) mb->second = std::move(*updated);
  if (rec->expires_at <= now_rfc3339())
    return out.fail(400, "state_expired",
                    "this sign-in link has expired (after " +
                        std::to_string(st.cfg.state_lifetime.count()) +
                        " s); start again");
  if (!bound)
    return out.fail(400, "invalid_state", "the mailbox of this sign-in no longer exists");
  if (auto error = net::find_param(*query, "error")) {
    auto description = net::find_param(*query, "error_description").value_or(*error);
    return out.fail(400, "consent_refused",
                    "Microsoft refused the sign-in: " + description);
  }
  auto code = net::find_param(*query, "code");
  if (!code || code->empty())
    return out.fail(400, "invalid_request", "the sign-in carries no code");
  std::optional<storage::mailbox_record> released;
  auto probe = st.db->start_batch();
  if (!address_free_for(self, mb->second, probe, released))
    return out.fail(409, "address_in_use",
                    mb->second.address + " was connected meanwhile");
  auto verifier = st.vault->open(verifier_record_id(hash), rec->sealed_verifier);
  if (!verifier) return out.fail(500, "internal_error", "cannot open the PKCE verifier");
  auto id = rec->mailbox_id;
  // Until the sign-in ends, one way or the other, the mailbox keeps its address.
  st.signing_in.insert(id);
  callback_reply done{[self, id, reply](net::response res) {
                        self->state.signing_in.erase(id);
                        reply(std::move(res));
                      },
                      out.json_wanted};
  self->request(tokens(self), std::chrono::seconds{60}, atom::redeem_v, *code, *verifier,
                redirect_uri(self))
      .then([=](const token_grant& grant) { check_grant(self, id, grant, done); },
            [=](const caf::error& err) {
              spdlog::warn("api: code exchange for mailbox {} failed: {}",
                           log_name(self, id), render(err));
              if (is(err, ec::code_refused))
                return done.fail(400, "code_refused",
                                 "Microsoft refused the code: " + context_of(err));
              if (is(err, ec::app_credentials_rejected))
                return done.fail(502, "app_credentials_rejected",
                                 "the login service refused the connector's own "
                                 "credentials: " +
                                     context_of(err));
              done.fail(502, "login_unavailable",
                        "the login service did not answer: " + render(err));
            });
}

} // namespace exc::api_detail

#define CAF_SUITE token_service
// 0.17.6's dsl.hpp uses an undefined FAIL macro.
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "mock_http.hpp"
#include "temp_db.hpp"
#include "temp_dir.hpp"

#include "actors/token_service.hpp"
#include "messages/error.hpp"
#include "messages/services.hpp"
#include "net/url.hpp"
#include "storage/credentials.hpp"
#include "storage/db.hpp"
#include "storage/vault.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>

using namespace exc;
using namespace std::chrono_literals;
using nlohmann::json;
using test::mock_http;
using test::mock_http_actor;
using test::mock_http_state;

namespace {

// --- the listener and the askers ---------------------------------------------------

struct listener_state {
  std::vector<std::pair<std::string, std::string>> reauths;
  std::vector<std::pair<std::string, std::string>> app_statuses;
};

token_events_actor::behavior_type
listener(token_events_actor::stateful_pointer<listener_state> self, int) {
  return {
      [=](atom::reauth, const std::string& id, const std::string& reason) {
        self->state.reauths.emplace_back(id, reason);
      },
      [=](atom::app_status, const std::string& code, const std::string& message) {
        self->state.app_statuses.emplace_back(code, message);
      },
  };
}

/// What one ask got: the token or the error, and the refresh token stored at the moment
/// the answer arrived.
struct answer {
  std::string token;
  caf::error error;
  std::string stored_refresh_token;
};

struct asker_state {
  std::vector<answer> answers;
};

caf::behavior asker(caf::stateful_actor<asker_state>* self, token_service_actor aut,
                    const storage::credential_store* credentials) {
  return {
      [=](atom::token, const std::string& id) {
        self->request(aut, caf::infinite, atom::token_v, id)
            .then(
                [=](const std::string& token) {
                  storage::batch reseal;
                  auto stored = credentials->load(id, reseal);
                  self->state.answers.push_back(
                      {token, {}, stored && *stored ? **stored : std::string{}});
                },
                [=](const caf::error& err) {
                  self->state.answers.push_back({{}, err, {}});
                });
      },
  };
}

net::client_response token_json(unsigned status, const json& body) {
  net::client_response res;
  res.status = status;
  res.body = body.dump();
  return res;
}

net::client_response granted(const std::string& access, const std::string& refresh,
                             int expires_in = 3600) {
  return token_json(200, {{"token_type", "Bearer"},
                          {"access_token", access},
                          {"refresh_token", refresh},
                          {"expires_in", expires_in},
                          {"scope", "Mail.ReadWrite.Shared"}});
}

net::client_response aad_error(unsigned status, const std::string& error, int code) {
  return token_json(status,
                    {{"error", error},
                     {"error_description", "AADSTS" + std::to_string(code) +
                                               ": something happened.\r\nTrace ID: x"},
                     {"error_codes", {code}}});
}

struct fixture : test_coordinator_fixture<> {
  test::temp_dir dir;
  std::unique_ptr<storage::db> db;
  storage::vault vault{*storage::master_key::from_hex(std::string(64, 'a'))};
  std::unique_ptr<storage::credential_store> credentials;
  net::metrics metrics;
  mock_http_actor http;
  token_events_actor events;
  token_cache cache; ///< what the TOKEN SERVICE publishes
  token_service_actor aut;
  token_service_config cfg;
  storage_writer_actor writer;

  fixture() {
    db = open_temp_db(dir);
    writer = start_storage_writer(sys, *db);
    credentials = std::make_unique<storage::credential_store>(*db, vault);
    cfg.token_url = "https://login.test/organizations/oauth2/v2.0/token";
    cfg.login_url = "https://login.test";
    cfg.client_id = "client-1";
    cfg.client_secret = "secret-1";
    cfg.client_secret_file = dir.file("client.secret");
    test::write_file(cfg.client_secret_file, "secret-1\n");
    std::filesystem::permissions(cfg.client_secret_file, std::filesystem::perms(0600));
    cfg.scope = "offline_access Mail.ReadWrite.Shared";
    cfg.refresh_margin = 300s;
    cfg.backoff_initial = 1000ms;
    cfg.backoff_max = 8000ms;
    http = sys.spawn(mock_http, 0);
    events = sys.spawn(listener, 0);
    service::put(sys, caf::actor_cast<http_actor>(http)); // as the SUPERVISOR does
    aut = sys.spawn(token_service, cfg, credentials.get(), &metrics, &cache);
    self->send(aut, atom::subscribe_v, events);
    sched.run();
  }

  ~fixture() {
    for (auto& a : askers)
      self->send_exit(a, caf::exit_reason::user_shutdown);
    self->send_exit(aut, caf::exit_reason::user_shutdown);
    self->send_exit(http, caf::exit_reason::user_shutdown);
    self->send_exit(events, caf::exit_reason::user_shutdown);
    self->send_exit(writer, caf::exit_reason::user_shutdown);
    sched.run();
  }

  std::vector<caf::actor> askers;

  /// A new asker that asks for `id`'s token once; run the scheduler to see the answer.
  caf::actor ask(const std::string& id) {
    auto a = sys.spawn(asker, aut, credentials.get());
    askers.push_back(a);
    self->send(a, atom::token_v, id);
    sched.run();
    return a;
  }

  std::vector<answer>& answers(const caf::actor& a) {
    return deref<caf::stateful_actor<asker_state>>(a).state.answers;
  }

  mock_http_state& http_state() {
    return deref<mock_http_actor::stateful_base<mock_http_state>>(http).state;
  }

  listener_state& heard() {
    return deref<token_events_actor::stateful_base<listener_state>>(events).state;
  }

  std::size_t exchanges() { return http_state().exchanges.size(); }

  /// The form fields of exchange `i`.
  net::params form(std::size_t i) {
    return *net::parse_query(http_state().exchanges.at(i).request.body);
  }

  void reply(std::size_t i, net::client_response res) {
    self->send(http, atom::internal_v, static_cast<std::uint64_t>(i), std::move(res));
    sched.run();
  }

  std::string stored(const std::string& id) {
    storage::batch reseal;
    auto s = credentials->load(id, reseal);
    return s && *s ? **s : std::string{"<none>"};
  }

  double counted(const char* kind, const char* result) {
    return metrics.value("exconnect_token_requests_total",
                         {{"kind", kind}, {"result", result}});
  }

  /// Stores `id`'s refresh token, as an earlier run left it.
  void store_grant(const std::string& id, const std::string& refresh_token) {
    storage::batch changes;
    CAF_REQUIRE(!credentials->stage_store(changes, id, refresh_token));
    commit_now(*db, changes);
  }

  /// A mailbox with a stored grant whose access token `at1` is cached.
  void connected(const std::string& id) {
    store_grant(id, "rt0-" + id);
    auto a = ask(id);
    auto i = exchanges() - 1;
    reply(i, granted("at1-" + id, "rt1-" + id));
    CAF_REQUIRE_EQUAL(answers(a).size(), 1u);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(token_service_tests, fixture)

CAF_TEST(one refresh is in flight per mailbox however many ask) {
  store_grant("m1", "rt0");
  std::vector<caf::actor> waiting;
  for (int i = 0; i < 5; ++i)
    waiting.push_back(ask("m1"));
  CAF_REQUIRE_EQUAL(exchanges(), 1u);
  auto f = form(0);
  CAF_CHECK_EQUAL(net::find_param(f, "grant_type").value_or(""), "refresh_token");
  CAF_CHECK_EQUAL(net::find_param(f, "refresh_token").value_or(""), "rt0");
  CAF_CHECK_EQUAL(net::find_param(f, "client_id").value_or(""), "client-1");
  for (auto& a : waiting)
    CAF_CHECK_EQUAL(answers(a).size(), 0u);
  reply(0, granted("at1", "rt1"));
  for (auto& a : waiting) {
    CAF_REQUIRE_EQUAL(answers(a).size(), 1u);
    CAF_CHECK_EQUAL(answers(a)[0].token, "at1");
    // The rotated refresh token was stored before the access token was handed out.
    CAF_CHECK_EQUAL(answers(a)[0].stored_refresh_token, "rt1");
  }
  CAF_CHECK_EQUAL(counted("refresh", "ok"), 1);
  // Another mailbox refreshes on its own.
  store_grant("m2", "rt0-m2");
  ask("m2");
  CAF_CHECK_EQUAL(exchanges(), 2u);
}

CAF_TEST(a tenant key gets app only tokens from the tenant token endpoint) {
  const std::string tenant = "9188040d-6c67-4c5b-b112-36a304b66dad";
  auto key = tenant_token_key(tenant);
  auto a = ask(key);
  auto b = ask(key);
  CAF_REQUIRE_EQUAL(exchanges(), 1u); // one request for every asker
  CAF_CHECK_EQUAL(http_state().exchanges[0].request.url,
                  "https://login.test/" + tenant + "/oauth2/v2.0/token");
  auto f = form(0);
  CAF_CHECK_EQUAL(net::find_param(f, "grant_type").value_or(""), "client_credentials");
  CAF_CHECK_EQUAL(net::find_param(f, "scope").value_or(""),
                  "https://graph.microsoft.com/.default");
  CAF_CHECK_EQUAL(net::find_param(f, "client_secret").value_or(""), "secret-1");
  CAF_CHECK(!net::find_param(f, "refresh_token"));
  // No refresh token comes back, and nothing is stored.
  reply(0, token_json(200, {{"token_type", "Bearer"},
                            {"access_token", "app-at1"},
                            {"expires_in", 3599}}));
  CAF_CHECK_EQUAL(answers(a)[0].token, "app-at1");
  CAF_CHECK_EQUAL(answers(b)[0].token, "app-at1");
  CAF_CHECK_EQUAL(stored(key), "<none>");
  CAF_CHECK_EQUAL(counted("app", "ok"), 1);
  // Cached until the margin before expiry, then got again the same way.
  CAF_CHECK_EQUAL(answers(ask(key))[0].token, "app-at1");
  CAF_CHECK_EQUAL(exchanges(), 1u);
  sched.advance_time(3599s - 299s);
  ask(key);
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK_EQUAL(net::find_param(form(1), "grant_type").value_or(""),
                  "client_credentials");
  // The tenant removed the app: its consent is gone, the app is fine elsewhere.
  reply(1, aad_error(400, "unauthorized_client", 700016));
  CAF_REQUIRE_EQUAL(heard().reauths.size(), 1u);
  CAF_CHECK_EQUAL(heard().reauths[0].first, key);
  CAF_CHECK(heard().app_statuses.empty());
  CAF_CHECK_EQUAL(counted("app", "invalid_grant"), 1);
  sched.advance_time(300s);
  auto c = ask(key);
  CAF_CHECK(is(answers(c)[0].error, ec::reauthorization_required));
  CAF_CHECK_EQUAL(exchanges(), 2u);
  // A key that is no tenant id never reaches the login service.
  auto d = ask("tenant:../../evil");
  CAF_REQUIRE_EQUAL(answers(d).size(), 1u);
  CAF_CHECK(is(answers(d)[0].error, ec::token_unavailable));
  CAF_CHECK_EQUAL(exchanges(), 2u);
  // Another tenant disabled the app: its own consent is gone, nobody else's; a refused
  // secret is app-wide.
  const std::string other = "00000000-0000-0000-0000-00000000000b";
  ask(tenant_token_key(other));
  CAF_REQUIRE_EQUAL(exchanges(), 3u);
  reply(2, aad_error(400, "unauthorized_client", 7000112));
  CAF_CHECK_EQUAL(heard().reauths.size(), 2u);
  CAF_CHECK(heard().app_statuses.empty());
  const std::string third = "00000000-0000-0000-0000-00000000000c";
  auto e = ask(tenant_token_key(third));
  CAF_REQUIRE_EQUAL(exchanges(), 4u);
  reply(3, aad_error(401, "invalid_client", 7000215));
  CAF_CHECK(is(answers(e)[0].error, ec::app_credentials_rejected));
  CAF_CHECK_EQUAL(heard().app_statuses.size(), 1u);
}

CAF_TEST(tokens are refreshed ahead of expiry) {
  connected("m1");
  auto a = ask("m1");
  CAF_CHECK_EQUAL(answers(a)[0].token, "at1-m1");
  CAF_CHECK_EQUAL(exchanges(), 1u); // cached, no refresh
  // Inside the margin (300 s before expiry): the current token still serves, and a
  // refresh starts.
  sched.advance_time(3600s - 299s);
  auto b = ask("m1");
  CAF_CHECK_EQUAL(answers(b)[0].token, "at1-m1");
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  CAF_CHECK_EQUAL(net::find_param(form(1), "refresh_token").value_or(""), "rt1-m1");
  reply(1, granted("at2-m1", "rt2-m1"));
  CAF_CHECK_EQUAL(stored("m1"), "rt2-m1");
  auto c = ask("m1");
  CAF_CHECK_EQUAL(answers(c)[0].token, "at2-m1");
  // Past expiry with nothing cached: the ask waits for the refresh.
  sched.advance_time(3601s);
  auto d = ask("m1");
  CAF_CHECK_EQUAL(answers(d).size(), 0u);
  CAF_REQUIRE_EQUAL(exchanges(), 3u);
  reply(2, granted("at3-m1", "rt3-m1"));
  CAF_CHECK_EQUAL(answers(d)[0].token, "at3-m1");
  CAF_CHECK_EQUAL(answers(d)[0].stored_refresh_token, "rt3-m1");
}

CAF_TEST(the token cache holds each fresh token until its refresh is due) {
  cache.put("left-over", std::make_shared<const std::string>("x"),
            sys.clock().now() + 3600s);
  // A TOKEN SERVICE that starts knows of no token: it takes back what another left.
  self->send_exit(aut, caf::exit_reason::user_shutdown);
  sched.run();
  aut = sys.spawn(token_service, cfg, credentials.get(), &metrics, &cache);
  sched.run();
  CAF_CHECK_EQUAL(cache.size(), 0u);
  connected("m1");
  auto cached = [&](const std::string& id) {
    auto t = cache.fresh(id, sys.clock().now());
    return t ? *t : std::string{"<none>"};
  };
  CAF_CHECK_EQUAL(cached("m1"), "at1-m1");
  // Fresh until the refresh margin (300 s before expiry) begins; then callers ask.
  sched.advance_time(3600s - 301s);
  CAF_CHECK_EQUAL(cached("m1"), "at1-m1");
  sched.advance_time(2s);
  CAF_CHECK_EQUAL(cached("m1"), "<none>");
  ask("m1");
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  reply(1, granted("at2-m1", "rt2-m1"));
  CAF_CHECK_EQUAL(cached("m1"), "at2-m1");
  // A token Graph refused is taken out (an older one reported changes nothing).
  self->send(aut, atom::invalidate_v, std::string{"m1"}, std::string{"at1-m1"});
  sched.run();
  CAF_CHECK_EQUAL(cached("m1"), "at2-m1");
  self->send(aut, atom::invalidate_v, std::string{"m1"}, std::string{"at2-m1"});
  sched.run();
  CAF_CHECK_EQUAL(cached("m1"), "<none>");
  // A grant that is gone leaves no token; a new consent brings one.
  ask("m1");
  reply(2, aad_error(400, "invalid_grant", 70008));
  CAF_CHECK_EQUAL(cached("m1"), "<none>");
  self->send(aut, atom::adopt_v, std::string{"m1"},
             token_grant{"fresh-m1", "rt-new-m1", 3600, ""});
  sched.run();
  CAF_CHECK_EQUAL(cached("m1"), "fresh-m1");
  // A deleted mailbox leaves none.
  self->send(aut, atom::forget_v, std::string{"m1"});
  sched.run();
  CAF_CHECK_EQUAL(cached("m1"), "<none>");
}

CAF_TEST(a token graph refused is refreshed once) {
  connected("m1");
  // An old token reported as refused changes nothing.
  self->send(aut, atom::invalidate_v, std::string{"m1"}, std::string{"stale"});
  sched.run();
  auto a = ask("m1");
  CAF_CHECK_EQUAL(answers(a)[0].token, "at1-m1");
  self->send(aut, atom::invalidate_v, std::string{"m1"}, std::string{"at1-m1"});
  sched.run();
  auto b = ask("m1");
  CAF_CHECK_EQUAL(answers(b).size(), 0u);
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  reply(1, granted("at2-m1", "rt2-m1"));
  CAF_CHECK_EQUAL(answers(b)[0].token, "at2-m1");
}

CAF_TEST(a gone grant needs reauthorization without a retry loop) {
  connected("m1");
  connected("m2");
  self->send(aut, atom::invalidate_v, std::string{"m1"}, std::string{"at1-m1"});
  auto a = ask("m1");
  reply(2, aad_error(400, "invalid_grant", 70008));
  CAF_REQUIRE_EQUAL(answers(a).size(), 1u);
  CAF_CHECK(is(answers(a)[0].error, ec::reauthorization_required));
  CAF_REQUIRE_EQUAL(heard().reauths.size(), 1u);
  CAF_CHECK_EQUAL(heard().reauths[0].first, "m1");
  CAF_CHECK_EQUAL(heard().reauths[0].second.rfind("AADSTS70008", 0), 0u);
  CAF_CHECK_EQUAL(counted("refresh", "invalid_grant"), 1);
  // Asking again does not go to the login service again, however much time passes.
  sched.advance_time(3600s);
  auto b = ask("m1");
  CAF_CHECK(is(answers(b)[0].error, ec::reauthorization_required));
  CAF_CHECK_EQUAL(exchanges(), 3u);
  // The other mailbox is untouched.
  auto c = ask("m2");
  CAF_CHECK_EQUAL(exchanges(), 4u);
  reply(3, granted("at2-m2", "rt2-m2"));
  CAF_CHECK_EQUAL(answers(c)[0].token, "at2-m2");
  // A new consent (adopt) brings m1 back.
  self->send(aut, atom::adopt_v, std::string{"m1"},
             token_grant{"fresh-m1", "rt-new-m1", 3600, ""});
  sched.run();
  CAF_CHECK_EQUAL(stored("m1"), "rt-new-m1");
  auto d = ask("m1");
  CAF_CHECK_EQUAL(answers(d)[0].token, "fresh-m1");
}

CAF_TEST(login errors are sorted into their classes) {
  struct sample {
    unsigned status;
    const char* error;
    int code;
    token_outcome expected;
  };
  for (auto s : std::vector<sample>{
           {400, "invalid_grant", 70008, token_outcome::grant_gone},
           {400, "invalid_grant", 700082, token_outcome::grant_gone},
           {400, "interaction_required", 50173, token_outcome::grant_gone},
           {400, "invalid_grant", 65001, token_outcome::grant_gone},
           {401, "invalid_client", 7000215, token_outcome::app_rejected},
           {401, "invalid_client", 7000222, token_outcome::app_rejected},
           {400, "unauthorized_client", 700016, token_outcome::app_rejected},
           {400, "temporarily_unavailable", 0, token_outcome::transient},
           {503, "server_error", 0, token_outcome::transient},
           {429, "", 0, token_outcome::transient},
       }) {
    auto r = classify_token_response(aad_error(s.status, s.error, s.code));
    CAF_CHECK_EQUAL(to_string(r.outcome), to_string(s.expected));
  }
  net::client_response refused;
  refused.error = net::transport_error::tls;
  refused.error_message = "certificate verification failed";
  auto r = classify_token_response(refused);
  CAF_CHECK_EQUAL(to_string(r.outcome), to_string(token_outcome::transient));
  auto ok = classify_token_response(granted("a", "r", 1234));
  CAF_CHECK_EQUAL(to_string(ok.outcome), to_string(token_outcome::granted));
  CAF_CHECK_EQUAL(ok.grant.expires_in, 1234);
  CAF_CHECK_EQUAL(ok.grant.refresh_token, "r");
}

CAF_TEST(a refused app secret is app wide and keeps every grant) {
  connected("m1");
  connected("m2");
  sched.advance_time(3601s); // every access token expired
  auto a = ask("m1");
  reply(2, aad_error(401, "invalid_client", 7000215));
  CAF_CHECK(is(answers(a)[0].error, ec::app_credentials_rejected));
  CAF_REQUIRE_EQUAL(heard().app_statuses.size(), 1u);
  CAF_CHECK_EQUAL(heard().app_statuses[0].first, "invalid_client");
  CAF_CHECK_EQUAL(heard().reauths.size(), 0u); // no mailbox flipped
  CAF_CHECK_EQUAL(metrics.value("exconnect_app_credentials_ok", {}), 0);
  // While the app is refused, other mailboxes do not hammer the login service.
  auto b = ask("m2");
  CAF_CHECK(is(answers(b)[0].error, ec::app_credentials_rejected));
  CAF_CHECK_EQUAL(exchanges(), 3u);
  CAF_CHECK_EQUAL(stored("m1"), "rt1-m1");
  CAF_CHECK_EQUAL(stored("m2"), "rt1-m2");
  // After the backoff the next ask probes; the secret works again: all resume.
  sched.advance_time(cfg.backoff_max);
  auto c = ask("m2");
  CAF_REQUIRE_EQUAL(exchanges(), 4u);
  reply(3, granted("at2-m2", "rt2-m2"));
  CAF_CHECK_EQUAL(answers(c)[0].token, "at2-m2");
  CAF_REQUIRE_EQUAL(heard().app_statuses.size(), 2u);
  CAF_CHECK_EQUAL(heard().app_statuses[1].first, "");
  CAF_CHECK_EQUAL(metrics.value("exconnect_app_credentials_ok", {}), 1);
  auto d = ask("m1");
  reply(4, granted("at2-m1", "rt2-m1"));
  CAF_CHECK_EQUAL(answers(d)[0].token, "at2-m1");
}

CAF_TEST(a rewritten secret file ends the app wide error within a second) {
  connected("m1");
  sched.advance_time(3601s);
  auto a = ask("m1");
  reply(1, aad_error(401, "invalid_client", 7000222));
  CAF_CHECK(is(answers(a)[0].error, ec::app_credentials_rejected));
  CAF_CHECK_EQUAL(net::find_param(form(1), "client_secret").value_or(""), "secret-1");
  // Two more refused probes: the app's backoff is now at least 2 s.
  sched.advance_time(1s);
  ask("m1");
  reply(2, aad_error(401, "invalid_client", 7000222));
  sched.advance_time(2s);
  ask("m1");
  reply(3, aad_error(401, "invalid_client", 7000222));
  // The operator writes the new secret; asks inside the same second are still gated.
  test::write_file(cfg.client_secret_file, "secret-2\n");
  auto b = ask("m1");
  CAF_REQUIRE_EQUAL(answers(b).size(), 1u);
  CAF_CHECK(is(answers(b)[0].error, ec::app_credentials_rejected));
  CAF_CHECK_EQUAL(exchanges(), 4u);
  // A second later the file is read again: the new secret is tried at once, before the
  // app's backoff would have allowed a probe.
  sched.advance_time(1s);
  auto c = ask("m1");
  CAF_REQUIRE_EQUAL(exchanges(), 5u);
  CAF_CHECK_EQUAL(net::find_param(form(4), "client_secret").value_or(""), "secret-2");
  reply(4, granted("at2-m1", "rt2-m1"));
  CAF_REQUIRE_EQUAL(answers(c).size(), 1u);
  CAF_CHECK_EQUAL(answers(c)[0].token, "at2-m1");
  CAF_CHECK_EQUAL(heard().app_statuses.back().first, "");
}

CAF_TEST(transient failures back off exponentially with jitter) {
  connected("m1");
  sched.advance_time(3601s);
  auto a = ask("m1");
  reply(1, aad_error(400, "temporarily_unavailable", 0));
  CAF_CHECK(is(answers(a)[0].error, ec::token_unavailable));
  // First delay is drawn from [500, 1000] ms.
  auto b = ask("m1");
  CAF_CHECK(is(answers(b)[0].error, ec::token_unavailable));
  CAF_CHECK_EQUAL(exchanges(), 2u);
  sched.advance_time(1000ms);
  ask("m1");
  CAF_REQUIRE_EQUAL(exchanges(), 3u);
  net::client_response dropped;
  dropped.error = net::transport_error::connect;
  dropped.error_message = "connection refused";
  reply(2, dropped);
  // Second delay from [1000, 2000] ms: still blocked after 999 ms, free after 2000.
  sched.advance_time(999ms);
  ask("m1");
  CAF_CHECK_EQUAL(exchanges(), 3u);
  sched.advance_time(1001ms);
  auto c = ask("m1");
  CAF_REQUIRE_EQUAL(exchanges(), 4u);
  reply(3, granted("at2-m1", "rt2-m1"));
  CAF_CHECK_EQUAL(answers(c)[0].token, "at2-m1");
  CAF_CHECK_EQUAL(counted("refresh", "transient"), 2);
  // The grant was never given up.
  CAF_CHECK_EQUAL(heard().reauths.size(), 0u);
}

CAF_TEST(a code is redeemed with its verifier and forget deletes the grant) {
  auto a = sys.spawn(
      [=](caf::event_based_actor* s, token_service_actor t) -> caf::behavior {
        s->request(t, caf::infinite, atom::redeem_v, std::string{"code-1"},
                   std::string{"verifier-1"},
                   std::string{"http://127.0.0.1:1/oauth/callback"})
            .then([](const token_grant&) {}, [](const caf::error&) {});
        return {};
      },
      aut);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 1u);
  auto f = form(0);
  CAF_CHECK_EQUAL(net::find_param(f, "grant_type").value_or(""), "authorization_code");
  CAF_CHECK_EQUAL(net::find_param(f, "code").value_or(""), "code-1");
  CAF_CHECK_EQUAL(net::find_param(f, "code_verifier").value_or(""), "verifier-1");
  CAF_CHECK_EQUAL(net::find_param(f, "redirect_uri").value_or(""),
                  "http://127.0.0.1:1/oauth/callback");
  reply(0, aad_error(400, "invalid_grant", 54005));
  CAF_CHECK_EQUAL(counted("code", "invalid_grant"), 1);
  CAF_CHECK_EQUAL(stored("m9"), "<none>"); // redeem stores nothing
  connected("m1");
  self->send(aut, atom::forget_v, std::string{"m1"});
  sched.run();
  CAF_CHECK_EQUAL(stored("m1"), "<none>");
  auto b = ask("m1");
  CAF_CHECK(is(answers(b)[0].error, ec::reauthorization_required));
  self->send_exit(a, caf::exit_reason::user_shutdown);
}

CAF_TEST_FIXTURE_SCOPE_END()

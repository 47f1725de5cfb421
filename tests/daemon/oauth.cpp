#define CAF_SUITE daemon_oauth
#include <caf/test/unit_test.hpp>

#include "daemon_fixture.hpp"

#include <csignal>
#include <filesystem>

using nlohmann::json;

namespace {

/// graph-sim refuses superseded refresh tokens: a client that does not store the
/// rotated one loses its grant.
struct oauth_fixture : daemon_fixture {
  oauth_fixture() : daemon_fixture({"--strict-rotation"}) { start_daemon(); }

  /// A successful poll after `t` (RFC 3339 strings compare in time order).
  static auto polled_after(const std::string& t) {
    return [t](const json& v) {
      return v["last_poll_at"].is_string() && v["last_poll_at"].get<std::string>() > t &&
             v["last_error"].is_null();
    };
  }

  json sim_stats() { return sim.control("GET", "/stats"); }

  /// graph-sim's clock, which the daemon's Date watermark follows.
  std::string sim_now() { return sim.control("GET", "/clock").at("now"); }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(daemon_oauth_tests, oauth_fixture)

CAF_TEST(a mailbox connects through consent and is polled) {
  auto acc = create_account("Contoso helpdesk");
  auto key = acc.at("api_key").get<std::string>();
  auto mb = create_mailbox(key, "support@contoso.test");
  CAF_CHECK_EQUAL(mb.at("status"), "pending_authorization");
  auto url = mb.at("authorize_url").get<std::string>();
  CAF_CHECK(url.rfind(sim.base() + "/organizations/oauth2/v2.0/authorize?", 0) == 0);
  for (auto part : {"login_hint=support%40contoso.test", "code_challenge_method=S256",
                    "code_challenge=", "state=", "offline_access"})
    CAF_CHECK_NOT_EQUAL(url.find(part), std::string::npos);
  // A browser gets a page saying connected.
  auto page = follow(url, "text/html");
  CAF_CHECK_EQUAL(page.status, 200u);
  CAF_CHECK_NOT_EQUAL(page.body.find("is connected"), std::string::npos);
  auto id = mb.at("id").get<std::string>();
  auto view = wait_mailbox(key, id, polled_after(""));
  CAF_CHECK_EQUAL(view.at("status"), "connected");
  CAF_CHECK(view.at("connected_at").is_string());
  CAF_CHECK(view.at("last_poll_at").is_string());
  // The state was single-use: the same callback again is refused.
  auto again = follow(url);
  CAF_CHECK_EQUAL(again.status, 400u);
  CAF_CHECK_EQUAL(error_code(again), "invalid_state");
}

CAF_TEST(expired tokens are refreshed and the rotated refresh token survives a restart) {
  auto key = create_account("A").at("api_key").get<std::string>();
  auto id = connect(key, "support@contoso.test").at("id").get<std::string>();
  wait_mailbox(key, id, polled_after(""));
  for (int round = 0; round < 3; ++round) {
    auto before = sim_stats().at("refreshes").get<int>();
    auto t = sim_now();
    sim.control("POST", "/tokens/expire");
    // Graph answers 401, the daemon refreshes once and polls again.
    auto view = wait_mailbox(key, id, polled_after(t));
    CAF_CHECK_EQUAL(view.at("status"), "connected");
    CAF_CHECK(view.at("last_error").is_null());
    CAF_CHECK_GREATER(sim_stats().at("refreshes").get<int>(), before);
  }
  // A new process has no access token: it must refresh with the stored (rotated) one,
  // which --strict-rotation refuses if it is not the newest.
  restart_daemon();
  auto t = sim_now();
  auto view = wait_mailbox(key, id, polled_after(t));
  CAF_CHECK_EQUAL(view.at("status"), "connected");
  CAF_CHECK_EQUAL(sim_stats().at("superseded_refresh_uses").get<int>(), 0);
}

CAF_TEST(a revoked grant needs reauthorization and only that mailbox stops) {
  auto key = create_account("A").at("api_key").get<std::string>();
  auto a = connect(key, "support@contoso.test").at("id").get<std::string>();
  auto b = connect(key, "sales@contoso.test").at("id").get<std::string>();
  wait_mailbox(key, a, polled_after(""));
  wait_mailbox(key, b, polled_after(""));
  sim.control("POST", "/grants/revoke",
              {{"user", "support@contoso.test"}, {"aadsts", 70008}});
  auto t = sim_now();
  sim.control("POST", "/tokens/expire");
  auto gone = wait_mailbox(
      key, a, [](const json& v) { return v.at("status") == "reauthorization_required"; });
  CAF_CHECK_EQUAL(gone.at("status"), "reauthorization_required");
  CAF_CHECK_EQUAL(gone.at("last_error").at("code"), "reauthorization_required");
  CAF_CHECK_NOT_EQUAL(
      gone.at("last_error").at("message").get<std::string>().find("70008"),
      std::string::npos);
  auto other = wait_mailbox(key, b, polled_after(t));
  CAF_CHECK_EQUAL(other.at("status"), "connected");
  // No retry loop: the broken grant is not tried again and again.
  auto refreshes = sim_stats().at("requests").at("token");
  auto t2 = sim_now();
  wait_mailbox(key, b, polled_after(t2));
  wait_mailbox(key, b, polled_after(sim_now()));
  CAF_CHECK_EQUAL(json(sim_stats().at("requests").at("token")), refreshes);
  // Pause and resume cannot skip the new consent.
  for (const char* action : {"/pause", "/resume"}) {
    auto skip = call("POST", "/api/v1/mailboxes/" + a + action, key);
    CAF_CHECK_EQUAL(skip.status, 409u);
    CAF_CHECK_EQUAL(error_code(skip), "invalid_state");
  }
  // Reauthorize: a new consent brings the same mailbox back.
  auto re = call_json("POST", "/api/v1/mailboxes/" + a + "/reauthorize", key);
  auto done = follow(re.at("authorize_url"));
  CAF_CHECK_EQUAL(done.status, 200u);
  auto back = wait_mailbox(key, a, polled_after(sim_now()));
  CAF_CHECK_EQUAL(back.at("status"), "connected");
  CAF_CHECK_EQUAL(back.at("id"), a);
  CAF_CHECK_EQUAL(back.at("created_at"), gone.at("created_at"));
  CAF_CHECK_EQUAL(back.at("connected_at"), gone.at("connected_at"));
}

CAF_TEST(a refused app secret is one app wide error and every grant is kept) {
  auto key = create_account("A").at("api_key").get<std::string>();
  auto a = connect(key, "support@contoso.test").at("id").get<std::string>();
  auto b = connect(key, "sales@contoso.test").at("id").get<std::string>();
  // Someone rotates the app's secret in Azure without telling exconnect.
  const std::string new_secret = "rotated-secret";
  sim.control("PATCH", "/apps/" + app.client_id, {{"client_secret", new_secret}});
  sim.control("POST", "/tokens/expire");
  for (const auto& id : {a, b}) {
    auto v = wait_mailbox(key, id, [](const json& v) {
      return v["last_error"].is_object() &&
             v["last_error"]["code"] == "app_credentials_rejected";
    });
    CAF_CHECK_EQUAL(v.at("last_error").at("code"), "app_credentials_rejected");
    CAF_CHECK_EQUAL(v.at("status"), "connected"); // not flipped to reauthorization
  }
  auto health = call_json("GET", "/healthz", "");
  CAF_CHECK_EQUAL(health.at("app_error").at("code"), "app_credentials_rejected");
  CAF_CHECK_NOT_EQUAL(
      health.at("app_error").at("message").get<std::string>().find("7000215"),
      std::string::npos);
  auto metrics = call("GET", "/metrics", "").body;
  CAF_CHECK_NOT_EQUAL(metrics.find("exconnect_app_credentials_ok 0"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(
      metrics.find(
          "exconnect_token_requests_total{kind=\"refresh\",result=\"invalid_client\"}"),
      std::string::npos);
  // The operator writes the new secret into the secret file: everything resumes without
  // a restart and without a new consent.
  test::write_file(dir.file("client.secret"), new_secret + "\n");
  auto t = sim_now();
  for (const auto& id : {a, b}) {
    auto v = wait_mailbox(key, id, polled_after(t));
    CAF_CHECK_EQUAL(v.at("status"), "connected");
    CAF_CHECK(v.at("last_error").is_null());
  }
  CAF_CHECK(call_json("GET", "/healthz", "").at("app_error").is_null());
  CAF_CHECK_EQUAL(daemon_logs().find(new_secret), std::string::npos);
}

CAF_TEST(the master key can be rotated) {
  auto key = create_account("A").at("api_key").get<std::string>();
  auto id = connect(key, "support@contoso.test").at("id").get<std::string>();
  wait_mailbox(key, id, polled_after(""));
  CAF_CHECK_EQUAL(daemon->stop(SIGTERM), 0);
  std::filesystem::rename(data + "/master.key", dir.file("old.key"));
  // A new master key is created; the old one still opens what it sealed.
  start_daemon({"--previous-master-key-file", dir.file("old.key")});
  auto t = sim_now();
  sim.control("POST", "/tokens/expire");
  auto view = wait_mailbox(key, id, polled_after(t));
  CAF_CHECK_EQUAL(view.at("status"), "connected");
  // The grant was resealed with the new key: the old key is not needed any more.
  CAF_CHECK_EQUAL(daemon->stop(SIGTERM), 0);
  start_daemon();
  t = sim_now();
  sim.control("POST", "/tokens/expire");
  view = wait_mailbox(key, id, polled_after(t));
  CAF_CHECK_EQUAL(view.at("status"), "connected");
  CAF_CHECK(view.at("last_error").is_null());
}

CAF_TEST(no token is stored or logged in plaintext) {
  auto key = create_account("A").at("api_key").get<std::string>();
  auto id = connect(key, "support@contoso.test").at("id").get<std::string>();
  auto t = sim_now();
  sim.control("POST", "/tokens/expire");
  wait_mailbox(key, id, polled_after(t));
  restart_daemon();
  wait_mailbox(key, id, polled_after(sim_now()));
  CAF_CHECK_EQUAL(daemon->stop(SIGTERM), 0);
  auto tokens = sim.control("GET", "/tokens");
  std::vector<std::string> secrets;
  for (const auto& kind : {"access_tokens", "refresh_tokens"})
    for (const auto& tok : tokens.at(kind))
      secrets.push_back(tok);
  CAF_REQUIRE_GREATER(secrets.size(), 4u);
  secrets.push_back(app.client_secret);
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data))
    if (entry.is_regular_file()) files.push_back(entry.path().string());
  CAF_REQUIRE_GREATER(files.size(), 3u);
  auto logs = daemon_logs();
  for (const auto& secret : secrets) {
    CAF_CHECK_EQUAL(logs.find(secret), std::string::npos);
    for (const auto& f : files)
      if (test::read_file(f).find(secret) != std::string::npos)
        CAF_FAIL("a token in plaintext in " << f);
  }
}

CAF_TEST(a graph sim certificate the daemon does not trust is refused) {
  auto other = test::test_ca::create(dir.path(), "other");
  CAF_CHECK_EQUAL(daemon->stop(SIGTERM), 0);
  start_daemon({"--ca-file", other.ca_file});
  auto key = create_account("A").at("api_key").get<std::string>();
  auto mb = create_mailbox(key, "support@contoso.test");
  auto done = follow(mb.at("authorize_url"));
  CAF_CHECK_EQUAL(done.status, 502u);
  CAF_CHECK_EQUAL(error_code(done), "login_unavailable");
  auto message = json::parse(done.body).at("error").at("message").get<std::string>();
  CAF_MESSAGE("refusal: " << message);
  CAF_CHECK_NOT_EQUAL(message.find("tls"), std::string::npos);
  CAF_CHECK_EQUAL(json(mailbox(key, mb.at("id")).at("status")), "pending_authorization");
}

CAF_TEST_FIXTURE_SCOPE_END()

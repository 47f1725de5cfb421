// graph-sim's login service: authorize, adminconsent and token, as Microsoft's identity
// platform answers them, and which mailboxes the tokens open on Graph.
#define CAF_SUITE graph_sim_login
#include <caf/test/unit_test.hpp>

#include "fixture.hpp"

#include "net/url.hpp"

#include <algorithm>

using nlohmann::json;
using test::graph_sim_process;

namespace {

const std::string plain_scope =
    "offline_access https://graph.microsoft.com/Mail.ReadWrite";

std::string param(const net::params& items, const char* name) {
  return net::find_param(items, name).value_or("<missing>");
}

bool has(const net::params& items, const char* name) {
  return net::find_param(items, name).has_value();
}

/// `items` with `name` set to `value` (replaced if present, else added).
net::params with(net::params items, const std::string& name, const std::string& value) {
  for (auto& [n, v] : items)
    if (n == name) {
      v = value;
      return items;
    }
  items.emplace_back(name, value);
  return items;
}

net::params without(net::params items, const std::string& name) {
  items.erase(std::remove_if(items.begin(), items.end(),
                             [&](const auto& item) { return item.first == name; }),
              items.end());
  return items;
}

bool contains(const std::vector<std::int64_t>& codes, std::int64_t code) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

std::string location(const net::client_response& res) {
  return std::string{res.header("Location")};
}

struct login_fixture : sim_fixture {
  graph_sim_process::pkce pkce = graph_sim_process::make_pkce();

  explicit login_fixture(const std::vector<std::string>& args = {}) : sim_fixture(args) {}

  /// The authorize parameters of a normal sign-in of `hint` with this->pkce.
  net::params params(const std::string& hint = "support@contoso.test") const {
    return graph_sim_process::authorize_params(app, hint, pkce.challenge);
  }

  /// Signs in `hint` and returns the token response, checking it worked.
  json sign_in(const std::string& hint,
               const std::string& scope = graph_sim_process::default_scope) {
    return sim.sign_in(app, hint, scope);
  }

  /// The first message subject of an inbox list answer, or "<none>".
  static std::string first_subject(const net::client_response& res) {
    auto j = body(res);
    if (!j.is_object() || !j.contains("value") || j["value"].empty()) return "<none>";
    return j["value"][0].value("subject", "<no subject>");
  }
};

struct strict_rotation_fixture : login_fixture {
  strict_rotation_fixture() : login_fixture({"--strict-rotation"}) {}
};

struct short_token_fixture : login_fixture {
  short_token_fixture() : login_fixture({"--token-ttl", "2"}) {}
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(graph_sim_login_tests, login_fixture)

CAF_TEST(authorize signs in the login_hint user and echoes state) {
  sim.create_mailbox("other@contoso.test");
  sim.create_mailbox("aaron@contoso.test");
  sim.deliver("other@contoso.test",
              test::sample_mail("o1", "other@contoso.test", "For other"));
  sim.deliver("aaron@contoso.test",
              test::sample_mail("a1", "aaron@contoso.test", "For aaron"));
  sim.deliver(mailbox, test::sample_mail("s1", mailbox, "For support"));
  auto state = "a b&c=d/e?f";
  auto res = sim.authorize(with(params("Other@Contoso.test"), "state", state));
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(res.status, 302u);
  CAF_CHECK_EQUAL(location(res).rfind(graph_sim_process::redirect_uri + "?", 0), 0u);
  auto query = graph_sim_process::redirect_query(res);
  CAF_CHECK_EQUAL(param(query, "state"), state);
  CAF_CHECK(!has(query, "error"));
  CAF_REQUIRE(has(query, "code"));
  auto tok = sim.redeem_code(app, param(query, "code"), pkce.verifier);
  CAF_CHECK_EQUAL(tok.status, 200u);
  auto j = body(tok);
  CAF_CHECK_EQUAL(j.value("token_type", ""), "Bearer");
  CAF_CHECK_EQUAL(j.value("expires_in", 0), 3599);
  CAF_CHECK(!j.value("refresh_token", "").empty());
  CAF_CHECK(
      j.value("scope", "").find("https://graph.microsoft.com/Mail.ReadWrite.Shared") !=
      std::string::npos);
  // Each token is its user's: /me is that user's mailbox.
  auto me =
      sim.graph("GET", "/me/mailFolders/inbox/messages", j.value("access_token", ""));
  CAF_CHECK_EQUAL(me.status, 200u);
  CAF_CHECK_EQUAL(first_subject(me), "For other");
  for (std::string user : {"aaron@contoso.test", "support@contoso.test"}) {
    std::string t = sign_in(user).at("access_token");
    auto mine = sim.graph("GET", "/me/mailFolders/inbox/messages", t);
    CAF_CHECK_EQUAL(first_subject(mine), user[0] == 'a' ? "For aaron" : "For support");
  }
}

CAF_TEST(an app registered with a chosen client id and secret signs in with them) {
  graph_sim_process::app chosen{"11111111-2222-3333-4444-555555555555",
                                "my~secret:with/odd=chars"};
  auto made = sim.control(
      "POST", "/apps",
      {{"client_id", chosen.client_id}, {"client_secret", chosen.client_secret}});
  CAF_CHECK_EQUAL(made.value("client_id", ""), chosen.client_id);
  CAF_CHECK_EQUAL(made.value("client_secret", ""), chosen.client_secret);
  CAF_CHECK_EQUAL(sim.call("POST", "/_sim/apps", {{"Content-Type", "application/json"}},
                           json{{"client_id", chosen.client_id}}.dump())
                      .status,
                  409u);
  auto t = sim.sign_in(chosen, mailbox);
  CAF_CHECK_EQUAL(sim.graph("GET", inbox(), t.at("access_token")).status, 200u);
  // HTTP Basic percent-encodes both parts (RFC 6749 2.3.1).
  auto credentials = net::base64_encode(net::percent_encode(chosen.client_id) + ":" +
                                        net::percent_encode(chosen.client_secret));
  auto basic =
      sim.token_request(net::encode_query({{"grant_type", "refresh_token"},
                                           {"refresh_token", t.at("refresh_token")}}),
                        {{"Authorization", "Basic " + credentials}});
  CAF_CHECK_EQUAL(basic.status, 200u);
}

CAF_TEST(authorize with an unknown client_id shows an error page instead of redirecting) {
  auto res =
      sim.authorize(with(params(), "client_id", "00000000-0000-0000-0000-00000000dead"));
  CAF_CHECK_EQUAL(res.status, 400u);
  CAF_CHECK_EQUAL(location(res), "");
  CAF_CHECK(has_aad_error_shape(res));
  CAF_CHECK(contains(aadsts_codes(res), 700016));
}

CAF_TEST(authorize refuses a redirect_uri the app did not register) {
  auto registered = sim.register_app(
      {{"redirect_uris", {"https://app.example/callback", "http://localhost:8400/cb"}}});
  auto base = graph_sim_process::authorize_params(registered, mailbox, pkce.challenge);
  for (std::string uri : {"https://app.example/callback", "http://localhost:8400/cb"}) {
    auto res = sim.authorize(with(base, "redirect_uri", uri));
    CAF_CHECK_EQUAL(res.status, 302u);
    CAF_CHECK_EQUAL(location(res).rfind(uri + "?", 0), 0u);
    CAF_CHECK(has(graph_sim_process::redirect_query(res), "code"));
  }
  // Anything else, even a loopback URI, is refused with an error page: no redirect.
  for (std::string uri :
       {"https://app.example/other", "https://app.example/callback/",
        "http://127.0.0.1:8025/oauth/callback", "http://localhost:8401/cb"}) {
    auto res = sim.authorize(with(base, "redirect_uri", uri));
    CAF_CHECK_EQUAL(res.status, 400u);
    CAF_CHECK_EQUAL(location(res), "");
    CAF_CHECK(contains(aadsts_codes(res), 50011));
  }
}

CAF_TEST(an app without registered redirect URIs accepts any http loopback redirect) {
  for (std::string uri : {"http://127.0.0.1:5555/x", "http://localhost:1/cb",
                          "http://127.0.0.1:8025/oauth/callback?tenant=1"}) {
    auto res = sim.authorize(with(params(), "redirect_uri", uri));
    CAF_CHECK_EQUAL(res.status, 302u);
    CAF_CHECK_EQUAL(location(res).rfind(uri, 0), 0u);
    CAF_CHECK(has(graph_sim_process::redirect_query(res), "code"));
  }
  for (std::string uri : {"https://evil.example", "https://evil.example/cb",
                          "http://evil.example/cb", "not a uri"}) {
    auto res = sim.authorize(with(params(), "redirect_uri", uri));
    CAF_CHECK_EQUAL(res.status, 400u);
    CAF_CHECK_EQUAL(location(res), "");
  }
}

CAF_TEST(PKCE is required and a missing code_challenge comes back as a redirect error) {
  auto res = sim.authorize(without(params(), "code_challenge"));
  CAF_CHECK_EQUAL(res.status, 302u);
  CAF_CHECK_EQUAL(location(res).rfind(graph_sim_process::redirect_uri + "?", 0), 0u);
  auto query = graph_sim_process::redirect_query(res);
  CAF_CHECK_EQUAL(param(query, "error"), "invalid_request");
  CAF_CHECK_EQUAL(param(query, "error_description").rfind("AADSTS", 0), 0u);
  CAF_CHECK_EQUAL(param(query, "state"), "test-state");
  CAF_CHECK(!has(query, "code"));
}

CAF_TEST(PKCE method plain is refused) {
  for (auto& query : {with(params(), "code_challenge_method", "plain"),
                      without(params(), "code_challenge_method")}) {
    auto res = sim.authorize(query);
    CAF_CHECK_EQUAL(res.status, 302u);
    auto answer = graph_sim_process::redirect_query(res);
    CAF_CHECK_EQUAL(param(answer, "error"), "invalid_request");
    CAF_CHECK(!has(answer, "code"));
  }
}

CAF_TEST(a wrong code_verifier is refused with AADSTS50148) {
  auto code = sim.authorize_code(app, mailbox, pkce);
  auto res = sim.redeem_code(app, code, graph_sim_process::make_pkce().verifier);
  CAF_CHECK_EQUAL(res.status, 400u);
  CAF_CHECK(has_aad_error_shape(res));
  CAF_CHECK_EQUAL(oauth_error(res), "invalid_grant");
  CAF_CHECK(contains(aadsts_codes(res), 50148));
  CAF_CHECK(!body(res).contains("access_token"));
}

CAF_TEST(authorization codes are single use) {
  auto code = sim.authorize_code(app, mailbox, pkce);
  CAF_CHECK_EQUAL(sim.redeem_code(app, code, pkce.verifier).status, 200u);
  auto again = sim.redeem_code(app, code, pkce.verifier);
  CAF_CHECK_EQUAL(again.status, 400u);
  CAF_CHECK_EQUAL(oauth_error(again), "invalid_grant");
  CAF_CHECK(contains(aadsts_codes(again), 54005));
}

CAF_TEST(authorization codes expire after ten minutes) {
  auto fresh = sim.authorize_code(app, mailbox, pkce);
  auto old = sim.authorize_code(app, mailbox, pkce);
  sim.control("POST", "/clock/advance", {{"seconds", 599}});
  CAF_CHECK_EQUAL(sim.redeem_code(app, fresh, pkce.verifier).status, 200u);
  sim.control("POST", "/clock/advance", {{"seconds", 2}});
  auto res = sim.redeem_code(app, old, pkce.verifier);
  CAF_CHECK_EQUAL(res.status, 400u);
  CAF_CHECK_EQUAL(oauth_error(res), "invalid_grant");
  CAF_CHECK(contains(aadsts_codes(res), 70008));
}

CAF_TEST(every refresh returns a new refresh token and use of an older one is counted) {
  auto first = sign_in(mailbox);
  std::string rt0 = first.at("refresh_token");
  auto r1 = sim.refresh(app, rt0);
  CAF_REQUIRE_EQUAL(r1.status, 200u);
  std::string rt1 = body(r1).at("refresh_token");
  auto r2 = sim.refresh(app, rt1);
  CAF_REQUIRE_EQUAL(r2.status, 200u);
  std::string rt2 = body(r2).at("refresh_token");
  CAF_CHECK_NOT_EQUAL(rt1, rt0);
  CAF_CHECK_NOT_EQUAL(rt2, rt1);
  CAF_CHECK_NOT_EQUAL(rt2, rt0);
  CAF_CHECK_NOT_EQUAL(at(body(r2), "/access_token"), at(body(r1), "/access_token"));
  CAF_CHECK_EQUAL(get(inbox()).status, 200u);
  CAF_CHECK_EQUAL(sim.graph("GET", inbox(), body(r2).at("access_token")).status, 200u);
  auto s = stats();
  CAF_CHECK_EQUAL(s["refreshes"], 2);
  CAF_CHECK_EQUAL(s["superseded_refresh_uses"], 0);
  // The old token is not revoked at once (Microsoft's rotation), but its use is counted.
  auto stale = sim.refresh(app, rt0);
  CAF_CHECK_EQUAL(stale.status, 200u);
  CAF_CHECK_EQUAL(stat("/superseded_refresh_uses"), 1);
  // A refresh with a narrower scope still rotates.
  auto r3 = sim.refresh(app, body(stale).at("refresh_token"),
                        "https://graph.microsoft.com/Mail.ReadWrite.Shared");
  CAF_CHECK_EQUAL(r3.status, 200u);
  CAF_CHECK(body(r3).value("refresh_token", "") !=
            body(stale).value("refresh_token", ""));
  CAF_CHECK_EQUAL(stat("/superseded_refresh_uses"), 1);
}

CAF_TEST(client authentication works by form fields and by HTTP Basic) {
  std::string rt = sign_in(mailbox).at("refresh_token");
  // By form (the helper sends client_id and client_secret as fields).
  auto by_form = sim.refresh(app, rt);
  CAF_REQUIRE_EQUAL(by_form.status, 200u);
  rt = body(by_form).at("refresh_token");
  // By HTTP Basic, with neither field in the form.
  auto basic = [&](const std::string& secret) {
    auto credentials = net::base64_encode(net::percent_encode(app.client_id) + ":" +
                                          net::percent_encode(secret));
    return sim.token_request(
        net::encode_query({{"grant_type", "refresh_token"}, {"refresh_token", rt}}),
        {{"Authorization", "Basic " + credentials}});
  };
  auto by_basic = basic(app.client_secret);
  CAF_CHECK_EQUAL(by_basic.status, 200u);
  CAF_CHECK(body(by_basic).contains("access_token"));
  rt = body(by_basic).value("refresh_token", rt);
  auto wrong = basic(app.client_secret + "x");
  CAF_CHECK_EQUAL(wrong.status, 401u);
  CAF_CHECK_EQUAL(oauth_error(wrong), "invalid_client");
  CAF_CHECK(contains(aadsts_codes(wrong), 7000215));
}

CAF_TEST(a wrong client secret is refused with 7000215) {
  std::string rt = sign_in(mailbox).at("refresh_token");
  auto wrong = app;
  wrong.client_secret += "x";
  auto res = sim.refresh(wrong, rt);
  CAF_CHECK_EQUAL(res.status, 401u);
  CAF_CHECK(has_aad_error_shape(res));
  CAF_CHECK_EQUAL(oauth_error(res), "invalid_client");
  CAF_CHECK(contains(aadsts_codes(res), 7000215));
  CAF_CHECK_EQUAL(sim.app_token(wrong).status, 401u);
}

CAF_TEST(an expired client secret is refused with 7000222) {
  std::string rt = sign_in(mailbox).at("refresh_token");
  sim.control("PATCH", "/apps/" + app.client_id, {{"secret_expired", true}});
  auto res = sim.refresh(app, rt);
  CAF_CHECK_EQUAL(res.status, 401u);
  CAF_CHECK(has_aad_error_shape(res));
  CAF_CHECK_EQUAL(oauth_error(res), "invalid_client");
  CAF_CHECK(contains(aadsts_codes(res), 7000222));
  auto code = sim.authorize_code(app, mailbox, pkce);
  CAF_CHECK(contains(aadsts_codes(sim.redeem_code(app, code, pkce.verifier)), 7000222));
  CAF_CHECK(contains(aadsts_codes(sim.app_token(app)), 7000222));
}

CAF_TEST(client credentials open mailboxes only after admin consent) {
  sim.deliver(mailbox, test::sample_mail("a1", mailbox, "App only"));
  auto before = sim.app_token(app);
  CAF_REQUIRE_EQUAL(before.status, 200u);
  auto j = body(before);
  CAF_CHECK_EQUAL(j.value("token_type", ""), "Bearer");
  CAF_CHECK(!j.value("access_token", "").empty());
  CAF_CHECK(!j.contains("refresh_token"));
  auto denied = sim.graph("GET", inbox(), j.value("access_token", ""));
  CAF_CHECK_EQUAL(denied.status, 403u);
  CAF_CHECK_EQUAL(error_code(denied), "ErrorAccessDenied");
  // Admin consent.
  auto consent = sim.call(
      "GET", "/organizations/adminconsent?" +
                 net::encode_query({{"client_id", app.client_id},
                                    {"redirect_uri", graph_sim_process::redirect_uri},
                                    {"state", "consent-1"}}));
  CAF_CHECK_EQUAL(consent.status, 302u);
  CAF_CHECK_EQUAL(location(consent).rfind(graph_sim_process::redirect_uri + "?", 0), 0u);
  auto query = graph_sim_process::redirect_query(consent);
  CAF_CHECK_EQUAL(param(query, "admin_consent"), "True");
  CAF_CHECK_EQUAL(param(query, "state"), "consent-1");
  CAF_CHECK(has(query, "tenant"));
  // A token issued after consent opens any mailbox of the tenant.
  sim.create_mailbox("other@contoso.test");
  auto after = sim.app_token(app);
  CAF_REQUIRE_EQUAL(after.status, 200u);
  CAF_CHECK(!body(after).contains("refresh_token"));
  std::string app_token = body(after).at("access_token");
  auto list = sim.graph("GET", inbox(), app_token);
  CAF_CHECK_EQUAL(list.status, 200u);
  CAF_CHECK_EQUAL(first_subject(list), "App only");
  CAF_CHECK_EQUAL(sim.graph("GET", inbox_of("other@contoso.test"), app_token).status,
                  200u);
  // /me means nothing without a signed-in user.
  CAF_CHECK_EQUAL(sim.graph("GET", "/me/mailFolders/inbox/messages", app_token).status,
                  400u);
  // An administrator scopes the app to some mailboxes (application access policy):
  // the others refuse its app-only tokens, also for sending.
  sim.control("PATCH", "/apps/" + app.client_id,
              {{"access_policy", {"Other@Contoso.test"}}});
  CAF_CHECK_EQUAL(sim.graph("GET", inbox_of("other@contoso.test"), app_token).status,
                  200u);
  auto blocked = sim.graph("GET", inbox(), app_token);
  CAF_CHECK_EQUAL(blocked.status, 403u);
  CAF_CHECK_EQUAL(error_code(blocked), "ErrorAccessDenied");
  CAF_CHECK_NOT_EQUAL(body(blocked)["error"].value("message", "").find("AccessPolicy"),
                      std::string::npos);
  auto apps = sim.control("GET", "/apps").at("apps");
  for (const auto& a : apps)
    if (a.at("client_id") == app.client_id)
      CAF_CHECK_EQUAL(a.at("access_policy").dump(), R"(["other@contoso.test"])");
  sim.control("PATCH", "/apps/" + app.client_id, {{"access_policy", nullptr}});
  CAF_CHECK_EQUAL(sim.graph("GET", inbox(), app_token).status, 200u);
  auto bad = sim.call("PATCH", "/_sim/apps/" + app.client_id, {},
                      json{{"access_policy", "everyone"}}.dump());
  CAF_CHECK_EQUAL(bad.status, 400u);
  // The administrator deletes the enterprise app: client credentials are refused.
  sim.control("PATCH", "/apps/" + app.client_id, {{"service_principal", false}});
  auto removed = sim.app_token(app);
  CAF_CHECK_EQUAL(removed.status, 400u);
  CAF_CHECK_EQUAL(body(removed).value("error", ""), "unauthorized_client");
  CAF_CHECK(contains(aadsts_codes(removed), 700016));
  // Revoked permissions: a token comes, without the roles Graph wants.
  sim.control("PATCH", "/apps/" + app.client_id,
              {{"service_principal", true}, {"admin_consented", false}});
  auto revoked = sim.app_token(app);
  CAF_REQUIRE_EQUAL(revoked.status, 200u);
  CAF_CHECK_EQUAL(
      sim.graph("GET", inbox(), body(revoked).at("access_token").get<std::string>())
          .status,
      403u);
  // A new admin consent restores both.
  sim.control("PATCH", "/apps/" + app.client_id, {{"service_principal", false}});
  CAF_CHECK_EQUAL(
      sim.call("GET",
               "/organizations/adminconsent?" +
                   net::encode_query({{"client_id", app.client_id},
                                      {"redirect_uri", graph_sim_process::redirect_uri},
                                      {"state", "consent-2"}}))
          .status,
      302u);
  auto renewed = sim.app_token(app);
  CAF_REQUIRE_EQUAL(renewed.status, 200u);
  CAF_CHECK_EQUAL(
      sim.graph("GET", inbox(), body(renewed).at("access_token").get<std::string>())
          .status,
      200u);
  auto wrong = sim.call("PATCH", "/_sim/apps/" + app.client_id, {},
                        json{{"admin_consented", "yes"}}.dump());
  CAF_CHECK_EQUAL(wrong.status, 400u);
}

CAF_TEST(adminconsent refuses an unknown app and a foreign redirect) {
  auto unknown = sim.call(
      "GET", "/organizations/adminconsent?" +
                 net::encode_query({{"client_id", "nobody"},
                                    {"redirect_uri", graph_sim_process::redirect_uri}}));
  CAF_CHECK_EQUAL(unknown.status, 400u);
  CAF_CHECK_EQUAL(location(unknown), "");
  auto evil = sim.call(
      "GET", "/organizations/adminconsent?" +
                 net::encode_query({{"client_id", app.client_id},
                                    {"redirect_uri", "https://evil.example/cb"}}));
  CAF_CHECK_EQUAL(evil.status, 400u);
  CAF_CHECK_EQUAL(location(evil), "");
  // Nothing was consented.
  auto t = sim.app_token(app);
  CAF_CHECK_EQUAL(sim.graph("GET", inbox(), body(t).value("access_token", "")).status,
                  403u);
}

CAF_TEST(an unsupported grant_type is refused) {
  auto res = sim.token_request(net::encode_query({{"grant_type", "password"},
                                                  {"username", mailbox},
                                                  {"password", "secret"},
                                                  {"client_id", app.client_id},
                                                  {"client_secret", app.client_secret}}));
  CAF_CHECK_EQUAL(res.status, 400u);
  CAF_CHECK(has_aad_error_shape(res));
  CAF_CHECK_EQUAL(oauth_error(res), "unsupported_grant_type");
}

CAF_TEST(expiring all tokens gives 401 with a WWW Authenticate header) {
  std::string rt = sign_in(mailbox).at("refresh_token");
  CAF_CHECK_EQUAL(get(inbox()).status, 200u);
  sim.control("POST", "/tokens/expire", json::object());
  auto res = get(inbox());
  CAF_CHECK_EQUAL(res.status, 401u);
  CAF_CHECK_EQUAL(error_code(res), "InvalidAuthenticationToken");
  CAF_CHECK(has_graph_error_shape(res));
  CAF_CHECK_EQUAL(std::string{res.header("WWW-Authenticate")}.rfind("Bearer ", 0), 0u);
  // A refresh gives a working access token again.
  auto fresh = sim.refresh(app, rt);
  CAF_REQUIRE_EQUAL(fresh.status, 200u);
  CAF_CHECK_EQUAL(sim.graph("GET", inbox(), body(fresh).at("access_token")).status, 200u);
}

CAF_TEST(revoked refresh tokens fail with the chosen AADSTS code until a new sign in) {
  std::string rt = sign_in(mailbox).at("refresh_token");
  auto revoked =
      sim.control("POST", "/grants/revoke", {{"user", mailbox}, {"aadsts", 50173}});
  CAF_CHECK_GREATER_OR_EQUAL(revoked.value("revoked", 0), 1);
  auto res = sim.refresh(app, rt);
  CAF_CHECK_EQUAL(res.status, 400u);
  CAF_CHECK(has_aad_error_shape(res));
  CAF_CHECK_EQUAL(oauth_error(res), "invalid_grant");
  CAF_CHECK(contains(aadsts_codes(res), 50173));
  // A fresh interactive sign-in restores access; the revoked token stays revoked.
  std::string fresh = sign_in(mailbox).at("refresh_token");
  CAF_CHECK_EQUAL(sim.refresh(app, fresh).status, 200u);
  auto old = sim.refresh(app, rt);
  CAF_CHECK_EQUAL(old.status, 400u);
  CAF_CHECK(contains(aadsts_codes(old), 50173));
}

CAF_TEST(a delegated token opens only mailboxes its user may open) {
  sim.create_mailbox("other@contoso.test");
  auto id =
      sim.deliver("other@contoso.test", test::sample_mail("x1", "other@contoso.test"));
  auto res = get(inbox_of("other@contoso.test"));
  CAF_CHECK_EQUAL(res.status, 403u);
  CAF_CHECK_EQUAL(error_code(res), "ErrorAccessDenied");
  CAF_CHECK(has_graph_error_shape(res));
  CAF_CHECK_EQUAL(get("/users/other@contoso.test/messages/" + id).status, 403u);
  auto patch = sim.graph("PATCH", "/users/other@contoso.test/messages/" + id, token,
                         R"({"isRead":true})");
  CAF_CHECK_EQUAL(patch.status, 403u);
  CAF_CHECK_EQUAL(at(control_messages("other@contoso.test"), "/" + id + "/is_read"),
                  false);
  CAF_CHECK_EQUAL(get(inbox()).status, 200u);
}

CAF_TEST(a shared mailbox opens to a delegate with a Shared scope only) {
  sim.create_mailbox("agent@contoso.test");
  sim.create_mailbox("team@contoso.test",
                     {{"shared", true}, {"delegates", {"Agent@contoso.test"}}});
  sim.deliver("team@contoso.test",
              test::sample_mail("t1", "team@contoso.test", "For team"));
  std::string shared_token =
      sign_in("agent@contoso.test", graph_sim_process::default_scope).at("access_token");
  std::string plain_token = sign_in("agent@contoso.test", plain_scope).at("access_token");
  auto team = sim.graph("GET", inbox_of("team@contoso.test"), shared_token);
  CAF_CHECK_EQUAL(team.status, 200u);
  CAF_CHECK_EQUAL(first_subject(team), "For team");
  // .Shared covers the user's own mailbox too.
  CAF_CHECK_EQUAL(sim.graph("GET", inbox_of("agent@contoso.test"), shared_token).status,
                  200u);
  // Plain Mail.ReadWrite opens only the user's own mailbox.
  auto denied = sim.graph("GET", inbox_of("team@contoso.test"), plain_token);
  CAF_CHECK_EQUAL(denied.status, 403u);
  CAF_CHECK_EQUAL(error_code(denied), "ErrorAccessDenied");
  CAF_CHECK_EQUAL(sim.graph("GET", inbox_of("agent@contoso.test"), plain_token).status,
                  200u);
  // A user who is not a delegate cannot open it even with .Shared.
  CAF_CHECK_EQUAL(get(inbox_of("team@contoso.test")).status, 403u);
}

CAF_TEST(login_hint naming a shared mailbox signs in its sign_in_as user) {
  sim.create_mailbox("agent@contoso.test");
  sim.create_mailbox("team@contoso.test", {{"shared", true},
                                           {"delegates", {"agent@contoso.test"}},
                                           {"sign_in_as", "agent@contoso.test"}});
  sim.create_mailbox("nobody@contoso.test", {{"shared", true}});
  sim.deliver("agent@contoso.test",
              test::sample_mail("a1", "agent@contoso.test", "For agent"));
  sim.deliver("team@contoso.test",
              test::sample_mail("t1", "team@contoso.test", "For team"));
  std::string t = sign_in("team@contoso.test").at("access_token");
  auto me = sim.graph("GET", "/me/mailFolders/inbox/messages", t);
  CAF_CHECK_EQUAL(me.status, 200u);
  CAF_CHECK_EQUAL(first_subject(me), "For agent");
  auto team = sim.graph("GET", inbox_of("team@contoso.test"), t);
  CAF_CHECK_EQUAL(team.status, 200u);
  CAF_CHECK_EQUAL(first_subject(team), "For team");
  // A shared mailbox nobody signs in for has no password: no code.
  auto res = sim.authorize(params("nobody@contoso.test"));
  CAF_CHECK_EQUAL(res.status, 302u);
  auto query = graph_sim_process::redirect_query(res);
  CAF_CHECK(has(query, "error"));
  CAF_CHECK(!has(query, "code"));
}

CAF_TEST(a malformed form or a wrong content type gets Microsoft OAuth error JSON) {
  auto json_body = sim.call("POST", "/organizations/oauth2/v2.0/token",
                            {{"Content-Type", "application/json"}},
                            json{{"grant_type", "client_credentials"},
                                 {"client_id", app.client_id},
                                 {"client_secret", app.client_secret},
                                 {"scope", "https://graph.microsoft.com/.default"}}
                                .dump());
  CAF_CHECK_EQUAL(json_body.status, 400u);
  CAF_CHECK(has_aad_error_shape(json_body));
  CAF_CHECK_EQUAL(oauth_error(json_body), "invalid_request");
  // A valid form is refused unless it is labelled as one.
  auto form = net::encode_query({{"grant_type", "client_credentials"},
                                 {"client_id", app.client_id},
                                 {"client_secret", app.client_secret},
                                 {"scope", "https://graph.microsoft.com/.default"}});
  CAF_CHECK_EQUAL(sim.token_request(form).status, 200u);
  for (const auto& headers :
       {net::header_list{}, net::header_list{{"Content-Type", "text/plain"}},
        net::header_list{{"Content-Type", "application/json"}}}) {
    auto res = sim.call("POST", "/organizations/oauth2/v2.0/token", headers, form);
    CAF_CHECK_EQUAL(res.status, 400u);
    CAF_CHECK(has_aad_error_shape(res));
    CAF_CHECK_EQUAL(oauth_error(res), "invalid_request");
  }
  auto bad_escape = sim.token_request(
      "grant_type=client_credentials&client_id=%zz&client_secret=" + app.client_secret);
  CAF_CHECK_EQUAL(bad_escape.status, 400u);
  CAF_CHECK(has_aad_error_shape(bad_escape));
  CAF_CHECK_EQUAL(oauth_error(bad_escape), "invalid_request");
  auto no_grant = sim.token_request(net::encode_query(
      {{"client_id", app.client_id}, {"client_secret", app.client_secret}}));
  CAF_CHECK_EQUAL(no_grant.status, 400u);
  CAF_CHECK(has_aad_error_shape(no_grant));
  CAF_CHECK(sim.process().running());
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(graph_sim_login_rotation_tests, strict_rotation_fixture)

CAF_TEST(strict rotation refuses a refresh token once a newer one was issued) {
  std::string rt0 = sign_in(mailbox).at("refresh_token");
  auto r1 = sim.refresh(app, rt0);
  CAF_REQUIRE_EQUAL(r1.status, 200u);
  std::string rt1 = body(r1).at("refresh_token");
  auto stale = sim.refresh(app, rt0);
  CAF_CHECK_EQUAL(stale.status, 400u);
  CAF_CHECK(has_aad_error_shape(stale));
  CAF_CHECK_EQUAL(oauth_error(stale), "invalid_grant");
  CAF_CHECK_EQUAL(stat("/superseded_refresh_uses"), 1);
  CAF_CHECK_EQUAL(sim.refresh(app, rt1).status, 200u);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(graph_sim_login_ttl_tests, short_token_fixture)

CAF_TEST(access tokens expire after the token ttl) {
  auto j = sign_in(mailbox);
  CAF_CHECK_EQUAL(j.value("expires_in", 0), 2);
  std::string t = j.at("access_token");
  CAF_CHECK_EQUAL(sim.graph("GET", inbox(), t).status, 200u);
  sim.control("POST", "/clock/advance", {{"seconds", 3}});
  auto res = sim.graph("GET", inbox(), t);
  CAF_CHECK_EQUAL(res.status, 401u);
  CAF_CHECK_EQUAL(error_code(res), "InvalidAuthenticationToken");
  CAF_CHECK(has_graph_error_shape(res));
  CAF_CHECK_EQUAL(std::string{res.header("WWW-Authenticate")}.rfind("Bearer ", 0), 0u);
  // No token at all is 401 as well.
  auto none = sim.call("GET", "/v1.0" + inbox());
  CAF_CHECK_EQUAL(none.status, 401u);
  CAF_CHECK(!none.header("WWW-Authenticate").empty());
}

CAF_TEST_FIXTURE_SCOPE_END()

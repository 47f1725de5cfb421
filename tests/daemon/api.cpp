#define CAF_SUITE daemon_api
#include <caf/test/unit_test.hpp>

#include "daemon_fixture.hpp"

#include "net/url.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <set>
#include <vector>

using nlohmann::json;

namespace {

struct api_fixture : daemon_fixture {
  api_fixture() { start_daemon({"--authorization-timeout", "2"}); }

  /// The answer's status and error code, e.g. "400 invalid_field".
  std::string outcome(const std::string& method, const std::string& path,
                      const std::string& token, const std::string& body = {}) {
    auto res = call(method, path, token, body);
    if (!res.ok()) return "transport error " + res.error_message;
    return std::to_string(res.status) + " " + (res.status < 300 ? "" : error_code(res));
  }

  std::string field_of(const std::string& method, const std::string& path,
                       const std::string& token, const std::string& body) {
    auto res = call(method, path, token, body);
    auto j = json::parse(res.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("field", "<none>")
                                                : "<none>";
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(daemon_api_tests, api_fixture)

CAF_TEST(accounts are created by the operator and keys are shown once) {
  CAF_CHECK_EQUAL(outcome("GET", "/api/v1/accounts", ""), "401 unauthorized");
  CAF_CHECK_EQUAL(outcome("GET", "/api/v1/accounts", "not-a-token"), "401 unauthorized");
  auto acc = create_account("Contoso");
  auto key = acc.at("api_key").get<std::string>();
  CAF_CHECK_EQUAL(acc.at("name"), "Contoso");
  auto list = call_json("GET", "/api/v1/accounts", admin_token);
  CAF_REQUIRE_EQUAL(list.at("accounts").size(), 1u);
  CAF_CHECK(!list.at("accounts")[0].contains("api_key"));
  CAF_CHECK_EQUAL(call("GET", "/api/v1/accounts", admin_token).body.find(key),
                  std::string::npos);
  // An account key on admin routes, the admin token on account routes: 403.
  CAF_CHECK_EQUAL(outcome("GET", "/api/v1/accounts", key), "403 forbidden");
  CAF_CHECK_EQUAL(outcome("POST", "/api/v1/accounts", key, R"({"name":"x"})"),
                  "403 forbidden");
  CAF_CHECK_EQUAL(outcome("GET", "/api/v1/mailboxes", admin_token), "403 forbidden");
  // Keys are stored as hashes only.
  CAF_CHECK_EQUAL(daemon_logs().find(key), std::string::npos);
  // The key survives a restart (its hash does).
  restart_daemon();
  CAF_CHECK_EQUAL(json(call_json("GET", "/api/v1/account", key).at("id")), acc.at("id"));
}

CAF_TEST(account settings are validated and kept) {
  auto key = create_account("A").at("api_key").get<std::string>();
  auto acc = call_json("GET", "/api/v1/account", key);
  CAF_CHECK_EQUAL(acc.at("labels").at("processed"), "Zendesk");
  CAF_CHECK_EQUAL(acc.at("labels").at("rejected"), "RejectedByZendesk");
  CAF_CHECK_EQUAL(acc.at("mark_as_read"), false);
  auto patched =
      call_json("PATCH", "/api/v1/account", key,
                {{"labels", {{"processed", "Helpdesk"}}}, {"mark_as_read", true}});
  CAF_CHECK_EQUAL(patched.at("labels").at("processed"), "Helpdesk");
  CAF_CHECK_EQUAL(patched.at("labels").at("rejected"), "RejectedByZendesk");
  CAF_CHECK_EQUAL(patched.at("mark_as_read"), true);
  // Refused changes name the field and change nothing.
  CAF_CHECK_EQUAL(field_of("PATCH", "/api/v1/account", key, R"({"mark_as_read":"yes"})"),
                  "mark_as_read");
  CAF_CHECK_EQUAL(field_of("PATCH", "/api/v1/account", key,
                           R"({"mark_as_read":false,"labels":{"processed":""}})"),
                  "labels.processed");
  CAF_CHECK_EQUAL(field_of("PATCH", "/api/v1/account", key,
                           R"({"headers":{"email_id":"X Bad: name"}})"),
                  "headers.email_id");
  CAF_CHECK_EQUAL(field_of("PATCH", "/api/v1/account", key,
                           R"({"headers":{"account_id":"Message-ID"}})"),
                  "headers.account_id");
  CAF_CHECK_EQUAL(field_of("PATCH", "/api/v1/account", key,
                           R"({"headers":{"account_id":"content-type"}})"),
                  "headers.account_id");
  CAF_CHECK_EQUAL(field_of("PATCH", "/api/v1/account", key,
                           R"({"headers":{"email_id":"x-zendesk-from-account-id"}})"),
                  "headers.email_id");
  CAF_CHECK_EQUAL(field_of("PATCH", "/api/v1/account", key, R"({"colour":"red"})"),
                  "colour");
  restart_daemon();
  auto kept = call_json("GET", "/api/v1/account", key);
  CAF_CHECK_EQUAL(kept.at("mark_as_read"), true);
  CAF_CHECK_EQUAL(kept.at("labels").at("processed"), "Helpdesk");
}

CAF_TEST(bad input gets 400 naming the field and changes nothing) {
  auto key = create_account("A").at("api_key").get<std::string>();
  CAF_CHECK_EQUAL(outcome("POST", "/api/v1/mailboxes", key, "{not json"),
                  "400 invalid_json");
  CAF_CHECK_EQUAL(outcome("POST", "/api/v1/mailboxes", key, "[1,2]"), "400 invalid_json");
  CAF_CHECK_EQUAL(field_of("POST", "/api/v1/mailboxes", key, "{}"), "address");
  CAF_CHECK_EQUAL(field_of("POST", "/api/v1/mailboxes", key, R"({"address":42})"),
                  "address");
  CAF_CHECK_EQUAL(
      field_of("POST", "/api/v1/mailboxes", key, R"({"address":"no-at-sign"})"),
      "address");
  CAF_CHECK_EQUAL(field_of("POST", "/api/v1/mailboxes", key,
                           R"({"address":"a@b.test","poll_interval_s":"60"})"),
                  "poll_interval_s");
  CAF_CHECK_EQUAL(field_of("POST", "/api/v1/mailboxes", key,
                           R"({"address":"a@b.test","backfill_days":-1})"),
                  "backfill_days");
  CAF_CHECK_EQUAL(field_of("POST", "/api/v1/accounts", admin_token, R"({"name":""})"),
                  "name");
  CAF_CHECK_EQUAL(call_json("GET", "/api/v1/mailboxes", key).at("mailboxes").size(), 0u);
  CAF_CHECK_EQUAL(call_json("GET", "/api/v1/accounts", admin_token).at("accounts").size(),
                  1u);
  CAF_CHECK_EQUAL(
      outcome("POST", "/api/v1/mailboxes", key,
              R"({"address":"a@b.test","pad":")" + std::string(1024 * 1024, 'x') + "\"}"),
      "413 payload_too_large");
  CAF_CHECK_EQUAL(outcome("GET", "/api/v1/nothing-here", key), "404 not_found");
  CAF_CHECK_EQUAL(outcome("PUT", "/api/v1/mailboxes", key, "{}"),
                  "405 method_not_allowed");
  CAF_CHECK_EQUAL(outcome("DELETE", "/api/v1/account", key), "405 method_not_allowed");
  CAF_CHECK_EQUAL(call_json("GET", "/api/v1/mailboxes", key).at("mailboxes").size(), 0u);
}

CAF_TEST(another accounts ids are not found on every route) {
  auto alice = create_account("Alice").at("api_key").get<std::string>();
  auto bob = create_account("Bob").at("api_key").get<std::string>();
  auto id = create_mailbox(alice, "support@contoso.test").at("id").get<std::string>();
  auto base = "/api/v1/mailboxes/" + id;
  CAF_CHECK_EQUAL(outcome("GET", base, bob), "404 not_found");
  CAF_CHECK_EQUAL(outcome("DELETE", base, bob), "404 not_found");
  for (auto action : {"/reauthorize", "/pause", "/resume"})
    CAF_CHECK_EQUAL(outcome("POST", base + action, bob), "404 not_found");
  CAF_CHECK_EQUAL(call_json("GET", "/api/v1/mailboxes", bob).at("mailboxes").size(), 0u);
  CAF_CHECK_EQUAL(outcome("GET", "/api/v1/mailboxes/mbx_doesnotexist", bob),
                  "404 not_found");
  // Bob's refused calls changed nothing of Alice's.
  CAF_CHECK_EQUAL(json(mailbox(alice, id).at("status")), "pending_authorization");
  // Bob cannot take over Alice's sign-in either: the state is bound to her mailbox.
  CAF_CHECK_EQUAL(call_json("GET", "/api/v1/mailboxes", alice).at("mailboxes").size(),
                  1u);
}

CAF_TEST(the mailbox list comes in pages of the account only) {
  auto alice = create_account("Alice").at("api_key").get<std::string>();
  auto bob = create_account("Bob").at("api_key").get<std::string>();
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i)
    created.insert(create_mailbox(alice, "desk" + std::to_string(i) + "@contoso.test")
                       .at("id")
                       .get<std::string>());
  auto bobs = create_mailbox(bob, "help@fabrikam.test").at("id").get<std::string>();
  std::vector<std::string> listed;
  std::string after;
  int pages = 0;
  do {
    auto page = call_json(
        "GET", "/api/v1/mailboxes?limit=2" + (after.empty() ? "" : "&after=" + after),
        alice);
    ++pages;
    for (const auto& m : page.at("mailboxes"))
      listed.push_back(m.at("id").get<std::string>());
    after = page.at("next").is_null() ? "" : page.at("next").get<std::string>();
  } while (!after.empty() && pages < 10);
  CAF_CHECK_EQUAL(pages, 3);
  CAF_CHECK_EQUAL(listed, std::vector<std::string>(created.begin(), created.end()));
  auto all = call_json("GET", "/api/v1/mailboxes", alice);
  CAF_CHECK_EQUAL(all.at("mailboxes").size(), 5u);
  CAF_CHECK(all.at("next").is_null());
  auto theirs = call_json("GET", "/api/v1/mailboxes", bob).at("mailboxes");
  CAF_REQUIRE_EQUAL(theirs.size(), 1u);
  CAF_CHECK_EQUAL(theirs[0].at("id").get<std::string>(), bobs);
  for (const char* limit : {"0", "101", "x"})
    CAF_CHECK_EQUAL(
        outcome("GET", std::string{"/api/v1/mailboxes?limit="} + limit, alice),
        "400 invalid_field");
  CAF_CHECK_EQUAL(outcome("GET", "/api/v1/mailboxes?after=%zz", alice),
                  "400 invalid_query");
  // A deleted mailbox leaves the list.
  CAF_CHECK_EQUAL(outcome("DELETE", "/api/v1/mailboxes/" + *created.begin(), alice),
                  "204 ");
  CAF_CHECK_EQUAL(call_json("GET", "/api/v1/mailboxes", alice).at("mailboxes").size(),
                  4u);
}

CAF_TEST(an address is exclusive and a pending one expires with its state) {
  auto alice = create_account("Alice").at("api_key").get<std::string>();
  auto bob = create_account("Bob").at("api_key").get<std::string>();
  auto first = create_mailbox(alice, "support@contoso.test");
  auto res =
      call("POST", "/api/v1/mailboxes", bob, R"({"address":"SUPPORT@Contoso.test"})");
  CAF_CHECK_EQUAL(res.status, 409u);
  CAF_CHECK_EQUAL(error_code(res), "address_in_use");
  // --authorization-timeout 2: after it, the pending mailbox gives the address up.
  std::string second_url;
  CAF_CHECK(test::eventually(
      [&] {
        auto r = call("POST", "/api/v1/mailboxes", bob,
                      R"({"address":"SUPPORT@Contoso.test"})");
        if (r.status == 201) second_url = json::parse(r.body).at("authorize_url");
        return r.status == 201;
      },
      std::chrono::seconds(10), std::chrono::milliseconds(200)));
  // Alice's link has expired with its state.
  auto late = follow(first.at("authorize_url"));
  CAF_CHECK_EQUAL(late.status, 400u);
  CAF_CHECK_EQUAL(error_code(late), "state_expired");
  auto mine = mailbox(alice, first.at("id"));
  CAF_CHECK_EQUAL(mine.at("status"), "pending_authorization");
  CAF_CHECK_EQUAL(mine.at("last_error").at("code"), "authorization_expired");
  // Bob connects; now nobody else can have it, connected or not.
  auto done = follow(second_url);
  CAF_CHECK_EQUAL(done.status, 200u);
  auto again = call(
      "POST", "/api/v1/mailboxes/" + first.at("id").get<std::string>() + "/reauthorize",
      alice);
  CAF_CHECK_EQUAL(again.status, 409u);
  CAF_CHECK_EQUAL(error_code(again), "address_in_use");
}

CAF_TEST(no request body is read before the caller is authenticated) {
  auto key = create_account("A").at("api_key").get<std::string>();
  // A megabyte announced and ten bytes sent: the refusal comes without the rest.
  auto refused_head = [&](const std::string& path, const std::string& token) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket{io};
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    boost::asio::write(socket, boost::asio::buffer("POST " + path +
                                                   " HTTP/1.1\r\nHost: a\r\n"
                                                   "Authorization: Bearer " +
                                                   token +
                                                   "\r\nContent-Length: 1000000\r\n"
                                                   "\r\n0123456789"));
    std::string head;
    char c;
    boost::system::error_code ec;
    while (head.find("\r\n\r\n") == std::string::npos &&
           socket.read_some(boost::asio::buffer(&c, 1), ec) == 1)
      head += c;
    return head.substr(0, head.find("\r\n"));
  };
  CAF_CHECK_EQUAL(refused_head("/api/v1/mailboxes", "wrong"),
                  "HTTP/1.1 401 Unauthorized");
  CAF_CHECK_EQUAL(refused_head("/api/v1/accounts", key), "HTTP/1.1 403 Forbidden");
  CAF_CHECK_EQUAL(refused_head("/api/v1/nothing", key), "HTTP/1.1 404 Not Found");
  CAF_CHECK_EQUAL(refused_head("/api/v1/tickets", key),
                  "HTTP/1.1 405 Method Not Allowed");
  // Refusals are counted like any answer.
  auto metrics = call("GET", "/metrics", "");
  CAF_CHECK(metrics.body.find("exconnect_http_requests_total{route=\"/api/v1/mailboxes\","
                              "method=\"POST\",status=\"401\"} 1") != std::string::npos);
}

CAF_TEST(sign - in links for an address are bounded per hour) {
  auto alice = create_account("Alice").at("api_key").get<std::string>();
  auto first = create_mailbox(alice, "support@contoso.test");
  auto path = "/api/v1/mailboxes/" + first.at("id").get<std::string>() + "/reauthorize";
  CAF_CHECK_EQUAL(outcome("POST", path, alice), "200 ");
  CAF_CHECK_EQUAL(outcome("POST", path, alice), "200 ");
  auto res = call("POST", path, alice);
  CAF_CHECK_EQUAL(res.status, 429u);
  CAF_CHECK_EQUAL(error_code(res), "too_many_sign_ins");
  auto wait = std::stoi(std::string{res.header("Retry-After")});
  CAF_CHECK(wait > 3500 && wait <= 3600);
}

CAF_TEST(a used sign in link that failed gives the address up at once) {
  auto alice = create_account("Alice").at("api_key").get<std::string>();
  auto bob = create_account("Bob").at("api_key").get<std::string>();
  auto first = create_mailbox(alice, "support@contoso.test");
  auto url = first.at("authorize_url").get<std::string>();
  auto query = net::parse_query(url.substr(url.find('?') + 1));
  CAF_REQUIRE(query);
  auto state = net::find_param(*query, "state").value_or("");
  // The admin declined consent at Microsoft: the one link is spent.
  auto refused =
      call("GET",
           "/oauth/callback?" + net::encode_query({{"state", state},
                                                   {"error", "access_denied"},
                                                   {"error_description", "AADSTS65004"}}),
           "", {}, {{"Accept", "application/json"}});
  CAF_CHECK_EQUAL(refused.status, 400u);
  CAF_CHECK_EQUAL(error_code(refused), "consent_refused");
  // Nobody waits the authorization timeout for an address nobody is connecting.
  auto taken =
      call("POST", "/api/v1/mailboxes", bob, R"({"address":"support@contoso.test"})");
  CAF_CHECK_EQUAL(taken.status, 201u);
  auto mine = mailbox(alice, first.at("id"));
  CAF_CHECK_EQUAL(mine.at("status"), "pending_authorization");
  CAF_CHECK_EQUAL(mine.at("last_error").at("code"), "authorization_expired");
}

CAF_TEST(pause resume and delete) {
  auto key = create_account("A").at("api_key").get<std::string>();
  auto id = connect(key, "support@contoso.test").at("id").get<std::string>();
  auto paused = call_json("POST", "/api/v1/mailboxes/" + id + "/pause", key);
  CAF_CHECK_EQUAL(paused.at("status"), "paused");
  restart_daemon();
  CAF_CHECK_EQUAL(json(mailbox(key, id).at("status")), "paused");
  auto resumed = call_json("POST", "/api/v1/mailboxes/" + id + "/resume", key);
  CAF_CHECK_EQUAL(resumed.at("status"), "connected");
  auto polled =
      wait_mailbox(key, id, [](const json& v) { return v["last_poll_at"].is_string(); });
  CAF_CHECK(polled.at("last_poll_at").is_string());
  CAF_CHECK_EQUAL(outcome("DELETE", "/api/v1/mailboxes/" + id, key), "204 ");
  CAF_CHECK_EQUAL(outcome("GET", "/api/v1/mailboxes/" + id, key), "404 not_found");
  // The address is free again; the credentials are gone.
  auto again = create_mailbox(key, "support@contoso.test");
  CAF_CHECK_EQUAL(again.at("status"), "pending_authorization");
}

CAF_TEST(metrics count requests mailboxes and refreshes) {
  auto key = create_account("A").at("api_key").get<std::string>();
  auto id = connect(key, "support@contoso.test").at("id").get<std::string>();
  create_mailbox(key, "sales@contoso.test");
  call("GET", "/api/v1/mailboxes/nope", key);
  auto text = call("GET", "/metrics", "").body;
  CAF_CHECK_NOT_EQUAL(text.find("exconnect_mailboxes{status=\"connected\"} 1"),
                      std::string::npos);
  CAF_CHECK_NOT_EQUAL(
      text.find("exconnect_mailboxes{status=\"pending_authorization\"} 1"),
      std::string::npos);
  CAF_CHECK_NOT_EQUAL(
      text.find("exconnect_http_requests_total{route=\"/api/v1/mailboxes/{id}\","
                "method=\"GET\",status=\"404\"} 1"),
      std::string::npos);
  CAF_CHECK_NOT_EQUAL(
      text.find("exconnect_token_requests_total{kind=\"code\",result=\"ok\"} 1"),
      std::string::npos);
  CAF_CHECK_NOT_EQUAL(text.find("# TYPE exconnect_http_requests_total counter"),
                      std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()

// graph-sim's fault injection (errors with or without Retry-After, dropped connections,
// latency; seeded and reproducible) and its robustness against bad input.
#define CAF_SUITE graph_sim_faults
#include <caf/test/unit_test.hpp>

#include "fixture.hpp"

#include "net/url.hpp"

#include <algorithm>
#include <cctype>

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

struct faults_fixture : sim_fixture {
  std::string id; ///< one delivered message

  explicit faults_fixture(const std::vector<std::string>& args = {}) : sim_fixture(args) {
    id = sim.deliver(mailbox, test::sample_mail("f1"));
  }

  void set_faults(const json& f) { sim.control("PUT", "/faults", f); }

  /// The statuses of `n` sequential inbox requests (0 for a transport error).
  std::vector<unsigned> statuses(int n) {
    std::vector<unsigned> out;
    for (int i = 0; i < n; ++i)
      out.push_back(get(inbox()).status);
    return out;
  }

  /// A control call whose status the test checks (sim.control throws on non-2xx).
  net::client_response raw_control(const std::string& method, const std::string& path,
                                   const std::string& body) {
    return sim.call(method, "/_sim" + path, {{"Content-Type", "application/json"}}, body);
  }

  /// A GET whose header announces a body of `length` bytes but sends none: the
  /// server's body limit applies to the announced length.
  net::client_response announce(const std::string& path, std::uint64_t length) {
    return sim.call("GET", path, {{"Content-Length", std::to_string(length)}});
  }

  /// A body of `size` bytes.
  static std::string filler(std::size_t size) { return std::string(size, 'x'); }
};

struct body_limit_fixture : faults_fixture {
  body_limit_fixture() : faults_fixture({"--body-limit", "1048576"}) {}
};

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(graph_sim_faults_tests, faults_fixture)

CAF_TEST(error faults answer every Graph call with 503 and a decimal Retry After header) {
  set_faults({{"seed", 7},
              {"error_rate", 1.0},
              {"error_statuses", {503}},
              {"retry_after", "decimal"}});
  auto message = "/users/" + mailbox + "/messages/" + id;
  for (const auto& path :
       {inbox(), message, message + "/$value", message + "/attachments"}) {
    auto res = get(path);
    CAF_CHECK_EQUAL(res.status, 503u);
    CAF_CHECK(has_graph_error_shape(res));
    auto header = std::string{res.header("Retry-After")};
    CAF_CHECK(header.find('.') != std::string::npos);
    auto wait = retry_after(res);
    CAF_REQUIRE(wait.has_value());
    CAF_CHECK_GREATER(*wait, 0);
    CAF_CHECK_NOT_EQUAL(*wait, static_cast<double>(static_cast<long>(*wait)));
  }
  auto patch = sim.graph("PATCH", message, token, R"({"isRead":true})");
  CAF_CHECK_EQUAL(patch.status, 503u);
  CAF_CHECK_EQUAL(at(control_messages(mailbox), "/" + id + "/is_read"), false);
  CAF_CHECK_EQUAL(stat("/faults/errors"), 5);
}

CAF_TEST(error faults can leave the Retry After header out or give whole seconds) {
  set_faults({{"error_rate", 1.0}, {"retry_after", "missing"}});
  auto missing = get(inbox());
  CAF_CHECK_EQUAL(missing.status, 503u);
  CAF_CHECK(missing.header("Retry-After").empty());
  set_faults(
      {{"error_rate", 1.0}, {"retry_after", "integer"}, {"retry_after_seconds", 5}});
  auto integer = get(inbox());
  CAF_CHECK_EQUAL(integer.status, 503u);
  CAF_CHECK_EQUAL(std::string{integer.header("Retry-After")}, "5");
  // The status is drawn from error_statuses.
  set_faults({{"seed", 3}, {"error_rate", 1.0}, {"error_statuses", {429, 504}}});
  auto seen = statuses(20);
  CAF_CHECK(std::count(seen.begin(), seen.end(), 429u) > 0);
  CAF_CHECK(std::count(seen.begin(), seen.end(), 504u) > 0);
  CAF_CHECK_EQUAL(std::count(seen.begin(), seen.end(), 429u) +
                      std::count(seen.begin(), seen.end(), 504u),
                  20);
  auto res = get(inbox());
  CAF_CHECK(all_digits(std::string{res.header("Retry-After")}));
}

CAF_TEST(dropped connections reach the client as io errors) {
  set_faults({{"drop_rate", 1.0}});
  auto res = get(inbox());
  CAF_CHECK(!res.ok());
  CAF_CHECK_EQUAL(to_string(res.error), std::string{to_string(net::transport_error::io)});
  CAF_CHECK_EQUAL(res.status, 0u);
  CAF_CHECK_GREATER_OR_EQUAL(stat("/faults/drops").get<int>(), 1);
  sim.control("DELETE", "/faults");
  CAF_CHECK_EQUAL(get(inbox()).status, 200u);
}

CAF_TEST(latency faults delay the answer and are counted) {
  set_faults({{"latency_ms", {{"min", 300}, {"max", 300}}}});
  auto start = steady_clock::now();
  CAF_CHECK_EQUAL(get(inbox()).status, 200u);
  CAF_CHECK_GREATER_OR_EQUAL(steady_clock::now() - start, milliseconds(300));
  CAF_CHECK_EQUAL(stat("/faults/delays"), 1);
  set_faults({{"latency_ms", {{"min", 50}, {"max", 100}}}});
  start = steady_clock::now();
  CAF_CHECK_EQUAL(get(inbox()).status, 200u);
  CAF_CHECK_EQUAL(get(inbox()).status, 200u);
  CAF_CHECK_GREATER_OR_EQUAL(steady_clock::now() - start, milliseconds(100));
  CAF_CHECK_EQUAL(stat("/faults/delays"), 3);
  CAF_CHECK_EQUAL(stat("/faults/errors"), 0);
}

CAF_TEST(the control API and the login service are never faulted) {
  set_faults({{"error_rate", 1.0},
              {"drop_rate", 1.0},
              {"latency_ms", {{"min", 5000}, {"max", 5000}}}});
  auto start = steady_clock::now();
  CAF_CHECK_EQUAL(stat("/faults/errors"), 0);
  sim.create_mailbox("other@contoso.test");
  auto other =
      sim.deliver("other@contoso.test", test::sample_mail("o1", "other@contoso.test"));
  CAF_CHECK(control_messages("other@contoso.test").contains(other));
  sim.control("GET", "/clock");
  auto signed_in = sim.sign_in(app, "other@contoso.test");
  CAF_CHECK_EQUAL(sim.refresh(app, signed_in.at("refresh_token")).status, 200u);
  // Well under the 5 s an injected delay would have cost.
  CAF_CHECK_LESS(steady_clock::now() - start, milliseconds(4000));
  CAF_CHECK(!get(inbox()).ok());
}

CAF_TEST(the same seed gives the same sequence of outcomes) {
  auto run = [&](int seed) {
    set_faults({{"seed", seed}, {"error_rate", 0.5}});
    return statuses(40);
  };
  auto first = run(7);
  auto again = run(7);
  auto other = run(8);
  CAF_CHECK_EQUAL(first, again);
  CAF_CHECK(std::count(first.begin(), first.end(), 200u) > 0);
  CAF_CHECK(std::count(first.begin(), first.end(), 503u) > 0);
  CAF_CHECK_EQUAL(std::count(first.begin(), first.end(), 200u) +
                      std::count(first.begin(), first.end(), 503u),
                  40);
  CAF_CHECK_NOT_EQUAL(first, other);
  // Drops and latency draws are part of the sequence too.
  auto mixed = [&] {
    set_faults({{"seed", 11},
                {"error_rate", 0.3},
                {"drop_rate", 0.2},
                {"latency_ms", {{"min", 0}, {"max", 2}}}});
    return statuses(30);
  };
  CAF_CHECK_EQUAL(mixed(), mixed());
}

CAF_TEST(DELETE of the faults clears them) {
  set_faults({{"error_rate", 1.0}, {"latency_ms", {{"min", 10}, {"max", 10}}}});
  CAF_CHECK_EQUAL(get(inbox()).status, 503u);
  sim.control("DELETE", "/faults");
  CAF_CHECK_EQUAL(get(inbox()).status, 200u);
  auto now = sim.control("GET", "/faults");
  CAF_CHECK_EQUAL(now["error_rate"], 0);
  CAF_CHECK_EQUAL(now["drop_rate"], 0);
  CAF_CHECK_EQUAL(now["latency_ms"]["max"], 0);
  // The error came first, so the request was not also delayed.
  CAF_CHECK_EQUAL(stat("/faults/errors"), 1);
  CAF_CHECK_EQUAL(stat("/faults/delays"), 0);
}

CAF_TEST(a mailbox fault fails the requests of that mailbox with that method only) {
  sim.create_mailbox("other@contoso.test");
  auto other_token = sim.sign_in(app, "other@contoso.test").at("access_token");
  sim.control("PUT", "/mailboxes/" + mailbox + "/faults",
              {{"rules", {{{"method", "PATCH"}, {"status", 500}}}}});
  auto patch = [&](const std::string& path, const std::string& t) {
    return sim.graph("PATCH", path, t, json{{"categories", {"Blue"}}}.dump());
  };
  auto refused = patch(message_path(id), token);
  CAF_CHECK_EQUAL(refused.status, 500u);
  CAF_CHECK_EQUAL(error_code(refused), "ErrorInternalServerError");
  CAF_CHECK_EQUAL(get(inbox()).status, 200u); // GET still works
  auto theirs = sim.deliver("other@contoso.test", test::sample_mail("o1"));
  CAF_CHECK_EQUAL(
      patch("/users/other@contoso.test/messages/" + theirs, other_token).status,
      200u); // another mailbox's PATCH too
  // "*" hits every request; the view lists the rules; DELETE clears them.
  auto rules = sim.control(
      "PUT", "/mailboxes/" + mailbox + "/faults",
      {{"rules", {{{"method", "*"}, {"status", 503}, {"code", "ServiceUnavailable"}}}}});
  CAF_CHECK_EQUAL(rules["rules"][0]["code"], "ServiceUnavailable");
  CAF_CHECK_EQUAL(get(inbox()).status, 503u);
  CAF_CHECK_EQUAL(sim.control("GET", "/mailboxes/" + mailbox + "/faults")["rules"].size(),
                  1u);
  sim.control("DELETE", "/mailboxes/" + mailbox + "/faults");
  CAF_CHECK_EQUAL(get(inbox()).status, 200u);
  // A bad rule is refused.
  CAF_CHECK_EQUAL(raw_control("PUT", "/mailboxes/" + mailbox + "/faults",
                              R"({"rules":[{"status":200}]})")
                      .status,
                  400u);
}

CAF_TEST(malformed JSON is 400 and never crashes the simulator) {
  struct probe {
    const char* method;
    std::string path;
    std::string body;
  };
  std::vector<probe> probes = {
      {"POST", "/mailboxes", "{not json"},
      {"POST", "/mailboxes", "[1,2,3]"},
      {"POST", "/mailboxes", R"({"address":42})"},
      {"POST", "/apps", "{\"redirect_uris\": [1"},
      {"POST", "/apps", R"({"redirect_uris":"http://x"})"},
      {"PATCH", "/apps/" + app.client_id, "\xff\xfe"},
      {"PUT", "/faults", "nonsense"},
      {"PUT", "/faults", R"({"error_rate":2})"},
      {"PUT", "/faults", R"({"error_statuses":[200]})"},
      {"PUT", "/faults", R"({"retry_after":"sometimes"})"},
      {"PUT", "/faults", R"({"latency_ms":5})"},
      {"POST", "/clock/advance", "{}"},
      {"POST", "/clock/advance", R"({"seconds":-1})"},
      {"POST", "/grants/revoke", "{"},
      {"POST", "/mailboxes/" + mailbox + "/messages", "{\"mime\": 5}"},
      {"POST", "/mailboxes/" + mailbox + "/messages", R"({"mime_base64":"!!!"})"},
      {"POST", "/mailboxes/" + mailbox + "/messages", R"({"mime":"x","size":-3})"},
      {"POST", "/mailboxes/" + mailbox + "/messages",
       R"({"mime":"x","received_at":"soon"})"},
  };
  for (const auto& p : probes) {
    auto res = raw_control(p.method, p.path, p.body);
    CAF_CHECK_EQUAL(res.status, 400u);
    CAF_CHECK(has_graph_error_shape(res));
  }
  for (std::string bad : {"{isRead:", "null", "\"text\""}) {
    auto res = sim.graph("PATCH", "/users/" + mailbox + "/messages/" + id, token, bad);
    CAF_CHECK_EQUAL(res.status, 400u);
    CAF_CHECK_EQUAL(error_code(res), "BadRequest");
  }
  CAF_CHECK(sim.process().running());
  CAF_CHECK_EQUAL(get(inbox()).status, 200u);
}

CAF_TEST(unknown routes are 404) {
  for (std::string path :
       {"/nope", "/_sim/nope", "/_sim/mailboxes/nobody@x.test/messages",
        "/organizations/oauth2/v2.0/nope", "/organizations/nope/v2.0/token"}) {
    auto res = sim.call("GET", path);
    CAF_CHECK_EQUAL(res.status, 404u);
    CAF_CHECK(has_graph_error_shape(res));
  }
  for (const auto& path :
       std::vector<std::string>{"/nope", "/users/" + mailbox + "/nope",
                                "/users/" + mailbox + "/messages/" + id + "/nope"}) {
    auto res = get(path);
    CAF_CHECK_EQUAL(res.status, 404u);
    CAF_CHECK(has_graph_error_shape(res));
  }
  CAF_CHECK(sim.process().running());
}

CAF_TEST(invalid percent encoding is 400) {
  auto bearer = net::header_list{{"Authorization", "Bearer " + token}};
  for (const auto& target : std::vector<std::string>{
           "/v1.0/users/%zz/mailFolders/inbox/messages",
           "/v1.0/users/" + mailbox + "/mailFolders/inbox/messages?%24top=%G1",
           "/v1.0/users/" + mailbox + "/messages/%", "/_sim/mailboxes/%4/messages",
           "/organizations/oauth2/v2.0/authorize?client_id=%%"}) {
    auto res = sim.call("GET", target, bearer);
    CAF_CHECK_EQUAL(res.status, 400u);
    CAF_CHECK(has_graph_error_shape(res));
  }
  CAF_CHECK(sim.process().running());
  CAF_CHECK_EQUAL(get(inbox()).status, 200u);
}

CAF_TEST(help describes the switches and a bad switch is refused) {
  auto log = dir.file("help.log");
  test::run_command({test::graph_sim_binary(), "--help"}, log);
  auto help = test::read_file(log);
  for (const char* option :
       {"--port-file", "--tls-cert", "--token-ttl", "--strict-rotation", "--request-rate",
        "--fetch-rate", "--body-limit"})
    CAF_CHECK(help.find(option) != std::string::npos);
  for (auto args : {std::vector<std::string>{"--no-such-switch"},
                    std::vector<std::string>{"--fetch-rate", "lots"},
                    std::vector<std::string>{"--port", "70000"},
                    std::vector<std::string>{"--tls-cert", ca.server_cert}}) {
    args.insert(args.begin(), test::graph_sim_binary());
    bool refused = false;
    try {
      test::run_command(args, dir.file("bad-switch.log"));
    } catch (const std::runtime_error&) {
      refused = true;
    }
    CAF_CHECK(refused);
  }
}

CAF_TEST(the default body limit is 60 MiB) {
  // A request announcing more than 60 MiB is refused as soon as its header is read.
  // (The client sends no body here: net::http_client keeps a Content-Length header it is
  // given for a GET without body.)
  auto start = steady_clock::now();
  auto over = announce("/_sim/mailboxes", 60ull * 1024 * 1024 + 1);
  CAF_REQUIRE(over.ok());
  CAF_CHECK_EQUAL(over.status, 413u);
  CAF_CHECK_EQUAL(error_code(over), "RequestEntityTooLarge");
  CAF_CHECK(has_graph_error_shape(over));
  CAF_CHECK_EQUAL(announce("/v1.0" + inbox(), 61ull * 1024 * 1024).status, 413u);
  CAF_CHECK_LESS(steady_clock::now() - start,
                 milliseconds(10000)); // no hang, even under ASan
  // A body of exactly 60 MiB is read and answered for what it says (no such route).
  start = steady_clock::now();
  auto at = sim.call("POST", "/_sim/nope", {{"Content-Type", "application/json"}},
                     filler(60ull * 1024 * 1024));
  CAF_REQUIRE(at.ok());
  CAF_CHECK_EQUAL(at.status, 404u);
  CAF_CHECK_LESS(steady_clock::now() - start,
                 milliseconds(10000)); // no hang, even under ASan
  CAF_CHECK_EQUAL(stat("/requests/transport/413"), 2);
  CAF_CHECK(sim.process().running());
  CAF_CHECK_EQUAL(get(inbox()).status, 200u);
}

CAF_TEST(a real body over the limit does not crash the simulator) {
  // The client may see the 413 or a reset connection (see the disabled test below).
  auto res = sim.call("POST", "/_sim/mailboxes", {{"Content-Type", "application/json"}},
                      filler(61ull * 1024 * 1024));
  CAF_CHECK(!res.ok() || res.status == 413u);
  CAF_CHECK(sim.process().running());
  CAF_CHECK_EQUAL(get(inbox()).status, 200u);
}

// The server drains the rest of a refused body before closing; without that the client,
// still sending, gets a connection reset instead of the 413.
CAF_TEST(a client sending a body over the limit reads the 413) {
  for (int i = 0; i < 5; ++i) {
    auto res = sim.call("POST", "/_sim/mailboxes", {{"Content-Type", "application/json"}},
                        filler(61ull * 1024 * 1024));
    CAF_CHECK(res.ok());
    CAF_CHECK_EQUAL(res.status, 413u);
    if (!res.ok()) CAF_MESSAGE(res.error_message);
  }
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(graph_sim_faults_body_limit_tests, body_limit_fixture)

CAF_TEST(a body over the configured limit is 413) {
  auto over = announce("/_sim/mailboxes", 1048577);
  CAF_REQUIRE(over.ok());
  CAF_CHECK_EQUAL(over.status, 413u);
  CAF_CHECK_EQUAL(error_code(over), "RequestEntityTooLarge");
  CAF_CHECK(has_graph_error_shape(over));
  CAF_CHECK_EQUAL(announce("/v1.0/users/" + mailbox + "/messages/" + id, 1048577).status,
                  413u);
  // At the limit the body is read (and refused for what it says, not for its size).
  auto at = sim.call("POST", "/_sim/mailboxes", {{"Content-Type", "application/json"}},
                     filler(1048576));
  CAF_CHECK_EQUAL(at.status, 400u);
  auto patch = sim.graph("PATCH", "/users/" + mailbox + "/messages/" + id, token,
                         R"({"categories":[")" + filler(1048576 - 20) + R"("]})");
  CAF_CHECK_EQUAL(patch.status, 200u);
  CAF_CHECK_EQUAL(stat("/requests/transport/413"), 2);
  CAF_CHECK(sim.process().running());
  CAF_CHECK_EQUAL(get(inbox()).status, 200u);
}

CAF_TEST_FIXTURE_SCOPE_END()

#define CAF_SUITE graph_batch
#include <caf/test/unit_test.hpp>

#include "net/graph/batch.hpp"
#include "net/url.hpp"

#include <nlohmann/json.hpp>

using namespace exc;
using nlohmann::json;

namespace {

const std::string graph = "https://graph.test/v1.0";

net::client_request listing(const std::string& user, const std::string& token = "t1") {
  net::client_request req;
  req.url = graph + "/users/" + user + "/mailFolders/inbox/messages?%24top=100";
  req.headers = {{"Authorization", "Bearer " + token},
                 {"Prefer", "IdType=\"ImmutableId\""}};
  return req;
}

net::client_response answer(unsigned status, std::string body) {
  net::client_response res;
  res.status = status;
  res.body = std::move(body);
  return res;
}

} // namespace

CAF_TEST(only gets below the graph url with a token can be batched) {
  CAF_CHECK(graph::batchable(listing("a"), graph));
  auto post = listing("a");
  post.method = "POST";
  CAF_CHECK(!graph::batchable(post, graph));
  auto elsewhere = listing("a");
  elsewhere.url = "https://other.test/v1.0/users/a/messages";
  CAF_CHECK(!graph::batchable(elsewhere, graph));
  auto lookalike = listing("a");
  lookalike.url = graph + "x/users/a/messages";
  CAF_CHECK(!graph::batchable(lookalike, graph));
  auto anonymous = listing("a");
  anonymous.headers.erase(anonymous.headers.begin());
  CAF_CHECK(!graph::batchable(anonymous, graph));
  CAF_CHECK(!graph::batchable(listing("a"), ""));
}

CAF_TEST(a batch carries each request relative to graph with the token once) {
  auto a = listing("a");
  auto b = listing("b");
  b.timeout = std::chrono::milliseconds{45'000};
  auto out = graph::batch_of(graph, {&a, &b});
  CAF_CHECK_EQUAL(out.method, "POST");
  CAF_CHECK_EQUAL(out.url, graph + "/$batch");
  CAF_CHECK_EQUAL(out.header("Authorization"), "Bearer t1");
  CAF_CHECK_EQUAL(out.header("Content-Type"), "application/json");
  CAF_CHECK_EQUAL(out.timeout.count(), 45'000);
  auto body = json::parse(out.body);
  CAF_REQUIRE_EQUAL(body["requests"].size(), 2u);
  auto first = body["requests"][0];
  CAF_CHECK_EQUAL(first["id"], "0");
  CAF_CHECK_EQUAL(first["method"], "GET");
  CAF_CHECK_EQUAL(first["url"], "/users/a/mailFolders/inbox/messages?%24top=100");
  CAF_CHECK_EQUAL(first["headers"]["Prefer"], "IdType=\"ImmutableId\"");
  CAF_CHECK(!first["headers"].contains("Authorization"));
  CAF_CHECK_EQUAL(body["requests"][1]["id"], "1");
}

CAF_TEST(a batch escapes what json needs escaped and keeps a header once) {
  auto odd = listing("a");
  odd.url = graph + "/users/a\"b\\c\x01/messages";
  odd.headers.emplace_back("Prefer", "odata.maxpagesize=10"); // given twice: the last
  odd.headers.emplace_back("X-Note", "tab\there \"quoted\"");
  auto bare = listing("b");
  bare.headers = {{"Authorization", "Bearer t1"}}; // nothing but the token
  auto body = json::parse(graph::batch_of(graph, {&odd, &bare}).body);
  auto first = body["requests"][0]; // copies: CAF_CHECK_EQUAL binds by reference
  CAF_CHECK_EQUAL(first["url"], "/users/a\"b\\c\x01/messages");
  CAF_CHECK_EQUAL(first["headers"]["Prefer"], "odata.maxpagesize=10");
  CAF_CHECK_EQUAL(first["headers"]["X-Note"], "tab\there \"quoted\"");
  CAF_CHECK_EQUAL(first["headers"].size(), 2u);
  auto second = body["requests"][1];
  CAF_CHECK(!second.contains("headers"));
  CAF_CHECK_EQUAL(second["url"], "/users/b/mailFolders/inbox/messages?%24top=100");
}

CAF_TEST(each request gets its own answer whatever the order of the items) {
  auto raw = net::base64_encode("From: a\r\n\r\nhi");
  auto outer = answer(200, R"({"responses": [
    {"id": "1", "status": 429, "headers": {"Retry-After": "7"},
     "body": {"error": {"code": "TooManyRequests"}}},
    {"id": "0", "status": 200, "headers": {"Content-Type": "application/json"},
     "body": {"value": []}},
    {"id": "2", "status": 200, "body": ")" +
                               raw + R"("}]})");
  auto got = graph::answers_of(outer, 3);
  CAF_REQUIRE_EQUAL(got.size(), 3u);
  CAF_CHECK(got[0].ok());
  CAF_CHECK_EQUAL(got[0].status, 200u);
  CAF_CHECK_EQUAL(json::parse(got[0].body), (json{{"value", json::array()}}));
  CAF_CHECK_EQUAL(got[0].header("content-type"), "application/json");
  CAF_CHECK_EQUAL(got[1].status, 429u);
  CAF_CHECK_EQUAL(got[1].header("Retry-After"), "7");
  auto refusal = json::parse(got[1].body); // CAF_CHECK_EQUAL binds by reference
  CAF_CHECK_EQUAL(refusal["error"]["code"], "TooManyRequests");
  CAF_CHECK_EQUAL(got[2].body, "From: a\r\n\r\nhi");
}

CAF_TEST(a batch refused or lost as a whole is the answer of every request) {
  auto throttled = answer(429, R"({"error":{"code":"TooManyRequests"}})");
  throttled.headers.emplace_back("Retry-After", "3");
  for (const auto& a : graph::answers_of(throttled, 2)) {
    CAF_CHECK_EQUAL(a.status, 429u);
    CAF_CHECK_EQUAL(a.header("Retry-After"), "3");
  }
  net::client_response lost;
  lost.error = net::transport_error::timeout;
  for (const auto& a : graph::answers_of(lost, 2))
    CAF_CHECK(a.error == net::transport_error::timeout);
}

CAF_TEST(an answer that is not a batch answer fails the requests it lacks) {
  for (const auto& a : graph::answers_of(answer(200, "<html>"), 2))
    CAF_CHECK(a.error == net::transport_error::protocol);
  // Item 1 is missing; ids it never gave, twice the same one, or no status are ignored
  // or refused.
  auto partial =
      answer(200, json{{"responses",
                        {{{"id", "0"}, {"status", 200}, {"body", json::object()}},
                         {{"id", "0"}, {"status", 500}},
                         {{"id", "7"}, {"status", 200}},
                         {{"id", "-1"}, {"status", 200}},
                         {{"id", "2"}}}}}
                      .dump());
  auto got = graph::answers_of(partial, 3);
  CAF_CHECK_EQUAL(got[0].status, 200u);
  CAF_CHECK(got[1].error == net::transport_error::protocol);
  CAF_CHECK(got[2].error == net::transport_error::protocol);
}

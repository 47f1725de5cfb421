// graph-sim's JSON batching (POST /v1.0/$batch): each inner request is answered as if
// it had come alone (authenticated, limited and counted on its own), and a batch Graph
// would not take is refused as a whole.
#define CAF_SUITE graph_sim_batch
#include <caf/test/unit_test.hpp>

#include "fixture.hpp"
#include "net/url.hpp"

using nlohmann::json;

namespace {

struct batch_fixture : sim_fixture {
  explicit batch_fixture(const std::vector<std::string>& args = {}) : sim_fixture(args) {}

  static json item(const std::string& id, const std::string& url,
                   const std::string& method = "GET") {
    return {{"id", id}, {"method", method}, {"url", url}};
  }

  net::client_response batch(const json& requests, const std::string& with = "token") {
    auto body = json{{"requests", requests}}.dump();
    if (with.empty())
      return sim.call("POST", "/v1.0/$batch", {{"Content-Type", "application/json"}},
                      body);
    return sim.graph("POST", "/$batch", with == "token" ? token : with, body);
  }

  /// The batch's answers by id.
  static std::map<std::string, json> answers(const net::client_response& res) {
    std::map<std::string, json> out;
    auto all = body(res);
    for (const auto& r : all.at("responses"))
      out[r.at("id").get<std::string>()] = r;
    return out;
  }
};

struct rate_fixture : batch_fixture {
  rate_fixture() : batch_fixture({"--request-rate", "3/600"}) {}
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(graph_sim_batch_tests, batch_fixture)

CAF_TEST(a batch answers each request as if it had come alone) {
  auto id = sim.deliver(mailbox, test::sample_mail("batch-1"));
  auto res = batch({item("list", inbox() + "?%24select=id"),
                    item("raw", message_path(id) + "/$value"),
                    item("nobody", inbox_of("nobody@contoso.test"))});
  CAF_REQUIRE_EQUAL(res.status, 200u);
  auto got = answers(res);
  CAF_REQUIRE_EQUAL(got.size(), 3u);
  CAF_CHECK_EQUAL(got["list"]["status"], 200);
  CAF_CHECK_EQUAL(got["list"]["body"]["value"].size(), 1u);
  CAF_CHECK_EQUAL(got["list"]["body"]["value"][0]["id"], id);
  // Its headers as an object, without the transport's own.
  const auto& headers = got["list"]["headers"];
  CAF_REQUIRE(headers.is_object());
  CAF_CHECK(headers.value("Content-Type", "").find("application/json") == 0);
  CAF_CHECK(headers.contains("request-id"));
  CAF_CHECK(!headers.contains("Content-Length"));
  CAF_CHECK(!headers.contains("Date"));
  // MIME is not JSON: base64, as Graph sends it.
  CAF_CHECK_EQUAL(got["raw"]["status"], 200);
  auto mime = net::base64_decode(got["raw"]["body"].get<std::string>());
  CAF_REQUIRE(mime);
  CAF_CHECK_NOT_EQUAL(mime->find("batch-1"), std::string::npos);
  CAF_CHECK_EQUAL(got["nobody"]["status"], 404);
  CAF_CHECK_EQUAL(got["nobody"]["body"]["error"]["code"], "ErrorInvalidUser");
  // Each is counted under its own endpoint, the batch once.
  CAF_CHECK_EQUAL(stat("/requests/batch/200"), 1);
  CAF_CHECK_EQUAL(stat("/requests/list_messages/200"), 1);
  CAF_CHECK_EQUAL(stat("/requests/list_messages/404"), 1);
}

CAF_TEST(links in a batch answer are absolute as graph gives them) {
  sim.deliver(mailbox, test::sample_mail("batch-a"));
  sim.deliver(mailbox, test::sample_mail("batch-b"));
  auto res =
      batch({item("page", inbox() + "?%24top=1"), item("delta", inbox() + "/delta")});
  CAF_REQUIRE_EQUAL(res.status, 200u);
  auto got = answers(res);
  auto next = got["page"]["body"].value("@odata.nextLink", "");
  auto delta = got["delta"]["body"].value("@odata.deltaLink", "");
  CAF_CHECK_EQUAL(next.rfind(sim.base() + "/v1.0/users/", 0), 0u);
  CAF_CHECK_EQUAL(delta.rfind(sim.base() + "/v1.0/users/", 0), 0u);
}

CAF_TEST(a batch takes its token from its own authorization header) {
  auto res = batch(json::array({item("a", inbox())}), "");
  CAF_REQUIRE_EQUAL(res.status, 200u);
  auto got = answers(res);
  CAF_CHECK_EQUAL(got["a"]["status"], 401);
  CAF_CHECK_EQUAL(got["a"]["body"]["error"]["code"], "InvalidAuthenticationToken");
}

CAF_TEST(a batch graph would not take is refused as a whole) {
  auto many = json::array();
  for (int i = 0; i < 21; ++i)
    many.push_back(item(std::to_string(i), inbox()));
  auto one = [](json request) { return json::array({std::move(request)}); };
  auto dependent = item("1", inbox());
  dependent["dependsOn"] = {"0"};
  auto no_method = item("1", inbox());
  no_method.erase("method");
  // Each with the reason Graph's message gives.
  std::vector<std::pair<json, std::string>> refused{
      {many, "exceeds the maximum of 20"},
      {json::array(), "no requests"},
      {json::array({item("1", inbox()), item("1", inbox())}), "unique"},
      {one(item("1", "https://graph.microsoft.com/v1.0" + inbox())), "relative"},
      {one(item("1", inbox(), "FETCH")), "Unknown method"},
      {one(dependent), "dependsOn"},
      {one(no_method), "needs id, method and url"},
      {item("1", inbox()), "Invalid batch payload format"}};
  for (const auto& [requests, reason] : refused) {
    auto res = batch(requests);
    CAF_CHECK_EQUAL(res.status, 400u);
    CAF_CHECK(has_graph_error_shape(res));
    auto message = body(res)["error"].value("message", "");
    if (message.find(reason) == std::string::npos)
      CAF_FAIL("refused for another reason: " << message << " (expected " << reason
                                              << ")");
  }
  auto not_json = sim.graph("POST", "/$batch", token, "{\"requests\": [");
  CAF_CHECK_EQUAL(not_json.status, 400u);
  CAF_CHECK_EQUAL(sim.graph("GET", "/$batch", token).status, 405u);
  CAF_CHECK_EQUAL(stat("/requests/list_messages/200"), json{});
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(graph_sim_batch_rate_tests, rate_fixture)

CAF_TEST(each request of a batch is throttled on its own) {
  auto requests = json::array();
  for (int i = 0; i < 5; ++i)
    requests.push_back(item(std::to_string(i), inbox()));
  auto res = batch(requests);
  CAF_REQUIRE_EQUAL(res.status, 200u);
  int ok = 0, throttled = 0;
  for (auto& [id, r] : answers(res)) {
    if (r["status"] == 200) ++ok;
    if (r["status"] == 429) {
      ++throttled;
      CAF_CHECK(r["headers"].contains("Retry-After"));
      CAF_CHECK_EQUAL(r["body"]["error"]["code"], "ApplicationThrottled");
    }
  }
  CAF_CHECK_EQUAL(ok, 3);
  CAF_CHECK_EQUAL(throttled, 2);
  CAF_CHECK_EQUAL(stat("/throttled/request_rate"), 2);
}

CAF_TEST_FIXTURE_SCOPE_END()

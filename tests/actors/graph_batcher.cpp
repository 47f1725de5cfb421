#define CAF_SUITE graph_batcher
// 0.17.6's dsl.hpp uses an undefined FAIL macro.
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "actors/graph_batcher.hpp"
#include "messages/services.hpp"
#include "mock_http.hpp"
#include "net/url.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>

using namespace exc;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string graph = "https://graph.test/v1.0";

net::client_request listing(const std::string& user, const std::string& token = "t1") {
  net::client_request req;
  req.url = graph + "/users/" + user + "/mailFolders/inbox/messages";
  req.headers = {{"Authorization", "Bearer " + token}};
  return req;
}

/// What the callers got, by name.
struct answers {
  std::map<std::string, net::client_response> responses;
  std::map<std::string, caf::error> errors;
};

struct fixture : test_coordinator_fixture<>, test::mock_http_access<fixture> {
  using test::mock_http_access<fixture>::request; // not the fixture's own
  test::mock_http_actor http = sys.spawn(test::mock_http, 0);
  graph_batcher_actor batcher;
  /// Shared with the callers: CAF's fixture runs what is left after this one ended.
  std::shared_ptr<answers> answered = std::make_shared<answers>();
  answers& got = *answered;

  fixture() {
    service::put(sys, caf::actor_cast<http_actor>(http));
    graph_batcher_config cfg;
    cfg.graph_url = graph;
    batcher = sys.spawn(graph_batcher, cfg);
  }

  ~fixture() {
    for (const caf::actor& a :
         {caf::actor_cast<caf::actor>(batcher), caf::actor_cast<caf::actor>(http)})
      self->send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// Sends `req` to the BATCHER from an actor of its own, which records the answer.
  /// (The arguments go through spawn: CAF 0.17 dereferences a null argument tuple
  /// for a function actor spawned without any, which UBSan reports.)
  void ask(const std::string& name, net::client_request req) {
    sys.spawn(caller, batcher, req, name, answered);
    sched.run();
  }

  static void caller(caf::event_based_actor* self, graph_batcher_actor to,
                     net::client_request req, std::string name,
                     std::shared_ptr<answers> out) {
    self->request(to, caf::infinite, req)
        .then([=](net::client_response& res) { out->responses[name] = res; },
              [=](caf::error& err) { out->errors[name] = err; });
  }

  json batch_body(std::size_t exchange) { return json::parse(request(exchange).body); }

  /// The "value" of the JSON body `name` got (a copy: CAF_CHECK_EQUAL binds by
  /// reference, an element of a temporary would dangle).
  std::string value_got(const std::string& name) {
    return json::parse(got.responses[name].body).value("value", "");
  }
};

net::client_response ok_with(json body) {
  net::client_response res;
  res.status = 200;
  res.body = body.dump();
  return res;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(graph_batcher_tests, fixture)

CAF_TEST(gets with one token wait their window then go as one batch) {
  ask("a", listing("a"));
  ask("b", listing("b"));
  CAF_CHECK_EQUAL(exchanges(), 0u); // waiting for others
  sched.advance_time(20ms);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 1u);
  CAF_CHECK_EQUAL(request(0).url, graph + "/$batch");
  CAF_CHECK_EQUAL(request(0).header("Authorization"), "Bearer t1");
  auto body = batch_body(0);
  CAF_REQUIRE_EQUAL(body["requests"].size(), 2u);
  CAF_CHECK_EQUAL(body["requests"][1]["url"], "/users/b/mailFolders/inbox/messages");
  reply(0, ok_with({{"responses",
                     {{{"id", "1"}, {"status", 200}, {"body", {{"value", "b's"}}}},
                      {{"id", "0"}, {"status", 200}, {"body", {{"value", "a's"}}}}}}}));
  CAF_REQUIRE_EQUAL(got.responses.size(), 2u);
  CAF_CHECK_EQUAL(value_got("a"), "a's");
  CAF_CHECK_EQUAL(value_got("b"), "b's");
}

CAF_TEST(a full batch goes at once) {
  for (int i = 0; i < 20; ++i)
    ask("m" + std::to_string(i), listing("m" + std::to_string(i)));
  CAF_REQUIRE_EQUAL(exchanges(), 1u);
  CAF_CHECK_EQUAL(batch_body(0)["requests"].size(), 20u);
  ask("m20", listing("m20")); // the next batch begins and waits
  CAF_CHECK_EQUAL(exchanges(), 1u);
  sched.advance_time(20ms);
  sched.run();
  CAF_CHECK_EQUAL(exchanges(), 2u);
}

CAF_TEST(requests with different tokens never share a batch) {
  ask("a", listing("a", "tenant-1"));
  ask("b", listing("b", "tenant-2"));
  ask("c", listing("c", "tenant-2"));
  sched.advance_time(20ms);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 2u);
  // Alone with its token, a's request goes as it is; b's and c's as a batch.
  std::optional<std::size_t> plain, batch;
  for (std::size_t i = 0; i < 2; ++i)
    (request(i).url == graph + "/$batch" ? batch : plain) = i;
  CAF_REQUIRE(plain && batch);
  CAF_CHECK_EQUAL(request(*plain).url, listing("a").url);
  CAF_CHECK_EQUAL(request(*plain).header("Authorization"), "Bearer tenant-1");
  CAF_CHECK_EQUAL(request(*batch).header("Authorization"), "Bearer tenant-2");
  reply(*plain, ok_with({{"value", "a's"}}));
  CAF_CHECK_EQUAL(value_got("a"), "a's");
}

CAF_TEST(anything but a graph get passes straight on) {
  auto post = listing("a");
  post.method = "POST";
  post.body = "{}";
  ask("post", post);
  CAF_REQUIRE_EQUAL(exchanges(), 1u); // at once, no window
  CAF_CHECK_EQUAL(request(0).url, post.url);
  CAF_CHECK_EQUAL(request(0).body, "{}");
  reply(0, ok_with(json::object()));
  CAF_CHECK_EQUAL(got.responses["post"].status, 200u);
}

CAF_TEST(a batch graph refused is the answer of every caller) {
  ask("a", listing("a"));
  ask("b", listing("b"));
  sched.advance_time(20ms);
  sched.run();
  net::client_response throttled;
  throttled.status = 429;
  throttled.headers = {{"Retry-After", "5"}};
  reply(0, throttled);
  for (auto name : {"a", "b"}) {
    CAF_CHECK_EQUAL(got.responses[name].status, 429u);
    CAF_CHECK_EQUAL(got.responses[name].header("Retry-After"), "5");
  }
}

CAF_TEST(the batcher holds every callers deadline) {
  // Callers ask without a timer of their own (as this test's do): the BATCHER
  // answers within the request's deadline plus 30 s (answer_wait), batch or not.
  ask("a", listing("a"));
  ask("b", listing("b"));
  ask("alone", listing("c", "t2"));
  sched.advance_time(20ms);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 2u); // never answered
  sched.advance_time(59s);
  sched.run();
  CAF_CHECK_EQUAL(got.errors.size(), 0u);
  sched.advance_time(1s);
  sched.run();
  CAF_REQUIRE_EQUAL(got.errors.size(), 3u);
  for (auto& [name, err] : got.errors)
    CAF_CHECK_EQUAL(err, caf::sec::request_timeout);
}

CAF_TEST(an ending batcher answers every caller it holds) {
  ask("b1", listing("b", "t2"));
  ask("b2", listing("c", "t2"));
  self->send(batcher, atom::internal_v, atom::flush_v); // t2's batch leaves
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 1u);
  ask("waiting", listing("a"));
  ask("late", listing("d", "t3"));
  self->send_exit(batcher, caf::exit_reason::kill);
  sched.run();
  CAF_CHECK(got.responses.empty());
  CAF_CHECK_EQUAL(got.errors.size(), 4u);
  for (auto& [name, err] : got.errors)
    CAF_CHECK_EQUAL(err, caf::sec::request_receiver_down);
}

CAF_TEST(an ending batcher answers a caller whose lone request is under way) {
  ask("alone", listing("a"));
  sched.advance_time(20ms);
  sched.run();
  CAF_REQUIRE_EQUAL(exchanges(), 1u); // sent as it is, never answered
  self->send_exit(batcher, caf::exit_reason::kill);
  sched.run();
  CAF_REQUIRE_EQUAL(got.errors.count("alone"), 1u);
  CAF_CHECK_EQUAL(got.errors["alone"], caf::sec::request_receiver_down);
}

CAF_TEST_FIXTURE_SCOPE_END()

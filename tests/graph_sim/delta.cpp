// graph-sim's delta query of a folder's messages: rounds of pages ending in a
// deltaLink, later rounds with only what changed, removals, the options Microsoft
// allows, replays, and 410 for a token it no longer knows.
#define CAF_SUITE graph_sim_delta
#include <caf/test/unit_test.hpp>

#include "fixture.hpp"

#include "net/url.hpp"

#include <map>
#include <set>

using nlohmann::json;

namespace {

/// What one delta round returned: the items by id (the last state of each), the ids
/// removed, the number of pages and its deltaLink.
struct round_result {
  std::map<std::string, json> items;
  std::vector<std::string> order; ///< ids as they came
  std::set<std::string> removed;
  std::size_t pages = 0;
  std::string delta_link;
  unsigned status = 200;
  std::string error;
};

struct delta_fixture : sim_fixture {
  std::string delta_path() const { return inbox() + "/delta"; }

  /// Follows a round from `start` (a path with options, or a deltaLink) to its end.
  round_result round(const std::string& start, net::header_list headers = {}) {
    round_result out;
    std::string next = start;
    while (!next.empty() && out.pages < 100) {
      auto res = sim.graph("GET", next, token, {}, headers);
      if (res.status != 200) {
        out.status = res.status;
        out.error = error_code(res);
        return out;
      }
      ++out.pages;
      auto j = body(res);
      for (const auto& m : j["value"]) {
        auto id = m["id"].get<std::string>();
        out.order.push_back(id);
        if (m.contains("@removed"))
          out.removed.insert(id);
        else
          out.items[id] = m;
      }
      next = j.value("@odata.nextLink", "");
      out.delta_link = j.value("@odata.deltaLink", "");
      if (!next.empty()) CAF_CHECK(out.delta_link.empty());
    }
    return out;
  }

  std::string deliver(const std::string& tag, const json& options = json::object()) {
    return sim.deliver(mailbox, test::sample_mail(tag, mailbox, tag), options);
  }
};

std::string q(const std::string& path, const net::params& items) {
  return path + "?" + net::encode_query(items);
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(graph_sim_delta_tests, delta_fixture)

CAF_TEST(a first round returns the folder in pages and ends in a deltaLink) {
  std::set<std::string> delivered;
  for (int i = 0; i < 25; ++i)
    delivered.insert(deliver("d" + std::to_string(i)));
  sim.deliver(mailbox, test::sample_mail("elsewhere"), {{"folder", "archive"}});
  auto r = round(q(delta_path(), {{"$select", "id,subject,isRead"}}),
                 {{"Prefer", "odata.maxpagesize=10"}});
  CAF_REQUIRE_EQUAL(r.status, 200u);
  CAF_CHECK_EQUAL(r.pages, 3u);
  CAF_CHECK_EQUAL(r.order.size(), 25u); // each once
  std::set<std::string> ids;
  for (const auto& [id, m] : r.items)
    ids.insert(id);
  CAF_CHECK_EQUAL(ids, delivered);
  CAF_CHECK(r.removed.empty());
  CAF_CHECK_EQUAL(r.delta_link.rfind(sim.base() + "/v1.0/", 0), 0u);
  CAF_CHECK_NOT_EQUAL(r.delta_link.find("%24deltatoken="), std::string::npos);
  const auto& one = r.items.begin()->second;
  CAF_CHECK(one.contains("subject"));
  CAF_CHECK(!one.contains("body")); // $select holds for every page
  // Nothing changed: the next round is one empty page and the same kind of link.
  auto again = round(r.delta_link);
  CAF_CHECK_EQUAL(again.status, 200u);
  CAF_CHECK_EQUAL(again.pages, 1u);
  CAF_CHECK(again.order.empty());
  CAF_CHECK(!again.delta_link.empty());
}

CAF_TEST(a later round returns only created changed and removed messages) {
  auto a = deliver("a");
  auto b = deliver("b");
  auto c = deliver("c");
  auto first = round(q(delta_path(), {{"$select", "id,isRead,categories"}}));
  CAF_REQUIRE_EQUAL(first.items.size(), 3u);
  auto d = deliver("d");
  CAF_CHECK_EQUAL(sim.graph("PATCH", message_path(a), token,
                            R"({"categories":["Zendesk"],"isRead":true})")
                      .status,
                  200u);
  CAF_CHECK_EQUAL(sim.graph("DELETE", message_path(b), token).status, 204u);
  auto later = round(first.delta_link);
  CAF_REQUIRE_EQUAL(later.status, 200u);
  CAF_CHECK_EQUAL(later.items.size(), 2u);
  CAF_CHECK(later.items.count(d) == 1u);
  CAF_REQUIRE(later.items.count(a) == 1u);
  CAF_CHECK_EQUAL(later.items[a]["isRead"], true);
  CAF_CHECK_EQUAL(later.items[a]["categories"], json::array({"Zendesk"}));
  CAF_CHECK_EQUAL(later.removed, (std::set<std::string>{b}));
  CAF_CHECK(later.items.count(c) == 0u);
  auto after = round(later.delta_link);
  CAF_CHECK(after.order.empty());
}

CAF_TEST(a change during a round comes in the next round and is not lost) {
  for (int i = 0; i < 6; ++i)
    deliver("r" + std::to_string(i));
  auto page = sim.graph("GET", q(delta_path(), {{"$top", "2"}}), token);
  CAF_REQUIRE_EQUAL(page.status, 200u);
  auto next = body(page).value("@odata.nextLink", "");
  CAF_REQUIRE(!next.empty());
  auto late = deliver("late");
  auto rest = round(next);
  CAF_CHECK_EQUAL(rest.order.size(), 4u); // the round's own six, minus the first page
  CAF_CHECK(rest.items.count(late) == 0u);
  auto later = round(rest.delta_link);
  CAF_CHECK_EQUAL(later.order, (std::vector<std::string>{late}));
}

CAF_TEST(the filter of the first call holds for every round) {
  deliver("old", {{"received_at", "2026-01-01T00:00:00Z"}});
  auto fresh = deliver("fresh", {{"received_at", "2026-03-01T00:00:00Z"}});
  auto r =
      round(q(delta_path(), {{"$filter", "receivedDateTime ge 2026-02-01T00:00:00Z"}}));
  CAF_CHECK_EQUAL(r.order, (std::vector<std::string>{fresh}));
  deliver("old2", {{"received_at", "2026-01-02T00:00:00Z"}});
  auto fresh2 = deliver("fresh2", {{"received_at", "2026-03-02T00:00:00Z"}});
  auto later = round(r.delta_link);
  CAF_CHECK_EQUAL(later.order, (std::vector<std::string>{fresh2}));
  // gt and the newest first.
  auto desc =
      round(q(delta_path(), {{"$filter", "receivedDateTime gt 2026-01-01T00:00:00Z"},
                             {"$orderby", "receivedDateTime desc"},
                             {"$top", "1"}}));
  CAF_CHECK_EQUAL(desc.order.size(), 3u);
  CAF_CHECK_EQUAL(desc.order.front(), fresh2);
  CAF_CHECK_EQUAL(desc.pages, 3u);
}

CAF_TEST(options a delta does not take are refused) {
  auto status = [&](const net::params& items) {
    auto res = sim.graph("GET", q(delta_path(), items), token);
    CAF_CHECK(res.status == 200u || has_graph_error_shape(res));
    return res.status;
  };
  CAF_CHECK_EQUAL(status({{"$filter", "isRead eq false"}}), 400u);
  CAF_CHECK_EQUAL(status({{"$filter", "receivedDateTime lt 2026-01-01T00:00:00Z"}}),
                  400u);
  CAF_CHECK_EQUAL(status({{"$orderby", "receivedDateTime"}}), 400u);
  CAF_CHECK_EQUAL(status({{"$orderby", "subject desc"}}), 400u);
  CAF_CHECK_EQUAL(status({{"$skip", "2"}}), 400u);
  CAF_CHECK_EQUAL(status({{"$top", "0"}}), 400u);
  CAF_CHECK_EQUAL(status({{"changeType", "moved"}}), 400u);
  CAF_CHECK_EQUAL(status({{"$select", "nosuchfield"}}), 400u);
  CAF_CHECK_EQUAL(status({{"$orderby", "receivedDateTime desc"},
                          {"$filter", "receivedDateTime ge 2026-01-01T00:00:00Z"}}),
                  200u);
  // Options go on the first call only.
  auto link = round(delta_path()).delta_link;
  CAF_CHECK_EQUAL(sim.graph("GET", link + "&%24top=5", token).status, 400u);
  // The whole mailbox has no delta of messages: only a folder.
  CAF_CHECK_EQUAL(sim.graph("GET", "/users/" + mailbox + "/messages/delta", token).status,
                  400u);
  CAF_CHECK_EQUAL(sim.graph("POST", delta_path(), token, "{}").status, 405u);
}

CAF_TEST(an unknown or expired token is 410 syncStateNotFound) {
  deliver("x");
  auto r = round(delta_path());
  CAF_REQUIRE(!r.delta_link.empty());
  auto bad =
      sim.graph("GET", q(delta_path(), {{"$deltatoken", "bm90IGEgdG9rZW4"}}), token);
  CAF_CHECK_EQUAL(bad.status, 410u);
  CAF_CHECK_EQUAL(error_code(bad), "syncStateNotFound");
  CAF_CHECK(has_graph_error_shape(bad));
  // Another mailbox's token is unknown here.
  sim.create_mailbox("other@contoso.test");
  auto other_token = sim.sign_in(app, "other@contoso.test").at("access_token");
  auto theirs = sim.graph(
      "GET", "/users/other@contoso.test/mailFolders/inbox/messages/delta", other_token);
  auto their_link = body(theirs).value("@odata.deltaLink", "");
  auto tail = their_link.substr(their_link.find('?'));
  CAF_CHECK_EQUAL(sim.graph("GET", delta_path() + tail, token).status, 410u);
  // Expired by the control API: the old link is gone, a new round starts over.
  sim.control("POST", "/mailboxes/" + mailbox + "/delta/expire");
  auto expired = round(r.delta_link);
  CAF_CHECK_EQUAL(expired.status, 410u);
  CAF_CHECK_EQUAL(expired.error, "syncStateNotFound");
  auto fresh = round(delta_path());
  CAF_CHECK_EQUAL(fresh.status, 200u);
  CAF_CHECK_EQUAL(fresh.items.size(), 1u);
  CAF_CHECK_EQUAL(stat("/requests/delta_messages/410"), 3);
}

CAF_TEST(a token older than the removals graph sim remembers is 410) {
  deliver("keep");
  auto r = round(delta_path());
  // More removals than it keeps (1,000) forget the ones the token has not seen.
  std::vector<std::string> ids;
  for (int i = 0; i < 1001; ++i)
    ids.push_back(deliver("gone" + std::to_string(i)));
  for (const auto& id : ids)
    CAF_REQUIRE_EQUAL(sim.graph("DELETE", message_path(id), token).status, 204u);
  CAF_CHECK_EQUAL(round(r.delta_link).status, 410u);
}

CAF_TEST(with replay on the last change of a round comes again in the next) {
  sim.control("PUT", "/delta", {{"replay", true}});
  auto r = round(delta_path());
  auto a = deliver("a");
  auto first = round(r.delta_link);
  CAF_CHECK_EQUAL(first.order, (std::vector<std::string>{a}));
  auto second = round(first.delta_link);
  CAF_CHECK_EQUAL(second.order, (std::vector<std::string>{a})); // the same change again
  sim.control("PUT", "/delta", {{"replay", false}});
  auto third = round(second.delta_link);
  CAF_CHECK_EQUAL(third.order, (std::vector<std::string>{a}));
  CAF_CHECK(round(third.delta_link).order.empty());
  bool refused = false;
  try {
    sim.control("PUT", "/delta", {{"replay", "yes"}});
  } catch (const std::runtime_error&) {
    refused = true;
  }
  CAF_CHECK(refused);
}

CAF_TEST(changeType keeps a round to one kind of change) {
  auto a = deliver("a");
  auto created = round(q(delta_path(), {{"changeType", "created"}}));
  CAF_CHECK_EQUAL(created.order, (std::vector<std::string>{a}));
  auto b = deliver("b");
  sim.graph("PATCH", message_path(a), token, R"({"isRead":true})");
  auto later = round(created.delta_link);
  CAF_CHECK_EQUAL(later.order, (std::vector<std::string>{b})); // not the update of a
}

CAF_TEST(delta needs a token that may read the mailbox) {
  auto res = sim.graph("GET", delta_path(), "not-a-token");
  CAF_CHECK_EQUAL(res.status, 401u);
  auto send_only = token_for("Mail.Send offline_access");
  CAF_CHECK_EQUAL(sim.graph("GET", delta_path(), send_only).status, 403u);
}

CAF_TEST_FIXTURE_SCOPE_END()

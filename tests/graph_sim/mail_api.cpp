// graph-sim's Graph v1.0 mail API: list with
// $filter/$orderby/$select/$top/paging/$expand, get, $value, attachments, PATCH, DELETE
// and Microsoft's error shapes.
#define CAF_SUITE graph_sim_mail
#include <caf/test/unit_test.hpp>

#include "fixture.hpp"

#include "net/time_format.hpp"
#include "net/url.hpp"

#include <set>

using nlohmann::json;

namespace {

const std::string size_expand =
    "singleValueExtendedProperties($filter=id eq 'Integer 0x0E08')";

/// `path` with a query string built from `items` (names and values percent-encoded).
std::string with_query(const std::string& path, const net::params& items) {
  return path + "?" + net::encode_query(items);
}

/// A multipart/mixed mail: text and HTML alternatives plus a PDF attachment.
std::string mail_with_attachment() {
  return "From: Bob Sender <bob@customer.test>\r\n"
         "To: support@contoso.test\r\n"
         "Subject: Invoice attached\r\n"
         "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
         "Message-ID: <att1@customer.test>\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
         "\r\n"
         "--outer\r\n"
         "Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
         "\r\n"
         "--inner\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n"
         "\r\n"
         "Plain version of the body.\r\n"
         "--inner\r\n"
         "Content-Type: text/html; charset=utf-8\r\n"
         "\r\n"
         "<html><body><p>HTML <b>version</b> of the body.</p></body></html>\r\n"
         "--inner--\r\n"
         "--outer\r\n"
         "Content-Type: application/pdf; name=\"invoice.pdf\"\r\n"
         "Content-Disposition: attachment; filename=\"invoice.pdf\"\r\n"
         "Content-Transfer-Encoding: base64\r\n"
         "\r\n"
         "JVBERi0xLjQKJcOkw7zDtsOfCg==\r\n"
         "--outer--\r\n";
}

struct mail_fixture : sim_fixture {
  /// The subjects of a list answer's page, in order.
  static std::vector<std::string> subjects(const net::client_response& res) {
    std::vector<std::string> out;
    auto j = body(res);
    if (j.is_object() && j.contains("value"))
      for (const auto& m : j["value"])
        out.push_back(m.value("subject", "<no subject>"));
    return out;
  }

  /// The subjects the inbox lists for these query options (one page), or the status
  /// and error code if it fails.
  std::vector<std::string> list(const net::params& query) {
    auto res = get(with_query(inbox(), query));
    if (res.status != 200) return {std::to_string(res.status) + " " + error_code(res)};
    return subjects(res);
  }

  /// Four messages m1..m4 received on 1..4 January 2026 (delivered out of order):
  /// m1 unread [Red], m2 read [Blue], m3 unread [], m4 read [Red, Blue].
  void deliver_four() {
    auto put = [&](const std::string& tag, int day, bool read,
                   std::vector<std::string> cats) {
      sim.deliver(mailbox, test::sample_mail(tag, mailbox, tag),
                  {{"received_at", "2026-01-0" + std::to_string(day) + "T08:00:00Z"},
                   {"is_read", read},
                   {"categories", cats}});
    };
    put("m2", 2, true, {"Blue"});
    put("m4", 4, true, {"Red", "Blue"});
    put("m1", 1, false, {"Red"});
    put("m3", 3, false, {});
  }
};

using strings = std::vector<std::string>;

} // namespace

CAF_TEST_FIXTURE_SCOPE(graph_sim_mail_tests, mail_fixture)

CAF_TEST(delivered mail is listed in the inbox) {
  auto id = sim.deliver(mailbox, test::sample_mail("m1"));
  auto res = sim.graph("GET", "/users/" + mailbox + "/mailFolders/inbox/messages", token);
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(res.status, 200u);
  auto j = body(res);
  CAF_REQUIRE(j["value"].size() == 1u);
  CAF_CHECK_EQUAL(j["value"][0]["id"], id);
  CAF_CHECK_EQUAL(j["value"][0]["subject"], "Printer on floor 3 is jammed");
  CAF_CHECK_EQUAL(j["value"][0]["internetMessageId"], "<m1@customer.test>");
  CAF_CHECK_EQUAL(j["value"][0]["from"]["emailAddress"]["address"],
                  "alice@customer.test");
  CAF_CHECK_EQUAL(j["value"][0]["isRead"], false);
  CAF_CHECK(!res.header("Date").empty());
}

CAF_TEST(filter on isRead) {
  deliver_four();
  CAF_CHECK_EQUAL(list({{"$filter", "isRead eq false"}}), (strings{"m3", "m1"}));
  CAF_CHECK_EQUAL(list({{"$filter", "isRead eq true"}}), (strings{"m4", "m2"}));
  CAF_CHECK_EQUAL(list({{"$filter", "isRead ne true"}}), (strings{"m3", "m1"}));
}

CAF_TEST(filter on receivedDateTime) {
  deliver_four();
  CAF_CHECK_EQUAL(list({{"$filter", "receivedDateTime ge 2026-01-02T08:00:00Z"}}),
                  (strings{"m4", "m3", "m2"}));
  CAF_CHECK_EQUAL(list({{"$filter", "receivedDateTime gt 2026-01-02T08:00:00Z"}}),
                  (strings{"m4", "m3"}));
  CAF_CHECK_EQUAL(list({{"$filter", "receivedDateTime lt 2026-01-02T00:00:00Z"}}),
                  (strings{"m1"}));
}

CAF_TEST(filter on categories any and not any) {
  deliver_four();
  CAF_CHECK_EQUAL(list({{"$filter", "categories/any(c:c eq 'Red')"}}),
                  (strings{"m4", "m1"}));
  CAF_CHECK_EQUAL(list({{"$filter", "categories/any(a:a eq 'Blue')"}}),
                  (strings{"m4", "m2"}));
  CAF_CHECK_EQUAL(list({{"$filter", "not categories/any(c:c eq 'Red')"}}),
                  (strings{"m3", "m2"}));
  CAF_CHECK_EQUAL(list({{"$filter", "categories/any(c:c eq 'Green')"}}), strings{});
}

CAF_TEST(filter with and) {
  deliver_four();
  CAF_CHECK_EQUAL(list({{"$filter", "isRead eq false and categories/any(c:c eq 'Red')"}}),
                  (strings{"m1"}));
  CAF_CHECK_EQUAL(
      list({{"$filter", "receivedDateTime ge 2026-01-02T00:00:00Z and isRead eq false"}}),
      (strings{"m3"}));
  CAF_CHECK_EQUAL(
      list({{"$filter", "isRead eq true and not categories/any(c:c eq 'Red')"}}),
      (strings{"m2"}));
}

CAF_TEST(a malformed filter is refused) {
  deliver_four();
  for (std::string bad : {"isRead eq", "isRead eq 'yes'", "nonsense eq true",
                          "receivedDateTime ge yesterday", "isRead eq false and"}) {
    auto res = get(with_query(inbox(), {{"$filter", bad}}));
    CAF_CHECK_EQUAL(res.status, 400u);
    CAF_CHECK(has_graph_error_shape(res));
  }
}

CAF_TEST(orderby a property not first in the filter is InefficientFilter) {
  deliver_four();
  auto res = get(with_query(
      inbox(), {{"$filter", "isRead eq false"}, {"$orderby", "receivedDateTime"}}));
  CAF_CHECK_EQUAL(res.status, 400u);
  CAF_CHECK_EQUAL(error_code(res), "InefficientFilter");
  CAF_CHECK(has_graph_error_shape(res));
  CAF_CHECK_EQUAL(body(res)["error"].value("message", ""),
                  "The restriction or sort order is too complex for this operation.");
  auto later =
      get(with_query(inbox(), {{"$filter", "isRead eq false and receivedDateTime ge "
                                           "1900-01-01T00:00:00Z"},
                               {"$orderby", "receivedDateTime desc"}}));
  CAF_CHECK_EQUAL(later.status, 400u);
  CAF_CHECK_EQUAL(error_code(later), "InefficientFilter");
}

CAF_TEST(orderby works when its property comes first in the filter) {
  deliver_four();
  auto filter = "receivedDateTime ge 1900-01-01T00:00:00Z and isRead eq false";
  CAF_CHECK_EQUAL(list({{"$filter", filter}, {"$orderby", "receivedDateTime"}}),
                  (strings{"m1", "m3"}));
  CAF_CHECK_EQUAL(list({{"$filter", filter}, {"$orderby", "receivedDateTime desc"}}),
                  (strings{"m3", "m1"}));
  CAF_CHECK_EQUAL(list({{"$orderby", "receivedDateTime"}}),
                  (strings{"m1", "m2", "m3", "m4"}));
}

CAF_TEST(the default order is newest first) {
  deliver_four();
  CAF_CHECK_EQUAL(list({}), (strings{"m4", "m3", "m2", "m1"}));
}

CAF_TEST(select limits the properties) {
  deliver_four();
  auto res = get(with_query(inbox(), {{"$select", "subject,isRead"}}));
  CAF_REQUIRE_EQUAL(res.status, 200u);
  auto j = body(res);
  CAF_REQUIRE_EQUAL(j["value"].size(), 4u);
  for (const auto& m : j["value"]) {
    std::set<std::string> keys;
    for (const auto& item : m.items())
      keys.insert(item.key());
    CAF_CHECK_EQUAL(keys,
                    (std::set<std::string>{"@odata.etag", "id", "subject", "isRead"}));
  }
  // Without $select: the default properties, but not internetMessageHeaders.
  auto full = body(get(inbox()))["value"][0];
  for (const char* key : {"subject", "body", "from", "toRecipients", "receivedDateTime",
                          "categories", "isRead", "bodyPreview", "conversationId"})
    CAF_CHECK(full.contains(key));
  CAF_CHECK(!full.contains("internetMessageHeaders"));
  auto headers = body(get(with_query(inbox(), {{"$select", "internetMessageHeaders"}})));
  CAF_CHECK(headers["value"][0]["internetMessageHeaders"].is_array());
  auto bad = get(with_query(inbox(), {{"$select", "subject,nonsense"}}));
  CAF_CHECK_EQUAL(bad.status, 400u);
  CAF_CHECK(has_graph_error_shape(bad));
}

CAF_TEST(one request shape does not leak into the next) {
  int day = 0;
  for (const auto& query : std::vector<net::params>{{{"$select", ""}},
                                                    {{"$select", "subject"}},
                                                    {{"$select", "id"}},
                                                    {{"$expand", size_expand}}}) {
    for (bool list : {true, false}) {
      // A fresh message (the newest), so that this shape is the first one asked for.
      ++day;
      auto id = sim.deliver(
          mailbox, mail_with_attachment(),
          {{"received_at", "2026-01-" + std::to_string(10 + day) + "T08:00:00Z"}});
      auto path = list ? inbox() : message_path(id);
      auto shaped = get(with_query(path, query)).body;
      auto plain = get(path).body;
      CAF_CHECK_EQUAL(get(with_query(path, query)).body, shaped);
      CAF_CHECK_EQUAL(get(path).body, plain);
      auto j = json::parse(plain, nullptr, false);
      auto m = list ? j["value"][0] : j;
      CAF_CHECK_EQUAL(m.value("id", ""), id);
      CAF_CHECK(m.contains("subject"));
      CAF_CHECK(m.contains("body"));
      CAF_CHECK(!m.contains("singleValueExtendedProperties"));
    }
  }
  auto prefer = net::header_list{{"Prefer", "outlook.body-content-type=\"text\""}};
  sim.graph("GET", inbox(), token, {}, prefer);
  CAF_CHECK_EQUAL(at(body(get(inbox())), "/value/0/body/contentType"), "html");
}

CAF_TEST(top takes 1 to 1000 and the default page is 10) {
  for (int i = 0; i < 12; ++i)
    sim.deliver(mailbox, test::sample_mail("t" + std::to_string(i)));
  auto page = body(get(inbox()));
  CAF_CHECK_EQUAL(page["value"].size(), 10u);
  CAF_CHECK(page.contains("@odata.nextLink"));
  CAF_CHECK_EQUAL(list({{"$top", "1"}}).size(), 1u);
  CAF_CHECK_EQUAL(list({{"$top", "1000"}}).size(), 12u);
  auto all = body(get(with_query(inbox(), {{"$top", "12"}})));
  CAF_CHECK_EQUAL(all["value"].size(), 12u);
  CAF_CHECK(!all.contains("@odata.nextLink"));
  for (std::string bad : {"0", "1001", "-1", "ten", ""}) {
    auto res = get(with_query(inbox(), {{"$top", bad}}));
    CAF_CHECK_EQUAL(res.status, 400u);
    CAF_CHECK(has_graph_error_shape(res));
  }
}

CAF_TEST(nextLink paging visits every message exactly once) {
  std::set<std::string> delivered;
  for (int i = 0; i < 25; ++i)
    delivered.insert(sim.deliver(mailbox, test::sample_mail("p" + std::to_string(i))));
  std::multiset<std::string> seen;
  std::vector<std::size_t> sizes;
  std::string next = inbox() + "?%24top=10";
  while (!next.empty() && sizes.size() < 10) {
    auto res = get(next);
    CAF_REQUIRE_EQUAL(res.status, 200u);
    auto j = body(res);
    sizes.push_back(j["value"].size());
    for (const auto& m : j["value"])
      seen.insert(m["id"].get<std::string>());
    next = j.value("@odata.nextLink", "");
    if (!next.empty()) CAF_CHECK_EQUAL(next.rfind(sim.base() + "/v1.0/", 0), 0u);
  }
  CAF_CHECK_EQUAL(sizes, (std::vector<std::size_t>{10, 10, 5}));
  CAF_CHECK_EQUAL(seen.size(), 25u);
  CAF_CHECK_EQUAL(std::set<std::string>(seen.begin(), seen.end()), delivered);
}

CAF_TEST(expand of PidTagMessageSize on list and get) {
  auto claimed = sim.deliver(mailbox, test::sample_mail("big"), {{"size", 12345678}});
  auto mime = test::sample_mail("small");
  auto actual = sim.deliver(mailbox, mime);
  auto res = get(with_query(inbox(), {{"$expand", size_expand}}));
  CAF_REQUIRE_EQUAL(res.status, 200u);
  std::map<std::string, json> by_id;
  auto listed = body(res);
  for (const auto& m : listed["value"])
    by_id[m["id"].get<std::string>()] = m["singleValueExtendedProperties"];
  CAF_CHECK_EQUAL(by_id[claimed],
                  json::parse(R"([{"id":"Integer 0xe08","value":"12345678"}])"));
  CAF_CHECK_EQUAL(
      by_id[actual],
      (json::array({{{"id", "Integer 0xe08"}, {"value", std::to_string(mime.size())}}})));
  auto one = get(with_query(message_path(claimed), {{"$expand", size_expand}}));
  CAF_CHECK_EQUAL(one.status, 200u);
  CAF_CHECK_EQUAL(at(body(one), "/singleValueExtendedProperties"),
                  json::parse(R"([{"id":"Integer 0xe08","value":"12345678"}])"));
  // Not expanded unless asked for; other expansions are refused.
  CAF_CHECK(!body(get(message_path(claimed))).contains("singleValueExtendedProperties"));
  CAF_CHECK_EQUAL(
      get(with_query(message_path(claimed), {{"$expand", "attachments"}})).status, 400u);
}

CAF_TEST(get message) {
  auto id = sim.deliver(mailbox, test::sample_mail("g1"), {{"categories", {"Blue"}}});
  auto res = get(message_path(id));
  CAF_REQUIRE_EQUAL(res.status, 200u);
  auto m = body(res);
  CAF_CHECK_EQUAL(m["id"], id);
  CAF_CHECK_EQUAL(m["subject"], "Printer on floor 3 is jammed");
  CAF_CHECK_EQUAL(m["internetMessageId"], "<g1@customer.test>");
  CAF_CHECK_EQUAL(m["from"]["emailAddress"]["name"], "Alice Example");
  CAF_CHECK_EQUAL(m["toRecipients"][0]["emailAddress"]["address"],
                  "support@contoso.test");
  CAF_CHECK_EQUAL(m["sentDateTime"], "2026-11-24T09:15:00Z");
  CAF_CHECK_EQUAL(m["categories"], json::array({"Blue"}));
  CAF_CHECK_EQUAL(m["isRead"], false);
  CAF_CHECK_EQUAL(m["hasAttachments"], false);
  CAF_CHECK_EQUAL(m["body"]["contentType"], "text");
  CAF_CHECK(m["body"]["content"].get<std::string>().find("error E-42") !=
            std::string::npos);
  CAF_CHECK(m["bodyPreview"].get<std::string>().rfind("Hello, the printer", 0) == 0);
  // The same message through the inbox folder and through /me.
  CAF_CHECK_EQUAL(get(inbox() + "/" + id).status, 200u);
  CAF_CHECK_EQUAL(at(body(get("/me/messages/" + id)), "/id"), id);
}

CAF_TEST(value returns the exact raw MIME) {
  auto mime = test::sample_mail("raw1") + "Caf\xC3\xA9 \t \r\n\r\n.\r\ntrailing  ";
  auto id = sim.deliver(mailbox, mime);
  auto res = get(message_path(id) + "/$value");
  CAF_CHECK_EQUAL(res.status, 200u);
  CAF_CHECK(res.body == mime);
  CAF_CHECK_EQUAL(res.body.size(), mime.size());
}

CAF_TEST(attachments are listed with contentBytes) {
  auto id = sim.deliver(mailbox, mail_with_attachment());
  auto m = body(get(message_path(id)));
  CAF_CHECK_EQUAL(m["hasAttachments"], true);
  auto res = get(message_path(id) + "/attachments");
  CAF_REQUIRE_EQUAL(res.status, 200u);
  auto list = body(res)["value"];
  CAF_REQUIRE_EQUAL(list.size(), 1u);
  auto a = list[0];
  auto content = *net::base64_decode("JVBERi0xLjQKJcOkw7zDtsOfCg==");
  CAF_CHECK_EQUAL(a["@odata.type"], "#microsoft.graph.fileAttachment");
  CAF_CHECK_EQUAL(a["name"], "invoice.pdf");
  CAF_CHECK_EQUAL(a["contentType"], "application/pdf");
  CAF_CHECK_EQUAL(a["isInline"], false);
  CAF_CHECK_EQUAL(a["size"], content.size());
  CAF_CHECK(a["id"].is_string());
  CAF_REQUIRE(a["contentBytes"].is_string());
  CAF_CHECK(net::base64_decode(a["contentBytes"].get<std::string>()) == content);
  auto one = get(message_path(id) + "/attachments/" + a["id"].get<std::string>());
  CAF_CHECK_EQUAL(one.status, 200u);
  CAF_CHECK_EQUAL(at(body(one), "/name"), "invoice.pdf");
  CAF_CHECK_EQUAL(get(message_path(id) + "/attachments/nope").status, 404u);
}

CAF_TEST(prefer text body) {
  auto id = sim.deliver(mailbox, mail_with_attachment());
  auto html = body(get(message_path(id)))["body"];
  CAF_CHECK_EQUAL(html["contentType"], "html");
  CAF_CHECK(html["content"].get<std::string>().find("<b>version</b>") !=
            std::string::npos);
  auto prefer = net::header_list{{"Prefer", "outlook.body-content-type=\"text\""}};
  auto res = sim.graph("GET", message_path(id), token, {}, prefer);
  CAF_CHECK_EQUAL(res.status, 200u);
  auto text = body(res)["body"];
  CAF_CHECK_EQUAL(text["contentType"], "text");
  CAF_CHECK(text["content"].get<std::string>().find("Plain version of the body.") !=
            std::string::npos);
  CAF_CHECK(text["content"].get<std::string>().find('<') == std::string::npos);
  auto listed = body(sim.graph("GET", inbox(), token, {}, prefer))["value"][0]["body"];
  CAF_CHECK_EQUAL(listed["contentType"], "text");
}

CAF_TEST(patch of categories and isRead answers the whole message) {
  auto id = sim.deliver(mailbox, test::sample_mail("u1"), {{"categories", {"Old"}}});
  // Ask for it first in every shape, so that any cached answer would be stale.
  CAF_CHECK_EQUAL(at(body(get(message_path(id))), "/isRead"), false);
  CAF_CHECK_EQUAL(at(body(get(inbox())), "/value/0/isRead"), false);
  auto res = sim.graph("PATCH", message_path(id), token,
                       R"({"categories":["Support/Done","Urgent"],"isRead":true})");
  CAF_CHECK_EQUAL(res.status, 200u);
  auto m = body(res);
  CAF_CHECK_EQUAL(m["id"], id);
  CAF_CHECK_EQUAL(m["categories"], json::array({"Support/Done", "Urgent"}));
  CAF_CHECK_EQUAL(m["isRead"], true);
  CAF_CHECK_EQUAL(m["subject"], "Printer on floor 3 is jammed");
  CAF_CHECK(m.contains("body"));
  CAF_CHECK(m.contains("from"));
  auto seen = control_messages(mailbox)[id];
  CAF_CHECK_EQUAL(seen["categories"], json::array({"Support/Done", "Urgent"}));
  CAF_CHECK_EQUAL(seen["is_read"], true);
  // categories replaces the list; isRead alone leaves it.
  CAF_CHECK_EQUAL(
      sim.graph("PATCH", message_path(id), token, R"({"isRead":false})").status, 200u);
  CAF_CHECK_EQUAL(
      sim.graph("PATCH", message_path(id), token, R"({"categories":["X"]})").status,
      200u);
  seen = control_messages(mailbox)[id];
  CAF_CHECK_EQUAL(seen["categories"], json::array({"X"}));
  CAF_CHECK_EQUAL(seen["is_read"], false);
  // Graph shows the change at once, in every shape.
  auto again = body(get(message_path(id)));
  CAF_CHECK_EQUAL(again["categories"], json::array({"X"}));
  CAF_CHECK_EQUAL(again["isRead"], false);
  CAF_CHECK_EQUAL(at(body(get(inbox())), "/value/0/categories"), json::array({"X"}));
  CAF_CHECK_EQUAL(list({{"$filter", "categories/any(c:c eq 'X')"}}).size(), 1u);
}

CAF_TEST(patch of any other field is refused and changes nothing) {
  auto id = sim.deliver(mailbox, test::sample_mail("u2"), {{"categories", {"Old"}}});
  for (std::string patch :
       {R"({"subject":"Changed"})",
        R"({"categories":["New"],"isRead":true,"subject":"Changed"})",
        R"({"isRead":true,"importance":"high"})", R"({"isRead":"yes"})",
        R"({"categories":"New"})", R"([true])"}) {
    auto res = sim.graph("PATCH", message_path(id), token, patch);
    CAF_CHECK_EQUAL(res.status, 400u);
    CAF_CHECK(has_graph_error_shape(res));
  }
  auto m = body(get(message_path(id)));
  CAF_CHECK_EQUAL(m["subject"], "Printer on floor 3 is jammed");
  CAF_CHECK_EQUAL(m["categories"], json::array({"Old"}));
  CAF_CHECK_EQUAL(m["isRead"], false);
  auto seen = control_messages(mailbox)[id];
  CAF_CHECK_EQUAL(seen["categories"], json::array({"Old"}));
  CAF_CHECK_EQUAL(seen["is_read"], false);
}

CAF_TEST(patch with malformed JSON is BadRequest) {
  auto id = sim.deliver(mailbox, test::sample_mail("u3"));
  for (std::string bad : {"{isRead: true", "", "{\"isRead\":true}}"}) {
    auto res = sim.call(
        "PATCH", "/v1.0" + message_path(id),
        {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
        bad);
    CAF_CHECK_EQUAL(res.status, 400u);
    CAF_CHECK_EQUAL(error_code(res), "BadRequest");
  }
  CAF_CHECK_EQUAL(at(control_messages(mailbox), "/" + id + "/is_read"), false);
}

CAF_TEST(delete then get is ErrorItemNotFound) {
  auto id = sim.deliver(mailbox, test::sample_mail("d1"));
  auto keep = sim.deliver(mailbox, test::sample_mail("d2"));
  auto res = sim.graph("DELETE", message_path(id), token);
  CAF_CHECK_EQUAL(res.status, 204u);
  CAF_CHECK(res.body.empty());
  auto gone = get(message_path(id));
  CAF_CHECK_EQUAL(gone.status, 404u);
  CAF_CHECK_EQUAL(error_code(gone), "ErrorItemNotFound");
  CAF_CHECK_EQUAL(body(gone)["error"].value("message", ""),
                  "The specified object was not found in the store.");
  CAF_CHECK_EQUAL(sim.graph("DELETE", message_path(id), token).status, 404u);
  CAF_CHECK_EQUAL(get(message_path(id) + "/$value").status, 404u);
  auto msgs = control_messages(mailbox);
  CAF_CHECK(!msgs.contains(id));
  CAF_CHECK(msgs.contains(keep));
  CAF_CHECK_EQUAL(body(get(inbox()))["value"].size(), 1u);
}

CAF_TEST(a malformed id is ErrorInvalidIdMalformed) {
  for (std::string bad : {"not-an-id", "AAMk", "AAMk$$$$$$$$"}) {
    auto res = get("/users/" + mailbox + "/messages/" + net::percent_encode(bad));
    CAF_CHECK_EQUAL(res.status, 400u);
    CAF_CHECK_EQUAL(error_code(res), "ErrorInvalidIdMalformed");
    CAF_CHECK(has_graph_error_shape(res));
  }
}

CAF_TEST(an unknown user is 404) {
  auto res = get(inbox_of("nobody@contoso.test"));
  CAF_CHECK_EQUAL(res.status, 404u);
  CAF_CHECK(has_graph_error_shape(res));
}

CAF_TEST(no or a bad token is 401) {
  auto none = sim.call("GET", "/v1.0" + inbox());
  CAF_CHECK_EQUAL(none.status, 401u);
  CAF_CHECK_EQUAL(error_code(none), "InvalidAuthenticationToken");
  CAF_CHECK(!none.header("WWW-Authenticate").empty());
  auto bad = sim.graph("GET", inbox(), "not-a-token");
  CAF_CHECK_EQUAL(bad.status, 401u);
  CAF_CHECK_EQUAL(error_code(bad), "InvalidAuthenticationToken");
  CAF_CHECK(!bad.header("WWW-Authenticate").empty());
}

CAF_TEST(me works for delegated tokens) {
  auto id = sim.deliver(mailbox, test::sample_mail("me1"));
  auto res = get("/me/mailFolders/inbox/messages");
  CAF_CHECK_EQUAL(res.status, 200u);
  CAF_CHECK_EQUAL(at(body(res), "/value/0/id"), id);
  CAF_CHECK_EQUAL(
      sim.graph("PATCH", "/me/messages/" + id, token, R"({"isRead":true})").status, 200u);
  CAF_CHECK_EQUAL(at(control_messages(mailbox), "/" + id + "/is_read"), true);
}

CAF_TEST(errors have Microsoft shape) {
  auto id = sim.deliver(mailbox, test::sample_mail("e1"));
  sim.graph("DELETE", message_path(id), token);
  auto res =
      sim.graph("GET", message_path(id), token, {}, {{"client-request-id", "abc-123"}});
  CAF_CHECK_EQUAL(res.status, 404u);
  CAF_CHECK(has_graph_error_shape(res));
  auto inner = body(res)["error"]["innerError"];
  CAF_CHECK_EQUAL(inner["client-request-id"], "abc-123");
  CAF_CHECK(net::parse_rfc3339(inner["date"].get<std::string>()).has_value());
  CAF_CHECK(!inner["request-id"].get<std::string>().empty());
  CAF_CHECK(!res.header("request-id").empty());
  CAF_CHECK_EQUAL(std::string{res.header("Content-Type").substr(0, 16)},
                  "application/json");
}

CAF_TEST(an unparseable mail is still stored with its raw size) {
  const char raw_bytes[] = "\x00\x01\x02 no header here\xff\xfe\r\njust bytes\r\n";
  std::string junk(raw_bytes, sizeof raw_bytes - 1);
  auto out = sim.control("POST", "/mailboxes/" + mailbox + "/messages",
                         {{"mime_base64", net::base64_encode(junk)}});
  CAF_CHECK_EQUAL(out["parsed"], false);
  CAF_CHECK_EQUAL(out["size"], junk.size());
  std::string id = out["id"];
  auto listed = body(get(with_query(inbox(), {{"$expand", size_expand}})));
  CAF_REQUIRE_EQUAL(listed["value"].size(), 1u);
  CAF_CHECK_EQUAL(listed["value"][0]["id"], id);
  CAF_CHECK_EQUAL(listed["value"][0]["singleValueExtendedProperties"][0]["value"],
                  std::to_string(junk.size()));
  CAF_CHECK(!listed["value"][0]["internetMessageId"].get<std::string>().empty());
  auto raw = get(message_path(id) + "/$value");
  CAF_CHECK_EQUAL(raw.status, 200u);
  CAF_CHECK(raw.body == junk);
  CAF_CHECK_EQUAL(at(control_messages(mailbox), "/" + id + "/size"), junk.size());
}

CAF_TEST(the Date header follows the simulated clock) {
  auto first = get(inbox());
  auto d1 = net::parse_http_date(first.header("Date"));
  CAF_REQUIRE(d1.has_value());
  auto drift = std::chrono::abs(*d1 - std::chrono::system_clock::now());
  CAF_CHECK_LESS(drift, std::chrono::minutes(1));
  sim.control("POST", "/clock/advance", {{"seconds", 10 * 86400}});
  // Ten days on, the access token has expired: sign in again.
  token = sim.sign_in(app, mailbox).at("access_token");
  auto second = get(inbox());
  CAF_CHECK_EQUAL(second.status, 200u);
  auto d2 = net::parse_http_date(second.header("Date"));
  CAF_REQUIRE(d2.has_value());
  CAF_CHECK_GREATER_OR_EQUAL(*d2 - *d1, std::chrono::hours(240));
  CAF_CHECK_LESS(*d2 - *d1, std::chrono::hours(240) + std::chrono::minutes(1));
  // Mail delivered now carries the simulated time too.
  auto id = sim.deliver(mailbox, test::sample_mail("late"));
  auto received = net::parse_rfc3339(
      body(get(message_path(id)))["receivedDateTime"].get<std::string>());
  CAF_REQUIRE(received.has_value());
  CAF_CHECK_LESS(std::chrono::abs(*received - *d2), std::chrono::minutes(1));
}

CAF_TEST(mailboxes are created in bulk and their polls are timed) {
  auto made = sim.control("POST", "/mailboxes", {{"count", 3}, {"prefix", "bulk"}});
  CAF_CHECK_EQUAL(made.at("created").get<int>(), 3);
  // Again: they exist, nothing is created twice.
  CAF_CHECK_EQUAL(sim.control("POST", "/mailboxes", {{"count", 3}, {"prefix", "bulk"}})
                      .at("created")
                      .get<int>(),
                  0);
  auto bad = sim.call("POST", "/_sim/mailboxes", {}, R"({"count":0})");
  CAF_CHECK_EQUAL(bad.status, 400u);
  for (auto address : {"bulk000001@contoso.test", "bulk000003@contoso.test"}) {
    auto user_token = token_for("Mail.ReadWrite", address);
    for (int poll = 0; poll < 2; ++poll)
      CAF_CHECK_EQUAL(
          sim.graph("GET",
                    std::string{"/users/"} + address + "/mailFolders/inbox/messages",
                    user_token)
              .status,
          200u);
  }
  auto timed = sim.control("GET", "/listing-intervals");
  CAF_CHECK_EQUAL(timed.at("mailboxes_listed").get<int>(), 2);
  CAF_CHECK_EQUAL(timed.at("intervals").get<int>(), 2);
  CAF_CHECK_LESS_OR_EQUAL(timed.at("min_s").get<double>(),
                          timed.at("max_s").get<double>());
  CAF_CHECK_LESS(timed.at("max_s").get<double>(), 10.0);
  sim.control("DELETE", "/listing-intervals");
  timed = sim.control("GET", "/listing-intervals");
  CAF_CHECK_EQUAL(timed.at("mailboxes_listed").get<int>(), 0);
  CAF_CHECK_EQUAL(timed.at("intervals").get<int>(), 0);
  // A mailbox's next listing after the reset still makes an interval.
  CAF_CHECK_EQUAL(sim.graph("GET",
                            "/users/bulk000001@contoso.test/mailFolders/inbox/messages",
                            token_for("Mail.ReadWrite", "bulk000001@contoso.test"))
                      .status,
                  200u);
  timed = sim.control("GET", "/listing-intervals");
  CAF_CHECK_EQUAL(timed.at("mailboxes_listed").get<int>(), 1);
  CAF_CHECK_EQUAL(timed.at("intervals").get<int>(), 1);
}

CAF_TEST_FIXTURE_SCOPE_END()

// Unit tests (no process) of graph-sim's OData subset: $filter parsing and evaluation,
// the InefficientFilter rule, $orderby and $select.
#define CAF_SUITE graph_sim_odata
#include <caf/test/unit_test.hpp>

#include "odata.hpp"

#include "net/time_format.hpp"

#include <algorithm>

using namespace graph_sim;

namespace {

sys_time at(const char* text) {
  return *net::parse_rfc3339(text);
}

struct odata_fixture {
  std::string error;

  std::optional<odata::filter> parse(std::string_view text) {
    return odata::parse_filter(text, error);
  }

  /// True if parsing fails with a non-empty error message.
  bool refused(std::string_view text) {
    error.clear();
    auto f = odata::parse_filter(text, error);
    return !f && !error.empty();
  }

  bool inefficient(std::string_view filter_text, std::string_view orderby_text) {
    std::optional<odata::filter> f;
    if (!filter_text.empty()) f = odata::parse_filter(filter_text, error);
    std::vector<odata::order_key> order;
    if (!orderby_text.empty()) order = odata::parse_orderby(orderby_text, error).value();
    return odata::is_inefficient(f, order);
  }

  static message make(const std::string& id, const char* received, bool read,
                      std::vector<std::string> categories) {
    message m;
    m.id = id;
    m.received = at(received);
    m.sent = m.received;
    m.modified = m.received;
    m.is_read = read;
    m.categories = std::move(categories);
    return m;
  }

  /// Which of `msgs` match `text` (ids in order).
  std::vector<std::string> matching(std::string_view text,
                                    const std::vector<message>& msgs) {
    std::vector<std::string> out;
    auto f = odata::parse_filter(text, error);
    if (!f) return {"<parse error: " + error + ">"};
    for (const auto& m : msgs)
      if (odata::matches(*f, m)) out.push_back(m.id);
    return out;
  }
};

using strings = std::vector<std::string>;

} // namespace

CAF_TEST_FIXTURE_SCOPE(graph_sim_odata_tests, odata_fixture)

CAF_TEST(parse_filter accepts the grammar Graph clients use) {
  for (const char* text :
       {"isRead eq false", "isRead eq true", "IsRead EQ false", "isRead ne true",
        "receivedDateTime ge 2026-01-01T00:00:00Z", "receivedDateTime gt 2026-01-01",
        "receivedDateTime lt 2026-01-01T00:00:00.123+01:00",
        "receivedDateTime le 2026-01-01T00:00:00-05:30", "categories/any(c:c eq 'Red')",
        "categories/any(x: x eq 'It''s')", "not categories/any(c:c eq 'Red')",
        "isRead eq false and categories/any(c:c eq 'Red')",
        "receivedDateTime ge 1900-01-01T00:00:00Z and isRead eq false",
        "(isRead eq false) and (receivedDateTime gt 2026-01-01T00:00:00Z)",
        "isRead eq false or not (isRead eq false)", "subject eq 'hello'",
        "from/emailAddress/address eq 'a@b.test'", "internetMessageId eq '<x@y>'"}) {
    auto f = parse(text);
    CAF_CHECK(f.has_value());
    if (!f) CAF_MESSAGE("refused: " << text << ": " << error);
  }
}

CAF_TEST(parse_filter builds the expected tree) {
  auto f = parse(
      "receivedDateTime ge 2026-01-01T00:00:00Z and not categories/any(c:c eq 'It''s')");
  CAF_REQUIRE(f.has_value());
  CAF_CHECK(f->type == odata::filter::kind::all_of);
  CAF_REQUIRE_EQUAL(f->children.size(), 2u);
  const auto& cmp = f->children[0];
  CAF_CHECK(cmp.type == odata::filter::kind::comparison);
  CAF_CHECK_EQUAL(cmp.property, "receivedDateTime");
  CAF_CHECK_EQUAL(cmp.op, "ge");
  CAF_REQUIRE(std::holds_alternative<sys_time>(cmp.value));
  CAF_CHECK(std::get<sys_time>(cmp.value) == at("2026-01-01T00:00:00Z"));
  const auto& neg = f->children[1];
  CAF_CHECK(neg.type == odata::filter::kind::negation);
  CAF_REQUIRE_EQUAL(neg.children.size(), 1u);
  CAF_CHECK(neg.children[0].type == odata::filter::kind::has_category);
  CAF_REQUIRE(std::holds_alternative<std::string>(neg.children[0].value));
  CAF_CHECK_EQUAL(std::get<std::string>(neg.children[0].value), "It's");
  CAF_CHECK_EQUAL(odata::properties_in_order(*f),
                  (strings{"receivedDateTime", "categories"}));
  // Property names come back in Graph's spelling whatever the request's case.
  auto g = parse("ISREAD eq false");
  CAF_REQUIRE(g.has_value());
  CAF_CHECK_EQUAL(g->property, "isRead");
}

CAF_TEST(parse_filter refuses garbage with an error message) {
  for (const char* text : {"",
                           "   ",
                           "isRead",
                           "isRead eq",
                           "isRead equals false",
                           "isRead eq 'false'",
                           "isRead eq 1",
                           "nonsense eq true",
                           "receivedDateTime ge tomorrow",
                           "receivedDateTime ge '2026-01-01T00:00:00Z'",
                           "receivedDateTime ge 2026-13-45",
                           "subject eq hello",
                           "categories/any(c:d eq 'x')",
                           "categories/any(c:c ne 'x')",
                           "categories/any(c:c eq x)",
                           "categories/any(c:c eq 'x'",
                           "categories eq 'x'",
                           "isRead eq false and",
                           "and isRead eq false",
                           "(isRead eq false",
                           "isRead eq false)",
                           "subject eq 'unterminated",
                           "isRead eq false; drop",
                           "isRead eq false isRead eq true",
                           "not",
                           "isRead eq false &&  isRead eq true"}) {
    bool ok = refused(text);
    CAF_CHECK(ok);
    if (!ok) CAF_MESSAGE("accepted: " << text);
  }
}

CAF_TEST(matches evaluates filters on messages) {
  std::vector<message> msgs = {make("m1", "2026-01-01T08:00:00Z", false, {"Red"}),
                               make("m2", "2026-01-02T08:00:00Z", true, {"Blue"}),
                               make("m3", "2026-01-03T08:00:00Z", false, {}),
                               make("m4", "2026-01-04T08:00:00Z", true, {"Red", "Blue"})};
  CAF_CHECK_EQUAL(matching("isRead eq false", msgs), (strings{"m1", "m3"}));
  CAF_CHECK_EQUAL(matching("isRead ne false", msgs), (strings{"m2", "m4"}));
  CAF_CHECK_EQUAL(matching("receivedDateTime ge 2026-01-02T08:00:00Z", msgs),
                  (strings{"m2", "m3", "m4"}));
  CAF_CHECK_EQUAL(matching("receivedDateTime gt 2026-01-02T08:00:00Z", msgs),
                  (strings{"m3", "m4"}));
  CAF_CHECK_EQUAL(matching("receivedDateTime lt 2026-01-02T08:00:00Z", msgs),
                  (strings{"m1"}));
  CAF_CHECK_EQUAL(matching("receivedDateTime le 2026-01-02T09:00:00+01:00", msgs),
                  (strings{"m1", "m2"}));
  CAF_CHECK_EQUAL(matching("categories/any(c:c eq 'Red')", msgs), (strings{"m1", "m4"}));
  CAF_CHECK_EQUAL(matching("categories/any(c:c eq 'red')", msgs), (strings{"m1", "m4"}));
  CAF_CHECK_EQUAL(matching("not categories/any(c:c eq 'Red')", msgs),
                  (strings{"m2", "m3"}));
  CAF_CHECK_EQUAL(matching("isRead eq true and categories/any(c:c eq 'Red')", msgs),
                  (strings{"m4"}));
  CAF_CHECK_EQUAL(matching("isRead eq true or categories/any(c:c eq 'Red')", msgs),
                  (strings{"m1", "m2", "m4"}));
  CAF_CHECK_EQUAL(matching("not (isRead eq true or categories/any(c:c eq 'Red'))", msgs),
                  (strings{"m3"}));
}

CAF_TEST(is_inefficient requires orderby properties first in the filter in order) {
  // No $orderby or no $filter: always fine.
  CAF_CHECK(!inefficient("isRead eq false", ""));
  CAF_CHECK(!inefficient("", "receivedDateTime"));
  CAF_CHECK(!inefficient("", "receivedDateTime desc,subject"));
  // Graph's documented failure and its working form.
  CAF_CHECK(inefficient("isRead eq false", "receivedDateTime"));
  CAF_CHECK(!inefficient("receivedDateTime ge 1900-01-01T00:00:00Z and isRead eq false",
                         "receivedDateTime"));
  CAF_CHECK(!inefficient("receivedDateTime ge 1900-01-01T00:00:00Z and isRead eq false",
                         "receivedDateTime desc"));
  CAF_CHECK(inefficient("isRead eq false and receivedDateTime ge 1900-01-01T00:00:00Z",
                        "receivedDateTime"));
  CAF_CHECK(inefficient("categories/any(c:c eq 'Red')", "receivedDateTime"));
  // Several keys: all of them, in the same order.
  CAF_CHECK(inefficient("receivedDateTime ge 2026-01-01", "receivedDateTime,subject"));
  CAF_CHECK(!inefficient("receivedDateTime ge 2026-01-01 and subject ne 'x'",
                         "receivedDateTime,subject"));
  CAF_CHECK(inefficient("receivedDateTime ge 2026-01-01 and subject ne 'x'",
                        "subject,receivedDateTime"));
  CAF_CHECK(!inefficient("isRead eq false", "isRead"));
}

CAF_TEST(parse_orderby reads keys and directions) {
  auto one = odata::parse_orderby("receivedDateTime", error);
  CAF_REQUIRE(one.has_value());
  CAF_REQUIRE_EQUAL(one->size(), 1u);
  CAF_CHECK_EQUAL((*one)[0].property, "receivedDateTime");
  CAF_CHECK(!(*one)[0].descending);
  auto two = odata::parse_orderby("ReceivedDateTime DESC, subject asc", error);
  CAF_REQUIRE(two.has_value());
  CAF_REQUIRE_EQUAL(two->size(), 2u);
  CAF_CHECK_EQUAL((*two)[0].property, "receivedDateTime");
  CAF_CHECK((*two)[0].descending);
  CAF_CHECK_EQUAL((*two)[1].property, "subject");
  CAF_CHECK(!(*two)[1].descending);
  for (const char* bad : {"", "nonsense", "receivedDateTime sideways", "categories",
                          "internetMessageId", "receivedDateTime,,subject"}) {
    error.clear();
    CAF_CHECK(!odata::parse_orderby(bad, error).has_value());
    CAF_CHECK(!error.empty());
  }
}

CAF_TEST(parse_select checks property names) {
  auto s = odata::parse_select("subject,isRead", error);
  CAF_REQUIRE(s.has_value());
  CAF_CHECK_EQUAL(*s, (strings{"subject", "isRead"}));
  auto spaced = odata::parse_select(" Subject , BODY,internetMessageHeaders", error);
  CAF_REQUIRE(spaced.has_value());
  CAF_CHECK_EQUAL(*spaced, (strings{"subject", "body", "internetMessageHeaders"}));
  for (const char* bad : {"nonsense", "subject,nonsense", "subject,,isRead", "size"}) {
    error.clear();
    CAF_CHECK(!odata::parse_select(bad, error).has_value());
    CAF_CHECK(!error.empty());
  }
  error.clear();
  odata::parse_select("subject,nonsense", error);
  CAF_CHECK(error.find("nonsense") != std::string::npos);
}

CAF_TEST(less orders newest first by default and by orderby keys otherwise) {
  std::vector<message> msgs = {make("a", "2026-01-02T00:00:00Z", false, {}),
                               make("b", "2026-01-03T00:00:00Z", true, {}),
                               make("c", "2026-01-01T00:00:00Z", false, {})};
  auto order = [&](const std::vector<odata::order_key>& keys) {
    auto copy = msgs;
    std::sort(copy.begin(), copy.end(), [&](const message& x, const message& y) {
      return odata::less(x, y, keys);
    });
    strings ids;
    for (const auto& m : copy)
      ids.push_back(m.id);
    return ids;
  };
  CAF_CHECK_EQUAL(order({}), (strings{"b", "a", "c"}));
  CAF_CHECK_EQUAL(order({{"receivedDateTime", false}}), (strings{"c", "a", "b"}));
  CAF_CHECK_EQUAL(order({{"receivedDateTime", true}}), (strings{"b", "a", "c"}));
  CAF_CHECK_EQUAL(order({{"isRead", false}, {"receivedDateTime", true}}),
                  (strings{"a", "c", "b"}));
}

CAF_TEST_FIXTURE_SCOPE_END()

#define CAF_SUITE net_time
#include <caf/test/unit_test.hpp>

#include "net/time_format.hpp"

using namespace std::chrono;

CAF_TEST(rfc3339 round trips in utc) {
  auto t = net::parse_rfc3339("2026-11-25T17:46:00Z");
  CAF_REQUIRE(t.has_value());
  CAF_CHECK_EQUAL(duration_cast<seconds>(t->time_since_epoch()).count(), 1795628760);
  CAF_CHECK_EQUAL(net::format_rfc3339(*t), "2026-11-25T17:46:00Z");
}

CAF_TEST(rfc3339 accepts offsets fractions and dates) {
  auto z = net::parse_rfc3339("2026-11-25T17:46:00Z");
  auto offset = net::parse_rfc3339("2026-11-25T18:46:00+01:00");
  auto fraction = net::parse_rfc3339("2026-11-25T17:46:00.250Z");
  auto date = net::parse_rfc3339("2026-11-25");
  CAF_REQUIRE(z && offset && fraction && date);
  CAF_CHECK(*z == *offset);
  CAF_CHECK(*fraction - *z == milliseconds(250));
  CAF_CHECK_EQUAL(net::format_rfc3339(*date), "2026-11-25T00:00:00Z");
}

CAF_TEST(rfc3339 refuses garbage) {
  CAF_CHECK(!net::parse_rfc3339(""));
  CAF_CHECK(!net::parse_rfc3339("2026-13-01T00:00:00Z"));
  CAF_CHECK(!net::parse_rfc3339("2026-11-25T25:00:00Z"));
  CAF_CHECK(!net::parse_rfc3339("2026-11-25T10:00:00 GMT"));
  CAF_CHECK(!net::parse_rfc3339("yesterday"));
}

CAF_TEST(http dates) {
  auto t = net::parse_rfc3339("2026-11-25T17:46:00Z");
  CAF_REQUIRE(t.has_value());
  CAF_CHECK_EQUAL(net::format_http_date(*t), "Wed, 25 Nov 2026 17:46:00 GMT");
  auto back = net::parse_http_date("Wed, 25 Nov 2026 17:46:00 GMT");
  CAF_REQUIRE(back.has_value());
  CAF_CHECK(*back == *t);
  CAF_CHECK(!net::parse_http_date("Wednesday, 25-Nov-26 17:46:00 GMT"));
}

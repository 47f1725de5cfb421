#define CAF_SUITE net_metrics
#include <caf/test/unit_test.hpp>

#include "net/metrics.hpp"

CAF_TEST(a method label comes from a fixed set) {
  CAF_CHECK_EQUAL(net::method_label("GET"), "GET");
  CAF_CHECK_EQUAL(net::method_label("PATCH"), "PATCH");
  CAF_CHECK_EQUAL(net::method_label("get"), "other"); // methods are case-sensitive
  CAF_CHECK_EQUAL(net::method_label("X-RANDOM-12345"), "other");
  CAF_CHECK_EQUAL(net::method_label(""), "other");
}

CAF_TEST(samples render with their labels) {
  net::metrics m;
  m.describe("x_total", "counter", "Things.");
  m.add("x_total", {{"method", net::method_label("BREW")}});
  m.add("x_total", {{"method", net::method_label("COFFEE")}});
  CAF_CHECK_EQUAL(m.value("x_total", {{"method", "other"}}), 2);
  CAF_CHECK_NOT_EQUAL(m.render().find("x_total{method=\"other\"} 2"), std::string::npos);
}

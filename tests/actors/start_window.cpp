#define CAF_SUITE start_window
#include <caf/test/unit_test.hpp>

#include "net/limits/start_window.hpp"

#include <string>
#include <vector>

using namespace exc;

namespace {

using ids = std::vector<std::string>;

} // namespace

CAF_TEST(first polls go a window at a time in the order they waited) {
  start_window w{2};
  for (auto id : {"a", "b", "c", "d"})
    w.wait(id);
  CAF_CHECK_EQUAL(w.admit(), (ids{"a", "b"}));
  CAF_CHECK_EQUAL(w.admit(), ids{}); // full
  CAF_CHECK_EQUAL(w.under_way(), 2u);
  CAF_CHECK_EQUAL(w.waiting(), 2u);
  CAF_CHECK(w.done("b"));
  CAF_CHECK(!w.done("b")); // once
  CAF_CHECK_EQUAL(w.admit(), ids{"c"});
  CAF_CHECK(w.done("a"));
  CAF_CHECK(w.done("c"));
  CAF_CHECK_EQUAL(w.admit(), ids{"d"});
  CAF_CHECK_EQUAL(w.waiting(), 0u);
}

CAF_TEST(a mailbox that gives up its place in line is skipped) {
  start_window w{1};
  for (auto id : {"a", "b", "c"})
    w.wait(id);
  CAF_CHECK_EQUAL(w.admit(), ids{"a"});
  CAF_CHECK(!w.done("b")); // stopped before its turn: it held no place
  CAF_CHECK_EQUAL(w.waiting(), 1u);
  CAF_CHECK(w.done("a"));
  CAF_CHECK_EQUAL(w.admit(), ids{"c"});
}

CAF_TEST(a window holds at least one) {
  start_window w{0};
  w.wait("a");
  CAF_CHECK_EQUAL(w.admit(), ids{"a"});
}

#define CAF_SUITE converter_load
#include <caf/test/unit_test.hpp>

#include "messages/converter_load.hpp"

#include <memory>
#include <vector>

using exc::converter_load;

CAF_TEST(each mail goes to the least loaded converter) {
  converter_load load{3};
  auto a = load.acquire(); // all idle: the first
  auto b = load.acquire();
  auto c = load.acquire();
  CAF_CHECK_EQUAL(a->index(), 0u);
  CAF_CHECK_EQUAL(b->index(), 1u);
  CAF_CHECK_EQUAL(c->index(), 2u);
  // A slow mail keeps converter 0 busy: the others take the next ones.
  b.reset();
  c.reset();
  std::vector<std::shared_ptr<converter_load::lease>> more;
  for (int i = 0; i < 2; ++i)
    more.push_back(load.acquire());
  CAF_CHECK_EQUAL(load.in_flight(0), 1u);
  CAF_CHECK_EQUAL(load.in_flight(1), 1u);
  CAF_CHECK_EQUAL(load.in_flight(2), 1u);
  // All equal again: the lowest index.
  more.push_back(load.acquire());
  CAF_CHECK_EQUAL(more.back()->index(), 0u);
  // A lease ends with its last holder.
  more.clear();
  a.reset();
  for (std::size_t i = 0; i < load.size(); ++i)
    CAF_CHECK_EQUAL(load.in_flight(i), 0u);
}

CAF_TEST(mail converts within the byte budget) {
  converter_load load{2, 100};
  auto a = load.reserve(60);
  CAF_REQUIRE(a);
  CAF_CHECK(!load.reserve(41)); // 101 would be over the budget
  auto b = load.reserve(40);
  CAF_REQUIRE(b);
  CAF_CHECK_EQUAL(load.reserved(), 100u);
  CAF_CHECK(!load.reserve(1));
  // Room comes back when a mail's last holder lets go.
  auto copy = a;
  a.reset();
  CAF_CHECK(!load.reserve(60));
  copy.reset();
  CAF_CHECK_EQUAL(load.reserved(), 40u);
  auto c = load.reserve(60);
  CAF_CHECK(c);
  b.reset();
  c.reset();
  CAF_CHECK_EQUAL(load.reserved(), 0u);
  // A mail larger than the whole budget goes alone, once nothing else is held.
  auto small = load.reserve(10);
  CAF_CHECK(!load.reserve(500));
  small.reset();
  auto huge = load.reserve(500);
  CAF_REQUIRE(huge);
  CAF_CHECK(!load.reserve(1));
}

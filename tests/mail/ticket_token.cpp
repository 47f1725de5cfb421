#define CAF_SUITE mail_ticket_token
#include <caf/test/unit_test.hpp>

#include "mail/ticket_token.hpp"

using mail::subject_tokens;
using mail::ticket_token;

CAF_TEST(a token carries the ticket id and six hex digits of its HMAC) {
  auto token = ticket_token("key", "t_42");
  CAF_CHECK_EQUAL(token.rfind("[#t_42-", 0), 0u);
  CAF_CHECK_EQUAL(token.size(), std::string{"[#t_42-"}.size() + 6 + 1);
  CAF_CHECK_EQUAL(token, ticket_token("key", "t_42")); // the same key, the same token
  CAF_CHECK_NOT_EQUAL(token, ticket_token("other key", "t_42"));
}

CAF_TEST(every well formed token of a subject is found in order) {
  auto found = subject_tokens("Re: [#t_1-abcdef] and [#t-2-012345] [#bad] [#-123456] "
                              "[#t_3-1234567] [#t_4-fedcba");
  CAF_REQUIRE_EQUAL(found.size(), 2u);
  CAF_CHECK_EQUAL(found[0].first, "t_1");
  CAF_CHECK_EQUAL(found[0].second, "[#t_1-abcdef]");
  CAF_CHECK_EQUAL(found[1].first, "t-2"); // the last dash separates the HMAC
  CAF_CHECK(subject_tokens("no token here").empty());
}

CAF_TEST(a hostile subject costs linear time and yields few tokens) {
  std::string subject;
  for (int i = 0; i < 100'000; ++i)
    subject += "[#"; // no ']' anywhere near: nothing to find, and no rescans
  subject += "[#t_1-abcdef]";
  auto found = subject_tokens(subject);
  CAF_REQUIRE_EQUAL(found.size(), 1u);
  CAF_CHECK_EQUAL(found[0].first, "t_1");
  std::string many;
  for (int i = 0; i < 100; ++i)
    many += "[#t_" + std::to_string(i) + "-abcdef] ";
  CAF_CHECK_EQUAL(subject_tokens(many).size(), 8u);
}

#define CAF_SUITE converter
#include <caf/test/unit_test.hpp>

#include "actors/converter.hpp"
#include "mail/limits.hpp"

#include <string>

namespace {

exc::inbound_mail convert(const std::string& raw) {
  static exc::address_book connected;
  exc::inbound_mail base;
  base.account_id = "acc";
  base.message_id = "graph-id@example.com";
  return exc::convert_mail(raw, base, connected);
}

} // namespace

CAF_TEST(a reply is threaded by a bounded number of ids newest first) {
  std::string refs = "References:";
  for (int i = 0; i < 1000; ++i)
    refs += " <r" + std::to_string(i) + "@example.org>\r\n";
  auto m =
      convert("From: a@example.org\r\nTo: help@example.com\r\n"
              "Message-ID: <new@example.org>\r\nIn-Reply-To: <r999@example.org>\r\n" +
              refs + "Subject: Re: x\r\n\r\nbody\r\n");
  CAF_REQUIRE(m.rejection.empty());
  CAF_REQUIRE_EQUAL(m.thread_ids.size(), mail::limits::max_thread_ids);
  CAF_CHECK_EQUAL(m.thread_ids[0], "r999@example.org"); // In-Reply-To, counted once
  CAF_CHECK_EQUAL(m.thread_ids[1], "r998@example.org");
  CAF_CHECK_EQUAL(m.thread_ids.back(), "r968@example.org");
}

CAF_TEST(a From without an address is missing_from) {
  auto m = convert("From: =?utf-8?q?J=C3=BCrgen?=\r\nTo: help@example.com\r\n"
                   "Subject: hi\r\n\r\nbody\r\n");
  CAF_CHECK_EQUAL(m.rejection, "missing_from");
  auto named = convert("From: \"=?utf-8?q?J=C3=BCrgen?=\" <j@example.org>\r\n"
                       "To: help@example.com\r\nSubject: hi\r\n\r\nbody\r\n");
  CAF_CHECK_EQUAL(named.rejection, "");
  CAF_CHECK_EQUAL(named.from.email, "j@example.org");
  CAF_CHECK_EQUAL(named.from.name, "Jürgen");
}

CAF_TEST(an HTML - only mail of a million tags converts) {
  std::string html;
  while (html.size() < 1024 * 1024)
    html += "<title></title>&";
  auto m = convert("From: a@example.org\r\nTo: help@example.com\r\nSubject: x\r\n"
                   "Content-Type: text/html\r\n\r\n" +
                   html + "<p>visible</p>\r\n");
  CAF_CHECK_EQUAL(m.rejection, "");
  CAF_CHECK_EQUAL(m.text_body.substr(m.text_body.size() - 7), "visible");
}

CAF_TEST(a recovered mail is never rejected) {
  exc::address_book connected;
  exc::inbound_mail base;
  base.account_id = "acc";
  base.recovering = "rej_1";
  // Unreadable MIME: a ticket that says so, with the mail attached.
  const std::string junk = "This is not a mail header at all\r\n";
  auto m = exc::convert_mail(junk, base, connected);
  CAF_CHECK(m.rejection.empty());
  CAF_CHECK_EQUAL(m.subject, "(a message exconnect could not read)");
  CAF_REQUIRE_EQUAL(m.attachments.size(), 1u);
  CAF_CHECK_EQUAL(m.attachments[0].name, "message.eml");
  CAF_CHECK_EQUAL(m.attachments[0].content, junk);
  // No sender address, no To: a ticket whose requester has no address.
  auto anonymous = exc::convert_mail("From: =?utf-8?q?J=C3=BCrgen?=\r\nSubject: hi\r\n"
                                     "\r\nbody\r\n",
                                     base, connected);
  CAF_CHECK(anonymous.rejection.empty());
  CAF_CHECK_EQUAL(anonymous.subject, "hi");
  CAF_CHECK_EQUAL(anonymous.from.email, "");
  CAF_CHECK_EQUAL(anonymous.text_body.rfind("body", 0), 0u);
}

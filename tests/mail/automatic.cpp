#define CAF_SUITE mail_automatic
#include <caf/test/unit_test.hpp>

#include "mail/automatic.hpp"
#include "mail/parse.hpp"

#include <string>

namespace {

/// The rule that `headers` (before a plain body) trip, or "" if none.
std::string rule(const std::string& headers,
                 const std::string& from = "Jana <jana@customer.test>") {
  auto parsed =
      mail::parse("From: " + from + "\r\nTo: support@contoso.test\r\nSubject: Hello\r\n" +
                  headers + "\r\nHello\r\n");
  CAF_REQUIRE(parsed.parsed);
  return mail::automatic_reason(parsed.msg).value_or("");
}

} // namespace

CAF_TEST(mail a person wrote is not automatic) {
  CAF_CHECK_EQUAL(rule(""), "");
  CAF_CHECK_EQUAL(rule("Auto-Submitted: no\r\n"), "");
  CAF_CHECK_EQUAL(rule("Auto-Submitted: No (a person wrote this)\r\n"), "");
  CAF_CHECK_EQUAL(rule("Precedence: first-class\r\n"), "");
  // Mailing-list and bulk mail may come from a person (a customer's group address).
  CAF_CHECK_EQUAL(rule("Precedence: bulk\r\n"), "");
  CAF_CHECK_EQUAL(rule("Precedence: list\r\n"), "");
  CAF_CHECK_EQUAL(rule("List-Id: <team.customer.test>\r\n"), "");
  CAF_CHECK_EQUAL(rule("X-Auto-Response-Suppress: DR, RN\r\n"), "");
  CAF_CHECK_EQUAL(rule("Return-Path: <jana@customer.test>\r\n"), "");
  CAF_CHECK_EQUAL(rule("Content-Type: multipart/mixed; boundary=x\r\n"), "");
}

CAF_TEST(each rule of the established helpdesks is recognised) {
  CAF_CHECK_EQUAL(rule("Auto-Submitted: auto-replied\r\n"),
                  "Auto-Submitted: auto-replied");
  CAF_CHECK_EQUAL(rule("Auto-Submitted: auto-generated; foo=bar\r\n"),
                  "Auto-Submitted: auto-generated; foo=bar");
  CAF_CHECK_EQUAL(rule("X-Autoreply: yes\r\n"), "X-Autoreply: yes");
  CAF_CHECK_EQUAL(rule("X-Autorespond: Out of office\r\n"),
                  "X-Autorespond: Out of office");
  CAF_CHECK_EQUAL(rule("X-Autoresponder: 1\r\n"), "X-Autoresponder: 1");
  CAF_CHECK_EQUAL(rule("X-Auto-Response-Suppress: All\r\n"),
                  "X-Auto-Response-Suppress: All");
  CAF_CHECK_EQUAL(rule("X-Auto-Response-Suppress: DR, AutoReply\r\n"),
                  "X-Auto-Response-Suppress: DR, AutoReply");
  for (const char* p : {"junk", "auto_reply", "Junk"}) {
    CAF_CHECK_EQUAL(rule(std::string{"Precedence: "} + p + "\r\n"),
                    std::string{"Precedence: "} + p);
    CAF_CHECK_EQUAL(rule(std::string{"X-Precedence: "} + p + "\r\n"),
                    std::string{"X-Precedence: "} + p);
  }
  CAF_CHECK_NOT_EQUAL(rule("MIME-Version: 1.0\r\nContent-Type: multipart/report; "
                           "report-type=\"delivery-status\"; boundary=b\r\n"),
                      "");
  CAF_CHECK_EQUAL(rule("X-Failed-Recipients: gone@customer.test\r\n"),
                  "X-Failed-Recipients: gone@customer.test");
  CAF_CHECK_EQUAL(rule("", "Mail Delivery System <MAILER-DAEMON@mx.customer.test>"),
                  "From: MAILER-DAEMON@mx.customer.test");
  CAF_CHECK_EQUAL(rule("", "postmaster@customer.test"), "From: postmaster@customer.test");
  CAF_CHECK_EQUAL(rule("Return-Path: <>\r\n"), "Return-Path: <>");
}

CAF_TEST(mailing list and bulk mail is recognised apart from automatic mail) {
  auto list = [](const std::string& headers) {
    auto parsed = mail::parse("From: Jana <jana@customer.test>\r\nTo: a@b.test\r\n" +
                              headers + "\r\nHello\r\n");
    CAF_REQUIRE(parsed.parsed);
    return mail::list_reason(parsed.msg).value_or("");
  };
  CAF_CHECK_EQUAL(list(""), "");
  CAF_CHECK_EQUAL(list("Precedence: junk\r\n"), "");
  CAF_CHECK_EQUAL(list("List-Id: Team <team.customer.test>\r\n"),
                  "List-Id: Team <team.customer.test>");
  CAF_CHECK_EQUAL(list("Precedence: Bulk\r\n"), "Precedence: Bulk");
  CAF_CHECK_EQUAL(list("X-Precedence: list\r\n"), "X-Precedence: list");
  // A long value is cut for the detail, at a character.
  auto long_id =
      list("List-Id: " + std::string(150, 'a') + std::string(100, '\xC3') + "\r\n");
  CAF_CHECK_LESS_OR_EQUAL(long_id.size(), std::string{"List-Id: "}.size() + 200 + 3);
}

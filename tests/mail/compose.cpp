#define CAF_SUITE mail_compose
#include <caf/test/unit_test.hpp>

#include "mail/compose.hpp"
#include "mail/parse.hpp"

#include <algorithm>
#include <string>

namespace {

mail::outgoing sample() {
  mail::outgoing m;
  m.from = {"", "support@contoso.test"};
  m.to = {{"Jana Nováková", "jana@customer.test"}};
  m.cc = {{"", "boss@customer.test"}, {"Q, R", "qr@customer.test"}};
  m.subject = "Re: Drucker kaputt – bitte helfen [#t1-abcdef]";
  m.message_id = "e123@contoso.test";
  m.in_reply_to = "c2@customer.test";
  m.references = {"c1@customer.test", "c2@customer.test"};
  m.date = 1'790'000'000;
  m.text = "Hello Jana,\nwe are on it.\n\nÜbrigens: <b> is not markup here.";
  m.headers = {{"Auto-Submitted", "auto-generated"},
               {"X-Auto-Response-Suppress", "All"},
               {"X-Mailer", "Zendesk Mailer"}};
  return m;
}

std::string header(const mail::message& msg, const char* name) {
  auto* v = mail::find_header(msg, name);
  return v ? *v : std::string{"(missing)"};
}

} // namespace

CAF_TEST(a composed mail parses back to what was put in) {
  auto raw = mail::compose(sample());
  auto parsed = mail::parse(raw);
  CAF_REQUIRE(parsed.parsed);
  CAF_CHECK(parsed.clean());
  const auto& msg = parsed.msg;
  CAF_REQUIRE(msg.from.has_value());
  CAF_CHECK_EQUAL(msg.from->email, "support@contoso.test");
  CAF_REQUIRE_EQUAL(msg.to.size(), 1u);
  CAF_CHECK_EQUAL(msg.to[0].email, "jana@customer.test");
  CAF_CHECK_EQUAL(msg.to[0].name, "Jana Nováková");
  CAF_REQUIRE_EQUAL(msg.cc.size(), 2u);
  CAF_CHECK_EQUAL(msg.cc[1].name, "Q, R");
  CAF_CHECK_EQUAL(msg.subject, "Re: Drucker kaputt – bitte helfen [#t1-abcdef]");
  CAF_CHECK_EQUAL(msg.message_id, "e123@contoso.test");
  CAF_CHECK_EQUAL(msg.in_reply_to, "c2@customer.test");
  CAF_CHECK_EQUAL(msg.references.size(), 2u);
  auto text = msg.text_body; // CRLF on the wire
  text.erase(std::remove(text.begin(), text.end(), '\r'), text.end());
  CAF_CHECK_EQUAL(text,
                  "Hello Jana,\nwe are on it.\n\nÜbrigens: <b> is not markup here.");
  CAF_CHECK(msg.html_body.find("&lt;b&gt;") != std::string::npos);
  CAF_CHECK(msg.html_body.find("<br>") != std::string::npos);
  CAF_CHECK_EQUAL(header(msg, "Auto-Submitted"), "auto-generated");
  CAF_CHECK_EQUAL(header(msg, "X-Auto-Response-Suppress"), "All");
  CAF_CHECK_EQUAL(header(msg, "X-Mailer"), "Zendesk Mailer");
  CAF_CHECK(raw.find("\r\n") != std::string::npos);
  CAF_CHECK(raw.find("multipart/alternative") != std::string::npos);
}

CAF_TEST(header values cannot smuggle in headers) {
  auto m = sample();
  m.subject = "Hi\r\nBcc: victim@evil.test";
  m.headers = {{"X-Mailer", "Mailer\r\nBcc: victim@evil.test"}};
  m.to[0].name = "Jana\r\nBcc: victim@evil.test";
  auto parsed = mail::parse(mail::compose(m));
  CAF_REQUIRE(parsed.parsed);
  CAF_CHECK_EQUAL(header(parsed.msg, "Bcc"), "(missing)");
}

CAF_TEST(ids and addresses are checked before they go into headers) {
  CAF_CHECK(mail::valid_message_id("abc.123@host.test"));
  CAF_CHECK(!mail::valid_message_id("<abc@host>"));
  CAF_CHECK(!mail::valid_message_id("abc@host\r\nBcc: x@y"));
  CAF_CHECK(!mail::valid_message_id("no-at-sign"));
  CAF_CHECK(mail::valid_address("jana@customer.test"));
  CAF_CHECK(!mail::valid_address("jana@@customer.test"));
  CAF_CHECK(!mail::valid_address("jana customer.test"));
  CAF_CHECK(!mail::valid_address("jana@customer.test, x@y.test"));
  CAF_CHECK(!mail::valid_address("@customer.test"));
}

CAF_TEST(references keep the root and the newest ids) {
  std::vector<std::string> ids;
  for (int i = 0; i < 15; ++i)
    ids.push_back("m" + std::to_string(i) + "@x");
  auto capped = mail::capped_references(ids, 10);
  CAF_REQUIRE_EQUAL(capped.size(), 10u);
  CAF_CHECK_EQUAL(capped.front(), "m0@x");
  CAF_CHECK_EQUAL(capped[1], "m6@x");
  CAF_CHECK_EQUAL(capped.back(), "m14@x");
  CAF_CHECK_EQUAL(mail::capped_references({"a@x"}, 10).size(), 1u);
}

#define CAF_SUITE mail_parse

#include <caf/test/unit_test_impl.hpp>

#include "mail/charset.hpp"
#include "mail/limits.hpp"
#include "mail/parse.hpp"
#include "mail/problems.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

/// The bytes of tests/data/mail/`name`; empty (and the test failed) if unreadable.
std::string read_mail(const std::string& name) {
  std::ifstream in{std::string{EXC_TEST_DATA_DIR} + "/mail/" + name, std::ios::binary};
  CAF_CHECK(in.good());
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

mail::parse_result parse_mail(const std::string& name) {
  return mail::parse(read_mail(name));
}

/// True if some problem mentions `needle`.
bool has_problem(const mail::parse_result& r, std::string_view needle) {
  return std::any_of(r.problems.begin(), r.problems.end(), [&](const std::string& p) {
    return p.find(needle) != std::string::npos;
  });
}

/// A minimal message around one header line, for the header decoding tables.
std::string with_header(const std::string& line) {
  return "From: sender@example.com\r\n" + line +
         "\r\nMessage-ID: <t@example.com>\r\n\r\nx\r\n";
}

std::string subject_of(const std::string& raw_value) {
  return mail::parse(with_header("Subject: " + raw_value)).msg.subject;
}

/// Every string parse promises to be UTF-8 (attachment contents are bytes).
bool all_utf8(const mail::parse_result& r) {
  using mail::detail::is_utf8;
  const auto& m = r.msg;
  bool ok = is_utf8(m.subject) && is_utf8(m.message_id) && is_utf8(m.in_reply_to) &&
            is_utf8(m.text_body) && is_utf8(m.html_body);
  auto check_addresses = [&](const std::vector<mail::address>& list) {
    for (const auto& a : list)
      ok = ok && is_utf8(a.name) && is_utf8(a.email);
  };
  if (m.from) check_addresses({*m.from});
  check_addresses(m.to);
  check_addresses(m.cc);
  check_addresses(m.reply_to);
  for (const auto& id : m.references)
    ok = ok && is_utf8(id);
  for (const auto& a : m.attachments)
    ok = ok && is_utf8(a.name) && is_utf8(a.content_type) && is_utf8(a.content_id);
  for (const auto& [name, value] : m.headers)
    ok = ok && is_utf8(name) && is_utf8(value);
  for (const auto& p : r.problems)
    ok = ok && is_utf8(p);
  return ok;
}

const std::vector<std::string> all_mails = {
    "address-groups.eml",  "forwarded-rfc822.eml", "html-only.eml",
    "missing-headers.eml", "nested-multipart.eml", "outlook-encoded.eml",
    "plain-utf8.eml",      "rfc2231-names.eml",    "truncated-multipart.eml",
    "unknown-charset.eml", "windows-1252.eml"};

} // namespace

// -- a clean, complete message ------------------------------------------------

CAF_TEST(plain message fields) {
  auto r = parse_mail("plain-utf8.eml");
  CAF_CHECK(r.parsed);
  CAF_CHECK(r.clean());
  const auto& m = r.msg;
  CAF_CHECK(m.from.has_value());
  CAF_CHECK_EQUAL(m.from.value_or(mail::address{}).name, "Müller, Hans");
  CAF_CHECK_EQUAL(m.from.value_or(mail::address{}).email, "hans.mueller@example.org");
  CAF_CHECK_EQUAL(m.to.size(), 2u);
  if (m.to.size() == 2) {
    CAF_CHECK_EQUAL(m.to[0].name, "Jane Doe");
    CAF_CHECK_EQUAL(m.to[0].email, "jane@example.com");
    CAF_CHECK_EQUAL(m.to[1].name, "");
    CAF_CHECK_EQUAL(m.to[1].email, "bob@example.com");
  }
  CAF_CHECK_EQUAL(m.cc.size(), 1u);
  if (m.cc.size() == 1) CAF_CHECK_EQUAL(m.cc[0].name, "Support Team");
  CAF_CHECK_EQUAL(m.reply_to.size(), 1u);
  if (m.reply_to.size() == 1)
    CAF_CHECK_EQUAL(m.reply_to[0].email, "hans+replies@example.org");
  CAF_CHECK_EQUAL(m.subject, "Re: Budget 2024 – nächste Schritte");
  CAF_CHECK_EQUAL(m.message_id, "20231114083000.12345@mail.example.org");
  CAF_CHECK_EQUAL(m.in_reply_to, "CAF+first@mail.example.com");
  // Tue, 14 Nov 2023 09:30:00 +0100 = 08:30:00 UTC.
  CAF_CHECK_EQUAL(m.date.value_or(0), 1699950600);
  // Quoted-printable decoded; the CRLF line ends of the input stay as they are.
  CAF_CHECK_EQUAL(m.text_body, "Hallo Jane,\r\n\r\nanbei die nächsten Schritte für das "
                               "Budget.\r\n\r\nGrüße\r\nHans\r\n");
  CAF_CHECK_EQUAL(m.html_body, "");
  CAF_CHECK(m.attachments.empty());
}

CAF_TEST(references with several ids) {
  auto r = parse_mail("plain-utf8.eml");
  auto expected = std::vector<std::string>{
      "root.1@example.com", "CAF+first@mail.example.com", "reply.2@example.org"};
  CAF_CHECK_EQUAL(r.msg.references, expected);
  // In-Reply-To keeps only the first id; angle brackets and comments go.
  auto s = mail::parse(
      with_header("In-Reply-To: <a.1@x.example> (the first) <b.2@x.example>"));
  CAF_CHECK_EQUAL(s.msg.in_reply_to, "a.1@x.example");
}

CAF_TEST(header list keeps order and raw values) {
  auto r = parse_mail("plain-utf8.eml");
  const auto& h = r.msg.headers;
  CAF_CHECK_EQUAL(h.size(), 15u);
  if (h.size() != 15) return;
  CAF_CHECK_EQUAL(h[0].first, "Received");
  // Unfolded (CRLF + white space -> one space) ...
  CAF_CHECK_EQUAL(h[0].second, "from mail.example.org (mail.example.org [192.0.2.10]) by "
                               "mx.example.com with ESMTPS id 4SVx1T2Qz9 for "
                               "<jane@example.com>; Tue, 14 Nov 2023 09:30:02 +0100");
  CAF_CHECK_EQUAL(h[1].first, "Received");
  // ... but not decoded.
  CAF_CHECK_EQUAL(h[6].first, "Subject");
  CAF_CHECK_EQUAL(h[6].second,
                  "Re: Budget 2024 =?UTF-8?Q?=E2=80=93_n=C3=A4chste_Schritte?=");
  CAF_CHECK_EQUAL(h[10].first, "References");
  CAF_CHECK_EQUAL(
      h[10].second,
      "<root.1@example.com> <CAF+first@mail.example.com> <reply.2@example.org>");
  // GMime keeps the top-level Content-* headers apart; they must still be in place.
  CAF_CHECK_EQUAL(h[11].first, "MIME-Version");
  CAF_CHECK_EQUAL(h[12].first, "Content-Type");
  CAF_CHECK_EQUAL(h[12].second, "text/plain; charset=\"utf-8\"");
  CAF_CHECK_EQUAL(h[13].first, "Content-Transfer-Encoding");
  CAF_CHECK_EQUAL(h[14].first, "X-Mailer");
}

CAF_TEST(find header ignores case) {
  auto r = parse_mail("plain-utf8.eml");
  const auto* mailer = mail::find_header(r.msg, "x-MAILER");
  CAF_CHECK(mailer != nullptr);
  CAF_CHECK_EQUAL(mailer != nullptr ? *mailer : "", "exconnect-test 1.0");
  // The first of repeated headers.
  const auto* received = mail::find_header(r.msg, "received");
  CAF_CHECK(received != nullptr && received->rfind("from mail.example.org", 0) == 0);
  CAF_CHECK(mail::find_header(r.msg, "X-Missing") == nullptr);
  CAF_CHECK(mail::find_header(r.msg, "X-Mail") == nullptr);
}

// -- RFC 2047 ---------------------------------------------------------------------

CAF_TEST(rfc2047 subjects) {
  // Q encoding, ISO-8859-1.
  CAF_CHECK_EQUAL(subject_of("=?ISO-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?="), "Grüße aus Köln");
  // B encoding, UTF-8, lower-case markers.
  CAF_CHECK_EQUAL(subject_of("=?utf-8?b?w5xiZXJzaWNodA==?="), "Übersicht");
  // Plain text and encoded words mixed: the spaces around the word are text.
  CAF_CHECK_EQUAL(subject_of("Re: =?utf-8?q?Caf=C3=A9?= meeting"), "Re: Café meeting");
  // White space between adjacent encoded words is dropped.
  CAF_CHECK_EQUAL(subject_of("=?utf-8?q?Hello?= =?utf-8?q?_World?="), "Hello World");
  // Adjacent padded B words (GMime 3.2.13 alone returns "Hi").
  CAF_CHECK_EQUAL(subject_of("=?UTF-8?B?SGk=?=\r\n =?UTF-8?B?IHRoZXJl?="), "Hi there");
  // A character split across two words.
  CAF_CHECK_EQUAL(subject_of("=?UTF-8?B?ww==?= =?UTF-8?B?qQ==?="), "é");
  // Adjacent words in different charsets.
  CAF_CHECK_EQUAL(subject_of("=?iso-8859-1?q?caf=E9?= =?utf-8?b?IOKYlQ==?="), "café ☕");
  // ISO-8859-1 read as windows-1252: 0x93/0x94 are curly quotes, not C1 controls.
  CAF_CHECK_EQUAL(subject_of("=?iso-8859-1?Q?=93Hi=94?="), "“Hi”");
  // An unknown charset: windows-1252 unless UTF-8 (GMime alone drops a final 8-bit byte).
  CAF_CHECK_EQUAL(subject_of("=?x-unknown?Q?caf=E9?="), "café");
  CAF_CHECK_EQUAL(subject_of("=?x-unknown?Q?caf=C3=A9?="), "café");
  // A broken word is left as text rather than dropped.
  CAF_CHECK_EQUAL(subject_of("=?utf-8?Q?unterminated"), "=?utf-8?Q?unterminated");
}

CAF_TEST(outlook style split words) {
  auto r = parse_mail("outlook-encoded.eml");
  CAF_CHECK(r.clean());
  const auto& m = r.msg;
  CAF_CHECK_EQUAL(m.subject, "Präsentation für die Vertriebskonferenz in München");
  CAF_CHECK_EQUAL(m.from.value_or(mail::address{}).name, "François Lefèvre");
  CAF_CHECK_EQUAL(m.to.size(), 2u);
  if (m.to.size() == 2) {
    CAF_CHECK_EQUAL(m.to[0].name, "山田太郎");
    CAF_CHECK_EQUAL(m.to[0].email, "yamada@example.jp");
    CAF_CHECK_EQUAL(m.to[1].name, "Sven-Olof Åkerström");
  }
  // Labelled ISO-8859-1, but 0x96 is the windows-1252 en dash Outlook means.
  CAF_CHECK_EQUAL(m.text_body,
                  "Bonjour,\r\n\r\nci-joint la présentation\u00a0– version finale.\r\n");
}

CAF_TEST(undeclared 8bit headers) {
  // Raw UTF-8 is fine (RFC 6532) ...
  auto utf8 = mail::parse(with_header("Subject: Grüße aus Köln"));
  CAF_CHECK_EQUAL(utf8.msg.subject, "Grüße aus Köln");
  CAF_CHECK(utf8.clean());
  // ... any other 8-bit text is read as windows-1252, and reported.
  auto legacy = mail::parse(with_header("Subject: \x93Gr\xfc\xdf"
                                        "e\x94 \x80 5"));
  CAF_CHECK_EQUAL(legacy.msg.subject, "“Grüße” € 5");
  CAF_CHECK(has_problem(legacy, "unencoded 8-bit header"));
  // Raw header values are made UTF-8 the same way.
  const auto* raw = mail::find_header(legacy.msg, "subject");
  CAF_CHECK_EQUAL(raw != nullptr ? *raw : "", "“Grüße” € 5");
  // Display names too.
  auto from = mail::parse("From: J\xfcrgen <j@example.com>\r\n\r\nx\r\n");
  CAF_CHECK_EQUAL(from.msg.from.value_or(mail::address{}).name, "Jürgen");
}

// -- RFC 2231 ---------------------------------------------------------------------

CAF_TEST(rfc2231 file names) {
  auto r = parse_mail("rfc2231-names.eml");
  CAF_CHECK(r.clean());
  // The attached text file has a file name, so it is no second body.
  CAF_CHECK_EQUAL(r.msg.text_body, "Five documents attached.");
  const auto& a = r.msg.attachments;
  CAF_CHECK_EQUAL(a.size(), 5u);
  if (a.size() != 5) return;
  CAF_CHECK_EQUAL(a[0].name, "Grüße.txt"); // charset'lang'value
  CAF_CHECK_EQUAL(a[0].content_type, "text/plain");
  CAF_CHECK_EQUAL(a[0].content, "Hallo");
  CAF_CHECK_EQUAL(a[1].name, "Quarterly financial report 2023.pdf"); // continuations
  CAF_CHECK_EQUAL(a[1].content, "%PDF-1.4\n");
  CAF_CHECK_EQUAL(a[1].size, 9u);
  CAF_CHECK_EQUAL(a[2].name, "日本語.docx"); // encoded continuations
  CAF_CHECK_EQUAL(
      a[2].content_type,
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  CAF_CHECK_EQUAL(a[3].name, "Kündigung.xls"); // RFC 2047 in Content-Type name
  // Padded B words in a file name, as Outlook writes them.
  CAF_CHECK_EQUAL(a[4].name, "Überweisungsbestätigung März.pdf");
  for (const auto& x : a)
    CAF_CHECK(!x.is_inline);
}

// -- charsets -----------------------------------------------------------------------

CAF_TEST(windows 1252 bodies) {
  auto r = parse_mail("windows-1252.eml");
  CAF_CHECK(r.clean());
  CAF_CHECK_EQUAL(r.msg.text_body, "He said “hello” – it costs €20 (café).\r\n");
  // Labelled ISO-8859-1, quoted-printable; decoded like windows-1252.
  CAF_CHECK_EQUAL(r.msg.html_body, "<p>He said “hello” – it costs €20 (café).</p>\r\n");
  CAF_CHECK(r.msg.attachments.empty());
}

CAF_TEST(unknown charsets fall back) {
  auto r = parse_mail("unknown-charset.eml");
  CAF_CHECK(r.parsed);
  CAF_CHECK(!r.clean());
  // Valid UTF-8 in an unknown charset: read as UTF-8.
  CAF_CHECK_EQUAL(r.msg.text_body, "Grüße aus Köln");
  CAF_CHECK(
      has_problem(r, "text/plain body: unknown charset x-klingon-utf, decoded as utf-8"));
  // Anything else: windows-1252.
  CAF_CHECK_EQUAL(r.msg.html_body, "<p>café “ok”</p>");
  CAF_CHECK(has_problem(r, "text/html body: unknown charset x-unknown-legacy, decoded as "
                           "windows-1252"));
  // Encoded words in an unknown charset.
  CAF_CHECK_EQUAL(r.msg.subject, "café au lait");
  CAF_CHECK(
      has_problem(r, "Subject: encoded word with unknown charset x-unknown-legacy"));
}

CAF_TEST(charset converters are reused from their initial state) {
  using mail::detail::to_utf8;
  // ISO-2022-JP shifts into JIS X 0208 and this text never shifts back: the next
  // conversion with the same (kept) converter must start in ASCII again.
  CAF_CHECK_EQUAL(to_utf8("\x1b$B$3$s", "iso-2022-jp").text, "こん");
  CAF_CHECK_EQUAL(to_utf8("$3$s", "iso-2022-jp").text, "$3$s");
  // More charsets than are kept open, each used twice; unknown names fall back each time.
  const char* names[] = {"iso-8859-2",   "iso-8859-3",   "iso-8859-4",   "iso-8859-5",
                         "iso-8859-7",   "iso-8859-9",   "iso-8859-13",  "iso-8859-15",
                         "koi8-r",       "koi8-u",       "windows-1250", "windows-1251",
                         "windows-1253", "windows-1254", "windows-1255", "windows-1257",
                         "windows-1258", "ibm866",       "macintosh",    "big5"};
  for (int round = 0; round < 2; ++round) {
    for (const char* name : names) {
      auto r = to_utf8("A=1\r\n", name);
      CAF_CHECK_EQUAL(r.text, "A=1\r\n");
      CAF_CHECK_EQUAL(r.problem, "");
    }
    CAF_CHECK_EQUAL(to_utf8("\xf0\xd2\xc9", "koi8-r").text, "При");
    CAF_CHECK_NOT_EQUAL(to_utf8("caf\xe9", "x-nope").problem, "");
  }
}

CAF_TEST(invalid bytes in a declared charset) {
  auto r =
      mail::parse("From: a@example.com\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  "\r\nok \xff\xfe ok\r\n");
  CAF_CHECK_EQUAL(r.msg.text_body, "ok \xEF\xBF\xBD\xEF\xBF\xBD ok\r\n");
  CAF_CHECK(has_problem(r, "text/plain body: invalid utf-8 replaced by U+FFFD"));
  // No charset at all: 8-bit text is a guess.
  auto bare = mail::parse("From: a@example.com\r\n\r\ncaf\xe9\r\n");
  CAF_CHECK_EQUAL(bare.msg.text_body, "café\r\n");
  CAF_CHECK(has_problem(bare, "8-bit text without charset, decoded as windows-1252"));
  // An iconv charset.
  auto koi8 =
      mail::parse("From: a@example.com\r\nContent-Type: text/plain; charset=koi8-r\r\n"
                  "\r\n\xf0\xd2\xc9\xd7\xc5\xd4\r\n");
  CAF_CHECK_EQUAL(koi8.msg.text_body, "Привет\r\n");
  CAF_CHECK(koi8.clean());
}

// -- structure ----------------------------------------------------------------------

CAF_TEST(nested multiparts) {
  auto r = parse_mail("nested-multipart.eml");
  CAF_CHECK(r.clean());
  const auto& m = r.msg;
  CAF_CHECK_EQUAL(m.text_body, "Your order 4711 has shipped.");
  CAF_CHECK_EQUAL(m.html_body,
                  "<html><body><img src=\"cid:logo@shop.example\"><p>Your order "
                  "4711 has shipped.</p></body></html>");
  CAF_CHECK_EQUAL(m.attachments.size(), 2u);
  if (m.attachments.size() != 2) return;
  const auto& logo = m.attachments[0];
  CAF_CHECK_EQUAL(logo.content_type, "image/png");
  CAF_CHECK_EQUAL(logo.content_id, "logo@shop.example");
  CAF_CHECK(logo.is_inline); // no disposition, but the HTML shows it through cid:
  CAF_CHECK_EQUAL(logo.name, "");
  CAF_CHECK_EQUAL(logo.size, 8u);
  CAF_CHECK_EQUAL(logo.content, std::string("\x89PNG\r\n\x1a\n", 8));
  const auto& pdf = m.attachments[1];
  CAF_CHECK_EQUAL(pdf.name, "invoice.pdf");
  CAF_CHECK_EQUAL(pdf.content_type, "application/pdf");
  CAF_CHECK_EQUAL(pdf.content_id, "");
  CAF_CHECK(!pdf.is_inline);
  CAF_CHECK_EQUAL(pdf.size, 15u);
  CAF_CHECK_EQUAL(pdf.content, "%PDF-1.4\n%\xc7\xec\x8f\xa2\n");
}

CAF_TEST(html only) {
  auto r = parse_mail("html-only.eml");
  CAF_CHECK(r.clean());
  CAF_CHECK_EQUAL(r.msg.text_body, "");
  CAF_CHECK_EQUAL(
      r.msg.html_body,
      "<html><body><p>Disk <b>/var</b> is at 93% — please check.</p></body></html>\n");
  CAF_CHECK(r.msg.attachments.empty());
  CAF_CHECK_EQUAL(r.msg.subject, "Disk usage above 90%");
}

CAF_TEST(message rfc822 attachments) {
  auto r = parse_mail("forwarded-rfc822.eml");
  CAF_CHECK(r.clean());
  const auto& m = r.msg;
  // The embedded bodies stay inside their attachment.
  CAF_CHECK_EQUAL(m.text_body, "See the original below.");
  CAF_CHECK_EQUAL(m.html_body, "");
  CAF_CHECK_EQUAL(m.attachments.size(), 2u);
  if (m.attachments.size() != 2) return;
  const auto& first = m.attachments[0];
  CAF_CHECK_EQUAL(first.name, "Quarterly report Q3 – draft.eml"); // from its Subject
  CAF_CHECK_EQUAL(first.content_type, "message/rfc822");
  CAF_CHECK_EQUAL(first.content.rfind("From: Carol <carol@example.com>\r\n", 0), 0u);
  CAF_CHECK(first.content.find("Inner text must not become the outer body.\r\n") !=
            std::string::npos);
  CAF_CHECK_EQUAL(first.size, first.content.size());
  // The embedded message parses back to itself.
  auto inner = mail::parse(first.content);
  CAF_CHECK_EQUAL(inner.msg.message_id, "q3-draft@example.com");
  CAF_CHECK_EQUAL(inner.msg.html_body,
                  "<p>Inner HTML must not become the outer body.</p>");
  CAF_CHECK(inner.clean());
  const auto& second = m.attachments[1];
  CAF_CHECK_EQUAL(second.name, "original message.eml"); // a file name wins
  CAF_CHECK_EQUAL(second.content_type, "message/rfc822");
  CAF_CHECK(second.content.find("Hello again.") != std::string::npos);
}

CAF_TEST(address groups are flattened) {
  auto r = parse_mail("address-groups.eml");
  CAF_CHECK(r.clean());
  const auto& m = r.msg;
  CAF_CHECK_EQUAL(m.from.value_or(mail::address{}).name, "Doe, John");
  std::vector<std::string> to;
  for (const auto& a : m.to)
    to.push_back(a.name + " <" + a.email + ">");
  auto expected = std::vector<std::string>{
      " <alice@example.com>", "Bob B. <bob@example.com>", " <carol@example.com>"};
  CAF_CHECK_EQUAL(to, expected);
  CAF_CHECK(m.cc.empty()); // an empty group
  CAF_CHECK_EQUAL(m.reply_to.size(), 1u);
  if (m.reply_to.size() == 1) {
    CAF_CHECK_EQUAL(m.reply_to[0].name, "Jürgen");
    CAF_CHECK_EQUAL(m.reply_to[0].email, "juergen@example.com");
  }
}

// -- missing and broken input -----------------------------------------------------

CAF_TEST(missing headers are empty fields) {
  auto r = parse_mail("missing-headers.eml");
  CAF_CHECK(r.parsed);
  CAF_CHECK(r.clean()); // missing headers are no problem
  const auto& m = r.msg;
  CAF_CHECK(!m.from.has_value());
  CAF_CHECK(m.to.empty());
  CAF_CHECK(m.cc.empty());
  CAF_CHECK_EQUAL(m.message_id, "");
  CAF_CHECK_EQUAL(m.in_reply_to, "");
  CAF_CHECK(m.references.empty());
  CAF_CHECK(!m.date.has_value());
  CAF_CHECK_EQUAL(m.subject, "Note to self");
  CAF_CHECK_EQUAL(m.text_body, "Remember the milk.\n"); // LF input stays LF
  CAF_CHECK_EQUAL(m.headers.size(), 2u);
}

CAF_TEST(unreadable date) {
  auto r = mail::parse(with_header("Date: sometime next week"));
  CAF_CHECK(r.parsed);
  CAF_CHECK(!r.msg.date.has_value());
  CAF_CHECK(has_problem(r, "unreadable Date header: sometime next week"));
}

CAF_TEST(truncated multipart) {
  auto r = parse_mail("truncated-multipart.eml");
  CAF_CHECK(r.parsed);
  CAF_CHECK(has_problem(r, "truncated message"));
  CAF_CHECK_EQUAL(r.msg.subject, "Scan results");
  CAF_CHECK_EQUAL(r.msg.text_body, "See the attached scan.");
  CAF_CHECK_EQUAL(r.msg.attachments.size(), 1u);
  if (r.msg.attachments.size() == 1) {
    CAF_CHECK_EQUAL(r.msg.attachments[0].name, "scan.pdf");
    CAF_CHECK_EQUAL(r.msg.attachments[0].content.rfind("%PDF-1.4\n", 0), 0u);
  }
}

CAF_TEST(input that is no message) {
  // GMime builds no message when the first line is not a header field, and an empty one
  // for input that starts with a blank line: either way parsed is false.
  std::string junk;
  std::uint32_t seed = 12345;
  for (int i = 0; i < 4096; ++i) {
    seed = seed * 1103515245u + 12345u;
    junk += static_cast<char>(seed >> 24);
  }
  for (const std::string& input :
       {std::string{}, std::string{"\r\n"}, std::string{"\r\n\r\nbody only\r\n"},
        std::string{"hello world\nthis is no mail\n"}, junk,
        std::string{"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16}}) {
    auto r = mail::parse(input);
    CAF_CHECK(!r.parsed);
    CAF_CHECK(!r.clean());
    CAF_CHECK(has_problem(r, "not a message"));
    CAF_CHECK(r.msg.headers.empty());
    CAF_CHECK(all_utf8(r));
  }
  // One header line is a message, if a truncated one.
  auto one = mail::parse("Subject: hi");
  CAF_CHECK(one.parsed);
  CAF_CHECK_EQUAL(one.msg.subject, "hi");
  CAF_CHECK(has_problem(one, "truncated message"));
}

CAF_TEST(deeply nested multiparts) {
  // GMime stops at its nesting limit and says so; the message is still usable.
  constexpr int depth = 1500;
  std::string raw =
      "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n";
  for (int i = 1; i < depth; ++i)
    raw += "--b" + std::to_string(i - 1) +
           "\r\nContent-Type: multipart/mixed; boundary=b" + std::to_string(i) +
           "\r\n\r\n";
  raw +=
      "--b" + std::to_string(depth - 1) + "\r\nContent-Type: text/plain\r\n\r\ndeep\r\n";
  for (int i = depth - 1; i >= 0; --i)
    raw += "--b" + std::to_string(i) + "--\r\n";
  auto r = mail::parse(raw);
  CAF_CHECK(r.parsed);
  CAF_CHECK(has_problem(r, "MIME parts"));
  CAF_CHECK_EQUAL(r.msg.from.value_or(mail::address{}).email, "a@example.com");
}

CAF_TEST(what a message can make the parser hold is capped) {
  std::string parts;
  for (std::size_t i = 0; i < mail::limits::max_parts + 200; ++i)
    parts += "--b\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n";
  auto many = mail::parse("From: a@example.com\r\nContent-Type: multipart/mixed; "
                          "boundary=b\r\n\r\n" +
                          parts + "--b--\r\n");
  CAF_CHECK_EQUAL(many.msg.attachments.size(), mail::limits::max_parts);
  CAF_CHECK(has_problem(many, "MIME parts: the rest are left out"));

  std::string nested = "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b0"
                       "\r\n\r\n";
  for (std::size_t i = 1; i < mail::limits::max_depth + 8; ++i)
    nested += "--b" + std::to_string(i - 1) +
              "\r\nContent-Type: multipart/mixed; boundary=b" + std::to_string(i) +
              "\r\n\r\n";
  auto deep = mail::parse(nested);
  CAF_CHECK(has_problem(deep, "nested more than"));

  std::string headers = "From: a@example.com\r\n";
  for (std::size_t i = 0; i < mail::limits::max_headers + 100; ++i)
    headers += "X-Filler: " + std::to_string(i) + "\r\n";
  auto filled = mail::parse(headers + "\r\nbody\r\n");
  CAF_CHECK_EQUAL(filled.msg.headers.size(), mail::limits::max_headers);
  CAF_CHECK(has_problem(filled, "header fields: the rest are left out"));

  // A problem per line (each at its own offset): the list stops, and says so.
  std::string bad = "From: a@example.com\r\n";
  for (int i = 0; i < 500; ++i)
    bad += "X-Raw: \xff\xfe\r\n";
  auto noisy = mail::parse(bad + "\r\nbody\r\n");
  CAF_CHECK_EQUAL(noisy.problems.size(), mail::detail::problem_sink::max_problems + 1);
  CAF_CHECK_EQUAL(noisy.problems.back(), "more problems, not listed");

  std::string words;
  while (words.size() < 2 * mail::limits::max_header_bytes)
    words += "word ";
  CAF_CHECK_LESS_OR_EQUAL(subject_of(words).size(), mail::limits::max_header_bytes);
}

CAF_TEST(a stray =? is text) {
  CAF_CHECK_EQUAL(subject_of("a =? b"), "a =? b");
  CAF_CHECK_EQUAL(subject_of("=?utf-8?q?a=?utf-8?q?b"), "=?utf-8?q?a=?utf-8?q?b");
  CAF_CHECK_EQUAL(subject_of("x =?utf-8?q?=C3=A4?= y"), "x ä y");
}

CAF_TEST(damaged input never breaks the parser) {
  // Every prefix and byte-flipped copy of every sample: no crash (run under ASan), and
  // every string that should be UTF-8 is.
  std::size_t parsed = 0;
  std::size_t runs = 0;
  for (const auto& name : all_mails) {
    auto raw = read_mail(name);
    for (std::size_t n = 0; n <= raw.size(); n += 7) {
      auto r = mail::parse(std::string_view{raw}.substr(0, n));
      CAF_CHECK(all_utf8(r));
      parsed += r.parsed ? 1 : 0;
      ++runs;
    }
    std::uint32_t seed = 42;
    for (int i = 0; i < 40; ++i) {
      auto copy = raw;
      for (int k = 0; k < 8; ++k) {
        seed = seed * 1103515245u + 12345u;
        copy[(seed >> 8) % copy.size()] = static_cast<char>(seed >> 24);
      }
      auto r = mail::parse(copy);
      CAF_CHECK(all_utf8(r));
      ++runs;
    }
  }
  // Prefixes that hold a whole header line do parse.
  CAF_CHECK_GREATER(parsed, runs / 2);
}

CAF_TEST(a content type that cannot be read is text plain) {
  // RFC 2045 5.2, as Python's email does; a real type without subtype is not readable.
  auto r = mail::parse("From: a@example.org\r\nTo: b@example.org\r\nSubject: s\r\n"
                       "Content-Type: text; charset=us-ascii\r\n\r\nHello there\r\n");
  CAF_REQUIRE(r.parsed);
  CAF_CHECK_EQUAL(r.msg.text_body.rfind("Hello there", 0), 0u);
  CAF_CHECK(r.msg.attachments.empty());
  // A declared application/octet-stream stays one.
  auto binary = mail::parse("From: a@example.org\r\nTo: b@example.org\r\n"
                            "Content-Type: application/octet-stream\r\n\r\nxyz\r\n");
  CAF_CHECK(binary.msg.text_body.empty());
  CAF_CHECK_EQUAL(binary.msg.attachments.size(), 1u);
}

CAF_TEST(parallel parsing) {
  auto raw = read_mail("nested-multipart.eml");
  auto expected = mail::parse(raw);
  std::vector<int> same(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < same.size(); ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto r = mail::parse(raw);
        if (r.msg.html_body == expected.msg.html_body &&
            r.msg.attachments.size() == expected.msg.attachments.size() &&
            r.problems == expected.problems)
          ++same[t];
      }
    });
  for (auto& t : threads)
    t.join();
  for (auto count : same)
    CAF_CHECK_EQUAL(count, 25);
}

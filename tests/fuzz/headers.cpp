// fuzz-headers: one header value, as a sender wrote it, in every header field that is
// decoded (RFC 2047 words, RFC 2231 parameters, address lists, message ids, dates, the
// machine-mail markers); also the encoded-word normalizer and the ticket-token scan on
// their own.
#include "mail/automatic.hpp"
#include "mail/parse.hpp"
#include "mail/rfc2047.hpp"
#include "mail/ticket_token.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string value{reinterpret_cast<const char*>(data), size};
  mail::detail::normalize_encoded_words(value);
  mail::subject_tokens(value);

  std::string raw;
  for (const char* name :
       {"From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To",
        "References", "Auto-Submitted", "Precedence", "X-Auto-Response-Suppress"})
    raw += std::string{name} + ": " + value + "\r\n";
  raw += "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"fuzz-boundary\"\r\n"
         "\r\n"
         "--fuzz-boundary\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n"
         "\r\n"
         "Hello\r\n"
         "--fuzz-boundary\r\n"
         "Content-Type: application/octet-stream; " +
         value +
         "\r\n"
         "Content-Disposition: attachment; " +
         value +
         "\r\n"
         "Content-Transfer-Encoding: base64\r\n"
         "\r\n"
         "aGVsbG8=\r\n"
         "--fuzz-boundary--\r\n";
  auto parsed = mail::parse(raw);
  mail::automatic_reason(parsed.msg);
  mail::subject_tokens(parsed.msg.subject);
  return 0;
}

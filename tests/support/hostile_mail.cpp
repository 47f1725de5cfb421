#include "hostile_mail.hpp"

namespace test {

std::string slow_html_mime(const std::string& from, const std::string& to,
                           const std::string& message_id, std::size_t html_bytes) {
  std::string mime =
      "From: " + from + "\r\nTo: " + to + "\r\nSubject: Hostile " + message_id +
      "\r\nDate: Wed, 02 Dec 2026 09:00:00 +0000\r\nMessage-ID: <" + message_id +
      ">\r\nMIME-Version: 1.0\r\nContent-Type: text/html; "
      "charset=utf-8\r\n\r\n";
  mime.reserve(mime.size() + html_bytes + 16);
  while (mime.size() < html_bytes)
    mime += "<title></title>";
  return mime + "\r\n";
}

} // namespace test

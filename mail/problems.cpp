#include "mail/problems.hpp"

#include "mail/charset.hpp"

namespace mail::detail {

namespace {

const char* describe(GMimeParserWarning code) {
  switch (code) {
  case GMIME_WARN_DUPLICATED_HEADER:
    return "duplicated header";
  case GMIME_WARN_DUPLICATED_PARAMETER:
    return "duplicated parameter";
  case GMIME_WARN_UNENCODED_8BIT_HEADER:
    return "unencoded 8-bit header";
  case GMIME_WARN_INVALID_CONTENT_TYPE:
    return "invalid Content-Type, read as application/octet-stream";
  case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
    return "invalid RFC 2047 encoded header value";
  case GMIME_WARN_MALFORMED_MULTIPART:
    return "multipart without parts";
  case GMIME_WARN_TRUNCATED_MESSAGE:
    return "truncated message";
  case GMIME_WARN_MALFORMED_MESSAGE:
    return "malformed message";
  case GMIME_CRIT_INVALID_HEADER_NAME:
    return "invalid header name";
  case GMIME_CRIT_CONFLICTING_HEADER:
    return "conflicting header";
  case GMIME_CRIT_CONFLICTING_PARAMETER:
    return "conflicting parameter";
  case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
    return "multipart without boundary";
  case GMIME_WARN_INVALID_PARAMETER:
    return "invalid header parameter";
  case GMIME_WARN_INVALID_ADDRESS_LIST:
    return "invalid address list";
  case GMIME_CRIT_NESTING_OVERFLOW:
    return "MIME parts nested too deeply";
  case GMIME_WARN_PART_WITHOUT_CONTENT:
    return "MIME part without content";
  case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
    return "MIME part without headers or content";
  }
  return "parser warning";
}

} // namespace

void problem_sink::add(std::string problem) {
  // Problems quote input (charset labels, header names), which may be any bytes.
  if (full_) return;
  problem = printable(problem, 300);
  if (seen_.count(problem) != 0) return;
  if (seen_.size() == max_problems) {
    problems_.push_back("more problems, not listed");
    full_ = true;
    return;
  }
  seen_.insert(problem);
  problems_.push_back(std::move(problem));
}

void problem_sink::on_warning(gint64 offset, GMimeParserWarning code, const gchar* item,
                              gpointer user_data) {
  // Called from C: nothing may propagate, not even bad_alloc.
  try {
    std::string text = describe(code);
    if (item != nullptr && *item != '\0') text += ": " + printable(item);
    if (offset >= 0) text += " (offset " + std::to_string(offset) + ")";
    static_cast<problem_sink*>(user_data)->add(std::move(text));
  } catch (...) {
    // Losing a warning is better than unwinding through GMime.
  }
}

std::string printable(std::string_view text, std::size_t max_bytes) {
  bool cut = text.size() > max_bytes;
  if (cut) {
    text = text.substr(0, max_bytes);
    // Drop the last, possibly incomplete, multi-byte sequence so that the check for
    // UTF-8 below judges the text, not the cut.
    while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80)
      text.remove_suffix(1);
    if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0)
      text.remove_suffix(1);
  }
  auto utf8 = ensure_utf8(text);
  for (auto& c : utf8)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  if (cut) utf8 += "...";
  return utf8;
}

} // namespace mail::detail

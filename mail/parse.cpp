#include "mail/parse.hpp"

#include "mail/bounded_input.hpp"
#include "mail/charset.hpp"
#include "mail/gmime.hpp"
#include "mail/headers.hpp"
#include "mail/limits.hpp"
#include "mail/parts.hpp"
#include "mail/problems.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// What counts as a problem: everything GMime's parser reports through its warning
// callback (syntax it repaired: truncated or boundary-less multiparts, invalid header
// names, unencoded 8-bit headers, broken address lists, ...), bodies whose bytes did not
// match their charset, and a Date header that is present but unreadable. A header that
// is simply missing is not a problem: its field stays empty.

namespace mail {

namespace {

using namespace detail;

/// @param sink where GMime's warnings go (the first pass), or none (the second)
parser_options_ptr make_options(problem_sink* sink) {
  parser_options_ptr options{g_mime_parser_options_new()};
  // GMime decodes Subject and the like while it parses. Its lenient ("loose") RFC 2047
  // tokenizer looks for the end of every "=?" up to the end of the field, which takes
  // quadratic time on a field full of them; the strict one reads words as atoms. The
  // fields we use are decoded a second time, from normalized words (see headers.hpp).
  if (sink != nullptr)
    g_mime_parser_options_set_rfc2047_compliance_mode(options.get(),
                                                      GMIME_RFC_COMPLIANCE_STRICT);
  // Raw 8-bit headers: UTF-8 if valid, else windows-1252 (which has the curly quotes and
  // the euro sign where ISO-8859-1 has control characters); ISO-8859-1 as last resort.
  static const char* fallback_charsets[] = {"utf-8", "windows-1252", "iso-8859-1",
                                            nullptr};
  g_mime_parser_options_set_fallback_charsets(options.get(), fallback_charsets);
  if (sink != nullptr)
    g_mime_parser_options_set_warning_callback(options.get(), problem_sink::on_warning,
                                               sink);
  return options;
}

/// Top-level headers in input order. GMime files the Content-* headers of the top level
/// under the root MIME part, so both lists are merged by stream offset.
std::vector<std::pair<std::string, std::string>> all_headers(GMimeMessage* msg,
                                                             problem_sink& problems) {
  struct entry {
    gint64 offset;
    GMimeHeader* header;
  };
  std::vector<entry> entries;
  auto add = [&](GMimeObject* object) {
    if (object == nullptr) return;
    auto* list = g_mime_object_get_header_list(object);
    for (int i = 0; i < g_mime_header_list_get_count(list); ++i) {
      auto* header = g_mime_header_list_get_header_at(list, i);
      entries.push_back({g_mime_header_get_offset(header), header});
    }
  };
  add(GMIME_OBJECT(msg));
  add(g_mime_message_get_mime_part(msg));
  std::stable_sort(entries.begin(), entries.end(),
                   [](const entry& x, const entry& y) { return x.offset < y.offset; });
  if (entries.size() > limits::max_headers) {
    problems.add("more than " + std::to_string(limits::max_headers) +
                 " header fields: the rest are left out");
    entries.resize(limits::max_headers);
  }
  std::vector<std::pair<std::string, std::string>> result;
  result.reserve(entries.size());
  for (const auto& e : entries) {
    const char* name = g_mime_header_get_name(e.header);
    const char* value = g_mime_header_get_raw_value(e.header);
    result.emplace_back(
        ensure_utf8(name != nullptr ? name : ""),
        ensure_utf8(unfold(std::string_view{value != nullptr ? value : ""}.substr(
            0, limits::max_header_bytes))));
  }
  return result;
}

std::optional<std::int64_t> date_of(GMimeMessage* msg, problem_sink& problems) {
  if (auto* date = g_mime_message_get_date(msg)) // owned by the message
    return g_date_time_to_unix(date);
  auto raw = raw_values(GMIME_OBJECT(msg), "Date");
  if (!raw.empty() && !raw.front().empty())
    problems.add("unreadable Date header: " + printable(raw.front()));
  return std::nullopt;
}

} // namespace

parse_result parse(std::string_view raw) {
  init_gmime();
  parse_result result;
  // `problems` must outlive every GMime object below: their cloned options point at it.
  problem_sink problems{result.problems};
  // Fields are decoded a second time from the raw headers (see headers.hpp); that pass
  // runs with silent options so that GMime's warnings are not reported twice.
  auto options = make_options(&problems);
  auto quiet = make_options(nullptr);
  auto bounded = bound_input(raw);
  for (auto& p : bounded.problems)
    problems.add(std::move(p));
  raw = bounded.text;
  gobject_ptr<GMimeMessage> msg;
  if (!raw.empty()) {
    gobject_ptr<GMimeStream> stream{
        g_mime_stream_mem_new_with_buffer(raw.data(), raw.size())};
    gobject_ptr<GMimeParser> parser{g_mime_parser_new_with_stream(stream.get())};
    g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
    msg.reset(g_mime_parser_construct_message(parser.get(), options.get()));
  }
  // GMime returns no message when the first line is not a header field (plain text,
  // binary junk: it reports an invalid header name), and an empty one for input that
  // starts with a blank line. Both mean there is no header block, so nothing was parsed.
  if (msg) result.msg.headers = all_headers(msg.get(), problems);
  if (result.msg.headers.empty()) {
    problems.add("not a message: no header fields");
    return result;
  }
  result.parsed = true;
  header_decoder decode{quiet.get(), problems};
  auto* object = GMIME_OBJECT(msg.get());
  auto& out = result.msg;
  if (auto from = decode.addresses(object, "From"); !from.empty())
    out.from = std::move(from.front());
  out.to = decode.addresses(object, "To");
  out.cc = decode.addresses(object, "Cc");
  out.reply_to = decode.addresses(object, "Reply-To");
  out.subject = decode.text(object, "Subject");
  if (const char* id = g_mime_message_get_message_id(msg.get()))
    out.message_id = ensure_utf8(id);
  if (auto ids = decode.message_ids(object, "In-Reply-To"); !ids.empty())
    out.in_reply_to = std::move(ids.front());
  out.references = decode.message_ids(object, "References");
  out.date = date_of(msg.get(), problems);
  collect_parts(msg.get(), raw, decode, problems, out);
  return result;
}

const std::string* find_header(const message& msg, std::string_view name) {
  auto same = [&](const std::string& candidate) {
    return std::equal(
        candidate.begin(), candidate.end(), name.begin(), name.end(),
        [](char x, char y) { return g_ascii_tolower(x) == g_ascii_tolower(y); });
  };
  for (const auto& [key, value] : msg.headers)
    if (same(key)) return &value;
  return nullptr;
}

} // namespace mail

#include "mail/parts.hpp"

#include "mail/charset.hpp"
#include "mail/gmime.hpp"
#include "mail/limits.hpp"

#include <string_view>
#include <unordered_set>

namespace mail::detail {

namespace {

/// Whether a Content-Type value starts with type "/" subtype (what GMime can read).
bool has_type_and_subtype(std::string_view value) {
  auto start = value.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return false;
  auto slash = value.find_first_of("/;", start);
  if (slash == std::string_view::npos || value[slash] != '/' || slash == start)
    return false;
  auto subtype = value.find_first_not_of(" \t", slash + 1);
  return subtype != std::string_view::npos && value[subtype] != ';';
}

std::string mime_type(GMimeObject* object) {
  auto* type = g_mime_object_get_content_type(object);
  glib_string text{type != nullptr ? g_mime_content_type_get_mime_type(type) : nullptr};
  std::string result = text ? ensure_utf8(text.get()) : "application/octet-stream";
  for (auto& c : result)
    c = g_ascii_tolower(c);
  // RFC 2045 5.2: a Content-Type that cannot be read ("text; charset=us-ascii") means
  // text/plain, as Python's email and mail clients take it; GMime makes it
  // application/octet-stream.
  if (result == "application/octet-stream") {
    const char* raw = g_mime_object_get_header(object, "Content-Type");
    if (raw != nullptr && !has_type_and_subtype(raw)) result = "text/plain";
  }
  return result;
}

bool has_disposition(GMimeObject* object, const char* value) {
  const char* disposition = g_mime_object_get_disposition(object);
  return disposition != nullptr && g_ascii_strcasecmp(disposition, value) == 0;
}

/// The content of a leaf part with its Content-Transfer-Encoding undone.
std::string decoded_content(GMimePart* part) {
  auto* content = g_mime_part_get_content(part); // owned by the part
  if (content == nullptr) return {};
  gobject_ptr<GMimeStream> sink{g_mime_stream_mem_new()};
  g_mime_data_wrapper_write_to_stream(content, sink.get());
  auto* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(sink.get()));
  return {reinterpret_cast<const char*>(bytes->data), bytes->len};
}

/// The embedded message as text, with the line endings of the input.
std::string serialize(GMimeMessage* inner, bool crlf) {
  format_options_ptr format{g_mime_format_options_new()};
  g_mime_format_options_set_newline_format(
      format.get(), crlf ? GMIME_NEWLINE_FORMAT_DOS : GMIME_NEWLINE_FORMAT_UNIX);
  gobject_ptr<GMimeStream> sink{g_mime_stream_mem_new()};
  g_mime_object_write_to_stream(GMIME_OBJECT(inner), format.get(), sink.get());
  auto* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(sink.get()));
  return {reinterpret_cast<const char*>(bytes->data), bytes->len};
}

class tree_walker {
public:
  tree_walker(header_decoder& decode, problem_sink& problems, message& out, bool crlf)
      : decode_(decode), problems_(problems), out_(out), crlf_(crlf) {}

  void visit(GMimeObject* object, std::size_t depth = 0) {
    if (GMIME_IS_MULTIPART(object)) {
      if (depth == limits::max_depth) {
        problems_.add("MIME parts nested more than " + std::to_string(limits::max_depth) +
                      " deep: the deeper ones are left out");
        return;
      }
      auto* multipart = GMIME_MULTIPART(object);
      for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i)
        visit(g_mime_multipart_get_part(multipart, i), depth + 1);
      return;
    }
    if (leaves_ == limits::max_parts) {
      problems_.add("more than " + std::to_string(limits::max_parts) +
                    " MIME parts: the rest are left out");
      return;
    }
    ++leaves_;
    if (GMIME_IS_MESSAGE_PART(object))
      embedded(GMIME_MESSAGE_PART(object));
    else if (GMIME_IS_PART(object))
      leaf(GMIME_PART(object));
  }

private:
  /// The fields every attachment has, content aside.
  attachment describe(GMimeObject* object, std::string type, std::string name) {
    attachment a;
    a.name = std::move(name);
    a.content_type = std::move(type);
    if (const char* id = g_mime_object_get_content_id(object))
      a.content_id = ensure_utf8(id);
    a.is_inline = has_disposition(object, "inline");
    return a;
  }

  void leaf(GMimePart* part) {
    auto* object = GMIME_OBJECT(part);
    auto type = mime_type(object);
    bool is_text = type == "text/plain" && !have_text_;
    bool is_html = type == "text/html" && !have_html_;
    auto name = decode_.file_name(object);
    if ((is_text || is_html) && !has_disposition(object, "attachment") && name.empty()) {
      const char* charset = g_mime_object_get_content_type_parameter(object, "charset");
      auto text = to_utf8(decoded_content(part), charset != nullptr ? charset : "");
      if (!text.problem.empty()) problems_.add(type + " body: " + text.problem);
      (is_text ? out_.text_body : out_.html_body) = std::move(text.text);
      (is_text ? have_text_ : have_html_) = true;
      return;
    }
    auto a = describe(object, std::move(type), std::move(name));
    a.content = decoded_content(part);
    a.size = a.content.size();
    out_.attachments.push_back(std::move(a));
  }

  void embedded(GMimeMessagePart* part) {
    auto* object = GMIME_OBJECT(part);
    auto a = describe(object, mime_type(object), decode_.file_name(object));
    auto* inner = g_mime_message_part_get_message(part); // owned by the part
    if (inner != nullptr) a.content = serialize(inner, crlf_);
    if (a.name.empty()) {
      auto subject =
          inner != nullptr ? decode_.text(GMIME_OBJECT(inner), "Subject") : std::string{};
      a.name = (subject.empty() ? std::string{"message"} : subject) + ".eml";
    }
    a.size = a.content.size();
    out_.attachments.push_back(std::move(a));
  }

  header_decoder& decode_;
  problem_sink& problems_;
  message& out_;
  bool crlf_;
  bool have_text_ = false;
  bool have_html_ = false;
  std::size_t leaves_ = 0;
};

/// The ids `html` names in "cid:" links, read in one pass.
std::unordered_set<std::string_view> cid_links(std::string_view html) {
  std::unordered_set<std::string_view> ids;
  for (auto at = html.find("cid:"); at != std::string_view::npos;
       at = html.find("cid:", at)) {
    at += 4;
    auto end = html.find_first_of("\"'() \t\r\n<>", at);
    if (end == std::string_view::npos) end = html.size();
    ids.insert(html.substr(at, end - at));
    at = end;
  }
  return ids;
}

} // namespace

void collect_parts(GMimeMessage* msg, std::string_view raw, header_decoder& decode,
                   problem_sink& problems, message& out) {
  auto first_newline = raw.find('\n');
  bool crlf = first_newline != std::string_view::npos && first_newline > 0 &&
              raw[first_newline - 1] == '\r';
  if (auto* root = g_mime_message_get_mime_part(msg))
    tree_walker{decode, problems, out, crlf}.visit(root);
  // An image the HTML shows through "cid:" is inline even without a disposition.
  auto linked = cid_links(out.html_body);
  for (auto& a : out.attachments)
    if (!a.content_id.empty() && linked.count(a.content_id) != 0) a.is_inline = true;
}

} // namespace mail::detail

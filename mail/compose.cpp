#include "mail/compose.hpp"

#include "mail/gmime.hpp"
#include "mail/html_text.hpp"

#include <algorithm>

namespace mail {

namespace {

using detail::gobject_ptr;

bool printable_token(const std::string& s) {
  return std::none_of(s.begin(), s.end(), [](unsigned char c) {
    return c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"' || c == ',' ||
           c == ';' || c == '(' || c == ')' || c == '\\';
  });
}

/// A header value from our own data: line breaks would start new headers.
std::string one_line(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value)
    out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  return out;
}

GMimeObject* text_part(const char* subtype, const std::string& text) {
  auto* part = g_mime_text_part_new_with_subtype(subtype);
  // Converts to the smallest charset that holds the text and names it.
  g_mime_text_part_set_text(part, text.c_str());
  // Long lines and 8-bit text do not survive every relay as they are.
  g_mime_object_encode(GMIME_OBJECT(part), GMIME_ENCODING_CONSTRAINT_7BIT);
  return GMIME_OBJECT(part);
}

std::string bracketed(const std::string& id) {
  return "<" + id + ">";
}

} // namespace

bool valid_message_id(const std::string& id) {
  auto at = id.find('@');
  return !id.empty() && id.size() <= 250 && printable_token(id) &&
         at != std::string::npos && at > 0 && at + 1 < id.size() &&
         id.find('@', at + 1) == std::string::npos;
}

bool valid_address(const std::string& email) {
  auto at = email.find('@');
  return email.size() <= 254 && printable_token(email) && at != std::string::npos &&
         at > 0 && at + 1 < email.size() && email.find('@', at + 1) == std::string::npos;
}

std::vector<std::string> capped_references(std::vector<std::string> ids,
                                           std::size_t max) {
  if (max == 0) return {};
  if (ids.size() <= max) return ids;
  std::vector<std::string> out{ids.front()};
  out.insert(out.end(), ids.end() - static_cast<long>(max - 1), ids.end());
  return out;
}

std::string text_to_html(const std::string& text) {
  std::string out = "<!DOCTYPE html><html><body><div>";
  std::size_t start = 0;
  for (auto end = text.find('\n');; end = text.find('\n', start)) {
    auto line = std::string_view{text}.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out += html_escape(line);
    if (end == std::string::npos) break;
    out += "<br>\n";
    start = end + 1;
  }
  out += "</div></body></html>\n";
  return out;
}

std::string compose(const outgoing& mail) {
  detail::init_gmime();
  gobject_ptr<GMimeMessage> msg{g_mime_message_new(TRUE)};
  auto* object = GMIME_OBJECT(msg.get());
  g_mime_message_add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_FROM,
                             one_line(mail.from.name).c_str(), mail.from.email.c_str());
  for (const auto& a : mail.to)
    g_mime_message_add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_TO, one_line(a.name).c_str(),
                               a.email.c_str());
  for (const auto& a : mail.cc)
    g_mime_message_add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_CC, one_line(a.name).c_str(),
                               a.email.c_str());
  g_mime_message_set_subject(msg.get(), one_line(mail.subject).c_str(), "utf-8");
  auto* date = g_date_time_new_from_unix_utc(mail.date);
  g_mime_message_set_date(msg.get(), date);
  g_date_time_unref(date);
  g_mime_message_set_message_id(msg.get(), mail.message_id.c_str());
  if (!mail.in_reply_to.empty())
    g_mime_object_set_header(object, "In-Reply-To", bracketed(mail.in_reply_to).c_str(),
                             nullptr);
  if (!mail.references.empty()) {
    std::string refs;
    for (const auto& r : mail.references)
      refs += (refs.empty() ? "" : " ") + bracketed(r);
    g_mime_object_set_header(object, "References", refs.c_str(), nullptr);
  }
  for (const auto& [name, value] : mail.headers)
    g_mime_object_set_header(object, one_line(name).c_str(), one_line(value).c_str(),
                             "utf-8");
  gobject_ptr<GMimeMultipart> body{g_mime_multipart_new_with_subtype("alternative")};
  gobject_ptr<GMimeObject> plain{text_part("plain", mail.text)};
  gobject_ptr<GMimeObject> html{
      text_part("html", mail.html.empty() ? text_to_html(mail.text) : mail.html)};
  g_mime_multipart_add(body.get(), plain.get());
  g_mime_multipart_add(body.get(), html.get());
  g_mime_message_set_mime_part(msg.get(), GMIME_OBJECT(body.get()));
  detail::format_options_ptr options{g_mime_format_options_new()};
  g_mime_format_options_set_newline_format(options.get(), GMIME_NEWLINE_FORMAT_DOS);
  detail::glib_string text{g_mime_object_to_string(object, options.get())};
  return text ? std::string{text.get()} : std::string{};
}

} // namespace mail

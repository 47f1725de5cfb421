#include "mail/headers.hpp"

#include "mail/charset.hpp"
#include "mail/gmime.hpp"
#include "mail/limits.hpp"
#include "mail/rfc2047.hpp"

#include <utility>

namespace mail::detail {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

/// GLib text as trimmed UTF-8.
std::string clean_text(const char* text) {
  return text != nullptr ? ensure_utf8(trim(text)) : std::string{};
}

void flatten(InternetAddressList* list, std::vector<address>& out) {
  for (int i = 0; i < internet_address_list_length(list); ++i) {
    auto* entry = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_GROUP(entry)) {
      flatten(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(entry)), out);
    } else if (INTERNET_ADDRESS_IS_MAILBOX(entry)) {
      address a;
      a.name = clean_text(internet_address_get_name(entry));
      a.email =
          clean_text(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(entry)));
      // A mailbox without an address is no one to answer: GMime's loose parser keeps
      // a lone word (a display name alone, an encoded word) as an address without a
      // domain. GMime has reported the broken list already.
      if (a.email.find('@') != std::string::npos) out.push_back(std::move(a));
    }
  }
}

} // namespace

std::string unfold(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\r' && raw[i] != '\n') {
      out += raw[i];
      continue;
    }
    while (i + 1 < raw.size() && is_space(raw[i + 1]))
      ++i;
    while (!out.empty() && (out.back() == ' ' || out.back() == '\t'))
      out.pop_back();
    out += ' ';
  }
  return std::string(trim(out));
}

std::vector<std::string> raw_values(GMimeObject* object, const char* name) {
  std::vector<std::string> values;
  auto* list = g_mime_object_get_header_list(object);
  for (int i = 0; i < g_mime_header_list_get_count(list); ++i) {
    auto* header = g_mime_header_list_get_header_at(list, i);
    const char* header_name = g_mime_header_get_name(header);
    const char* raw = g_mime_header_get_raw_value(header);
    if (header_name == nullptr || g_ascii_strcasecmp(header_name, name) != 0) continue;
    std::string_view value = raw != nullptr ? raw : "";
    values.push_back(unfold(value.substr(0, limits::max_header_bytes)));
  }
  return values;
}

std::string header_decoder::prepare(const std::string& raw, const char* name) {
  auto normalized = normalize_encoded_words(raw);
  for (auto& problem : normalized.problems)
    problems_.add(std::string{name} + ": " + problem);
  return std::move(normalized.text);
}

std::string header_decoder::text(GMimeObject* object, const char* name) {
  auto values = raw_values(object, name);
  if (values.empty()) return {};
  auto value = prepare(values.front(), name);
  glib_string decoded{g_mime_utils_header_decode_text(options_, value.c_str())};
  return clean_text(decoded.get());
}

std::vector<address> header_decoder::addresses(GMimeObject* object, const char* name) {
  std::vector<address> result;
  for (const auto& raw : raw_values(object, name)) {
    auto value = prepare(raw, name);
    gobject_ptr<InternetAddressList> list{
        internet_address_list_parse(options_, value.c_str())};
    if (list) flatten(list.get(), result);
  }
  return result;
}

std::vector<std::string> header_decoder::message_ids(GMimeObject* object,
                                                     const char* name) {
  std::vector<std::string> result;
  for (const auto& value : raw_values(object, name)) {
    references_ptr refs{g_mime_references_parse(options_, value.c_str())};
    if (!refs) continue;
    for (int i = 0; i < g_mime_references_length(refs.get()); ++i)
      if (auto id = clean_text(g_mime_references_get_message_id(refs.get(), i));
          !id.empty())
        result.push_back(std::move(id));
  }
  return result;
}

std::string header_decoder::file_name(GMimeObject* part) {
  for (const auto& raw : raw_values(part, "Content-Disposition")) {
    auto value = prepare(raw, "Content-Disposition");
    gobject_ptr<GMimeContentDisposition> disposition{
        g_mime_content_disposition_parse(options_, value.c_str())};
    if (disposition)
      if (auto name = clean_text(
              g_mime_content_disposition_get_parameter(disposition.get(), "filename"));
          !name.empty())
        return name;
  }
  for (const auto& raw : raw_values(part, "Content-Type")) {
    auto value = prepare(raw, "Content-Type");
    gobject_ptr<GMimeContentType> type{
        g_mime_content_type_parse(options_, value.c_str())};
    if (type)
      if (auto name = clean_text(g_mime_content_type_get_parameter(type.get(), "name"));
          !name.empty())
        return name;
  }
  return {};
}

} // namespace mail::detail

#include "message_fields.hpp"

#include "net/time_format.hpp"
#include "net/url.hpp"

#include <algorithm>

namespace graph_sim {

using nlohmann::json;

const std::vector<std::string>& message_properties() {
  static const std::vector<std::string> names = {"id",
                                                 "createdDateTime",
                                                 "lastModifiedDateTime",
                                                 "changeKey",
                                                 "categories",
                                                 "receivedDateTime",
                                                 "sentDateTime",
                                                 "hasAttachments",
                                                 "internetMessageId",
                                                 "subject",
                                                 "bodyPreview",
                                                 "importance",
                                                 "parentFolderId",
                                                 "conversationId",
                                                 "isDeliveryReceiptRequested",
                                                 "isReadReceiptRequested",
                                                 "isRead",
                                                 "isDraft",
                                                 "webLink",
                                                 "inferenceClassification",
                                                 "body",
                                                 "sender",
                                                 "from",
                                                 "toRecipients",
                                                 "ccRecipients",
                                                 "bccRecipients",
                                                 "replyTo",
                                                 "flag",
                                                 "internetMessageHeaders",
                                                 "uniqueBody"};
  return names;
}

bool is_default_property(const std::string& name) {
  return name != "internetMessageHeaders" && name != "uniqueBody";
}

namespace {

const mail::message* parsed(const message& m) {
  return m.parsed && m.parsed->parsed ? &m.parsed->msg : nullptr;
}

json recipient(const mail::address& a) {
  return {{"emailAddress",
           {{"name", a.name.empty() ? a.email : a.name}, {"address", a.email}}}};
}

json recipients(const std::vector<mail::address>& list) {
  json out = json::array();
  for (const auto& a : list)
    out.push_back(recipient(a));
  return out;
}

std::string header_value(const message& m, std::string_view name) {
  if (auto* p = parsed(m))
    for (const auto& [n, v] : p->headers)
      if (net::iequals(n, name)) return v;
  return {};
}

} // namespace

bool has_attachments(const message& m) {
  auto* p = parsed(m);
  if (!p) return false;
  return std::any_of(p->attachments.begin(), p->attachments.end(),
                     [](const mail::attachment& a) { return !a.is_inline; });
}

std::string subject_of(const message& m) {
  auto* p = parsed(m);
  return p ? p->subject : std::string{};
}

std::string from_address(const message& m) {
  auto* p = parsed(m);
  return p && p->from ? p->from->email : std::string{};
}

std::string from_name(const message& m) {
  auto* p = parsed(m);
  return p && p->from ? p->from->name : std::string{};
}

std::string importance_of(const message& m) {
  auto value = net::to_lower(header_value(m, "Importance"));
  if (value == "high" || value == "low") return value;
  auto priority = header_value(m, "X-Priority");
  if (!priority.empty() && (priority[0] == '1' || priority[0] == '2')) return "high";
  if (!priority.empty() && (priority[0] == '4' || priority[0] == '5')) return "low";
  return "normal";
}

std::string html_to_text(const std::string& html) {
  std::string out;
  bool in_tag = false;
  for (char c : html) {
    if (c == '<')
      in_tag = true;
    else if (c == '>')
      in_tag = false;
    else if (!in_tag)
      out.push_back(c);
  }
  return out;
}

std::string body_preview(const message& m) {
  auto* p = parsed(m);
  if (!p) return {};
  std::string text = p->text_body.empty() ? html_to_text(p->html_body) : p->text_body;
  std::string out;
  bool space = false;
  for (char c : text) {
    bool ws = c == '\r' || c == '\n' || c == '\t' || c == ' ';
    if (ws) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
    if (out.size() >= 255) break;
  }
  // Never cut a UTF-8 sequence in half.
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80)
    out.pop_back();
  if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80)) out.pop_back();
  return out;
}

json render_message(const message& m, const std::string& mailbox_id,
                    const render_options& opts) {
  auto* p = parsed(m);
  auto change_key = "CQAAAB" + std::to_string(m.change);
  auto want = [&](const char* name) {
    if (!opts.select) return is_default_property(name);
    return std::find(opts.select->begin(), opts.select->end(), name) !=
           opts.select->end();
  };
  json out = json::object();
  out["@odata.etag"] = "W/\"" + change_key + "\"";
  out["id"] = m.id;
  if (want("createdDateTime")) out["createdDateTime"] = net::format_rfc3339(m.received);
  if (want("lastModifiedDateTime"))
    out["lastModifiedDateTime"] = net::format_rfc3339(m.modified);
  if (want("changeKey")) out["changeKey"] = change_key;
  if (want("categories")) out["categories"] = m.categories;
  if (want("receivedDateTime")) out["receivedDateTime"] = net::format_rfc3339(m.received);
  if (want("sentDateTime")) out["sentDateTime"] = net::format_rfc3339(m.sent);
  if (want("hasAttachments")) out["hasAttachments"] = has_attachments(m);
  if (want("internetMessageId")) out["internetMessageId"] = m.internet_message_id;
  if (want("subject")) out["subject"] = subject_of(m);
  if (want("bodyPreview")) out["bodyPreview"] = body_preview(m);
  if (want("importance")) out["importance"] = importance_of(m);
  if (want("parentFolderId"))
    out["parentFolderId"] = "AQMk" + mailbox_id + "-" + m.folder;
  if (want("conversationId")) out["conversationId"] = m.conversation_id;
  if (want("isDeliveryReceiptRequested")) out["isDeliveryReceiptRequested"] = false;
  if (want("isReadReceiptRequested")) out["isReadReceiptRequested"] = false;
  if (want("isRead")) out["isRead"] = m.is_read;
  if (want("isDraft")) out["isDraft"] = false;
  if (want("webLink"))
    out["webLink"] = "https://outlook.office365.com/owa/?ItemID=" + m.id + "&exvsurl=1";
  if (want("inferenceClassification")) out["inferenceClassification"] = "focused";
  if (want("body")) {
    bool has_html = p && !p->html_body.empty();
    if (opts.text_body || !has_html) {
      std::string text =
          p ? (p->text_body.empty() ? html_to_text(p->html_body) : p->text_body)
            : std::string{};
      out["body"] = {{"contentType", "text"}, {"content", text}};
    } else {
      out["body"] = {{"contentType", "html"}, {"content", p->html_body}};
    }
  }
  json from = nullptr;
  if (p && p->from) from = recipient(*p->from);
  if (want("sender")) out["sender"] = from;
  if (want("from")) out["from"] = from;
  if (want("toRecipients")) out["toRecipients"] = p ? recipients(p->to) : json::array();
  if (want("ccRecipients")) out["ccRecipients"] = p ? recipients(p->cc) : json::array();
  if (want("bccRecipients")) out["bccRecipients"] = json::array();
  if (want("replyTo")) out["replyTo"] = p ? recipients(p->reply_to) : json::array();
  if (want("flag")) out["flag"] = {{"flagStatus", "notFlagged"}};
  if (want("internetMessageHeaders")) {
    json headers = json::array();
    if (p)
      for (const auto& [n, v] : p->headers)
        headers.push_back({{"name", n}, {"value", v}});
    out["internetMessageHeaders"] = headers;
  }
  if (want("uniqueBody")) out["uniqueBody"] = out.value("body", json::object());
  if (opts.expand_size)
    out["singleValueExtendedProperties"] =
        json::array({{{"id", "Integer 0xe08"}, {"value", std::to_string(m.size)}}});
  return out;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

const std::string& render_message_text(const message& m, const std::string& mailbox_id,
                                       const render_options& opts) {
  std::string key = opts.text_body ? "t" : "h";
  key += opts.expand_size ? "s" : "-";
  if (opts.select) {
    key += "|"; // an empty $select is not the default shape
    for (const auto& name : *opts.select)
      key += "," + name;
  }
  auto& cache = m.cached;
  if (cache.change != m.change || cache.key != key) {
    cache.json = dump(render_message(m, mailbox_id, opts));
    cache.key = std::move(key);
    cache.change = m.change;
  }
  return cache.json;
}

json render_attachments(const message& m) {
  json list = json::array();
  auto* p = parsed(m);
  if (!p) return list;
  int n = 0;
  for (const auto& a : p->attachments) {
    ++n;
    list.push_back(
        {{"@odata.type", "#microsoft.graph.fileAttachment"},
         {"id", m.id + "-att" + std::to_string(n)},
         {"lastModifiedDateTime", net::format_rfc3339(m.modified)},
         {"name", a.name},
         {"contentType", a.content_type},
         {"size", a.size},
         {"isInline", a.is_inline},
         {"contentId", a.content_id.empty() ? json(nullptr) : json(a.content_id)},
         {"contentLocation", nullptr},
         {"contentBytes", net::base64_encode(a.content)}});
  }
  return list;
}

} // namespace graph_sim

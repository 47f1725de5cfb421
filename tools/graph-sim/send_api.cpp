// graph-sim's sendMail: the MIME and JSON forms with Exchange's checks (recipients,
// send-as, custom headers, the 4 MB body cap), the per-mailbox send limits, and what an
// accepted mail leaves behind: an entry in the sent log and a copy in Sent Items.
#include "simulator.hpp"

#include "mail/parse.hpp"
#include "message_fields.hpp"
#include "net/time_format.hpp"

#include <algorithm>
#include <cstdio>
#include <unordered_set>

namespace graph_sim {

namespace http = boost::beast::http;
using nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::size_t send_body_limit = 4 * 1024 * 1024; ///< sendMail's own cap
constexpr std::size_t max_recipients = 500;              ///< To + Cc + Bcc
constexpr std::size_t max_custom_headers = 5;            ///< internetMessageHeaders

/// A refusal in Graph's terms.
struct refusal {
  unsigned status;
  std::string code;
  std::string message;
};

/// Who sends, and what Exchange adds to a mail that lacks it.
struct origin {
  std::string address;
  std::string display_name;
  std::string message_id; ///< without angle brackets
  std::string date;       ///< RFC 5322 date
};

/// A mail to send, whichever form the request carried it in.
struct outgoing {
  std::string form; ///< "mime" or "json"
  std::shared_ptr<const std::string> mime;
  std::shared_ptr<const mail::parse_result> parsed;
  std::vector<mail::address> to, cc, bcc;
  std::optional<std::string> claimed_from; ///< the From the request gave, if any
  std::string subject;
  bool save = true; ///< saveToSentItems (the MIME form always saves)
};

refusal invalid_recipients(const std::string& detail) {
  return {400, "ErrorInvalidRecipients",
          "At least one recipient is not valid. " + detail};
}

std::string media_type(const net::request& req) {
  std::string type{req[http::field::content_type]};
  type = type.substr(0, type.find(';'));
  auto blank = [](char ch) { return ch == ' ' || ch == '\t'; };
  while (!type.empty() && blank(type.back()))
    type.pop_back();
  type.erase(type.begin(), std::find_if_not(type.begin(), type.end(), blank));
  return net::to_lower(type);
}

/// Header values come from JSON: a line break would smuggle in a header of its own.
std::string one_line(std::string text) {
  std::replace_if(
      text.begin(), text.end(), [](char ch) { return ch == '\r' || ch == '\n'; }, ' ');
  return text;
}

bool is_ascii(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](char ch) { return static_cast<unsigned char>(ch) < 0x80; });
}

/// Text for a header: as is when ASCII, else one RFC 2047 encoded word.
std::string header_text(const std::string& text) {
  if (is_ascii(text)) return one_line(text);
  return "=?UTF-8?B?" + net::base64_encode(text) + "?=";
}

/// `Name <address>`, the name quoted (or encoded) as RFC 5322 needs.
std::string format_address(const mail::address& a) {
  if (a.name.empty()) return "<" + a.email + ">";
  if (!is_ascii(a.name)) return header_text(a.name) + " <" + a.email + ">";
  std::string quoted = "\"";
  for (char ch : one_line(a.name)) {
    if (ch == '"' || ch == '\\') quoted.push_back('\\');
    quoted.push_back(ch);
  }
  return quoted + "\" <" + a.email + ">";
}

std::string format_addresses(const std::vector<mail::address>& list) {
  std::string out;
  for (const auto& a : list)
    out += (out.empty() ? "" : ", ") + format_address(a);
  return out;
}

/// A plausible mailbox address: one '@' with text on both sides, nothing that would
/// break an address header.
bool valid_address(const std::string& address) {
  auto at = address.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == address.size() ||
      address.find('@', at + 1) != std::string::npos)
    return false;
  return std::none_of(address.begin(), address.end(), [](char ch) {
    return static_cast<unsigned char>(ch) <= ' ' ||
           std::string_view{"<>(),;:\"[]\\"}.find(ch) != std::string_view::npos;
  });
}

/// `mime` without its top-level `name` headers (continuation lines included).
std::string without_header(const std::string& mime, std::string_view name) {
  std::string out;
  out.reserve(mime.size());
  std::size_t pos = 0;
  bool dropping = false;
  while (pos < mime.size()) {
    auto end = mime.find('\n', pos);
    auto next = end == std::string::npos ? mime.size() : end + 1;
    std::string_view line{mime.data() + pos, next - pos};
    if (line == "\n" || line == "\r\n") break; // the body starts: keep the rest as is
    if (line[0] != ' ' && line[0] != '\t') {
      auto field = line.substr(0, line.find(':'));
      while (!field.empty() && (field.back() == ' ' || field.back() == '\t'))
        field.remove_suffix(1);
      dropping = net::iequals(field, name);
    }
    if (!dropping) out.append(line);
    pos = next;
  }
  out.append(mime, pos, std::string::npos);
  return out;
}

/// The addresses of every top-level `name` header, parsed as a To header would be
/// (mail::message has no Bcc of its own).
std::vector<mail::address> header_addresses(const mail::message& msg,
                                            std::string_view name) {
  std::vector<mail::address> out;
  for (const auto& [field, value] : msg.headers)
    if (net::iequals(field, name)) {
      auto one = mail::parse("To: " + value + "\r\n\r\n");
      out.insert(out.end(), one.msg.to.begin(), one.msg.to.end());
    }
  return out;
}

/// Base64 in lines of 76 characters, as MIME bodies carry it.
std::string base64_lines(const std::string& data) {
  auto flat = net::base64_encode(data);
  std::string out;
  for (std::size_t i = 0; i < flat.size(); i += 76)
    out += flat.substr(i, 76) + "\r\n";
  return out;
}

/// The MIME form: base64 of an RFC 822 message. Exchange completes a mail that lacks
/// From, Message-ID or Date, and may drop Auto-Submitted.
std::optional<refusal> read_mime_form(const std::string& body, bool strip_auto_submitted,
                                      const origin& o, outgoing& out) {
  auto decoded = net::base64_decode(body);
  if (!decoded)
    return refusal{400, "ErrorMimeContentInvalidBase64String",
                   "Invalid base64 string for MIME content."};
  std::string mime = std::move(*decoded);
  if (strip_auto_submitted) mime = without_header(mime, "Auto-Submitted");
  auto parsed = mail::parse(mime);
  if (!parsed.parsed)
    return refusal{400, "ErrorMimeContentInvalid", "Invalid MIME content."};
  const auto& msg = parsed.msg;
  if (mail::find_header(msg, "From"))
    out.claimed_from = msg.from ? msg.from->email : std::string{};
  auto eol = mime.find("\r\n") != std::string::npos ? "\r\n" : "\n";
  std::string added;
  if (!mail::find_header(msg, "From"))
    added += "From: " + format_address({o.display_name, o.address}) + eol;
  if (!mail::find_header(msg, "Message-ID"))
    added += "Message-ID: <" + o.message_id + ">" + eol;
  if (!mail::find_header(msg, "Date")) added += "Date: " + o.date + eol;
  if (!added.empty()) {
    mime = added + mime;
    parsed = mail::parse(mime);
  }
  out.form = "mime";
  out.to = parsed.msg.to;
  out.cc = parsed.msg.cc;
  out.bcc = header_addresses(parsed.msg, "Bcc");
  out.subject = parsed.msg.subject;
  out.mime = std::make_shared<const std::string>(std::move(mime));
  out.parsed = std::make_shared<const mail::parse_result>(std::move(parsed));
  return std::nullopt;
}

refusal bad_property(const std::string& name, const std::string& expected) {
  return {400, "BadRequest",
          "Invalid value for property '" + name + "': expected " + expected + "."};
}

/// A recipient array: [{"emailAddress":{"address","name"?}}].
std::optional<refusal> read_recipients(const json& message, const char* name,
                                       std::vector<mail::address>& out) {
  auto list = message.find(name);
  if (list == message.end() || list->is_null()) return std::nullopt;
  auto expected = "an array of {\"emailAddress\":{\"address\",\"name\"}}";
  if (!list->is_array()) return bad_property(name, expected);
  for (const auto& item : *list) {
    auto email = item.is_object() ? item.find("emailAddress") : item.end();
    if (email == item.end() || !email->is_object() || !email->contains("address") ||
        !(*email)["address"].is_string() ||
        (email->contains("name") && !(*email)["name"].is_string()))
      return bad_property(name, expected);
    out.push_back({email->value("name", ""), (*email)["address"].get<std::string>()});
  }
  return std::nullopt;
}

/// JSON internetMessageHeaders: at most 5, each named x-…, neither part empty.
std::optional<refusal>
read_custom_headers(const json& message,
                    std::vector<std::pair<std::string, std::string>>& out) {
  auto list = message.find("internetMessageHeaders");
  if (list == message.end() || list->is_null()) return std::nullopt;
  if (!list->is_array())
    return bad_property("internetMessageHeaders", "an array of {\"name\",\"value\"}");
  if (list->size() > max_custom_headers)
    return refusal{400, "InvalidInternetMessageHeader",
                   "Maximum number of headers in one message should be less than or "
                   "equal to 5."};
  for (const auto& h : *list) {
    if (!h.is_object() || !h.contains("name") || !h.contains("value") ||
        !h["name"].is_string() || !h["value"].is_string())
      return bad_property("internetMessageHeaders", "an array of {\"name\",\"value\"}");
    auto name = h["name"].get<std::string>(), value = h["value"].get<std::string>();
    bool token = std::all_of(name.begin(), name.end(),
                             [](char ch) { return ch > ' ' && ch < 0x7F && ch != ':'; });
    if (name.empty() || value.empty() || !token)
      return refusal{400, "InvalidInternetMessageHeader",
                     "An internet message header needs a name and a value."};
    if (name.size() < 2 || !net::iequals(name.substr(0, 2), "x-"))
      return refusal{400, "InvalidInternetMessageHeader",
                     "The internet message header name '" + name +
                         "' should start with 'x-' or 'X-'."};
    out.emplace_back(name, one_line(value));
  }
  return std::nullopt;
}

/// What a JSON-form message says beyond the recipients kept in `outgoing`.
struct json_message {
  std::string subject;
  bool html = false;
  std::string content;
  std::vector<mail::address> reply_to;
  std::vector<std::pair<std::string, std::string>> custom_headers;
};

/// Refuses properties graph-sim does not read, as Graph refuses unknown ones.
std::optional<refusal> check_message_properties(const json& message) {
  static const std::set<std::string> handled = {
      "subject",       "body",    "toRecipients", "ccRecipients",
      "bccRecipients", "replyTo", "from",         "internetMessageHeaders"};
  const auto& known = message_properties();
  for (const auto& [key, value] : message.items()) {
    if (handled.count(key) || key.rfind("@odata", 0) == 0) continue;
    if (key != "attachments" && std::find(known.begin(), known.end(), key) == known.end())
      return refusal{400, "RequestBodyRead",
                     "The property '" + key +
                         "' does not exist on type 'microsoft.graph.message'."};
    return refusal{400, "ErrorInvalidProperty",
                   "Property '" + key + "' is not emulated by graph-sim's sendMail."};
  }
  return std::nullopt;
}

/// The `message` object of the JSON form, checked.
std::optional<refusal> read_message(const json& message, outgoing& out,
                                    json_message& parts) {
  if (auto bad = check_message_properties(message)) return bad;
  if (message.contains("subject") && !message["subject"].is_null()) {
    if (!message["subject"].is_string()) return bad_property("subject", "a string");
    parts.subject = message["subject"].get<std::string>();
  }
  if (message.contains("body") && !message["body"].is_null()) {
    const auto& b = message["body"];
    if (!b.is_object() || (b.contains("content") && !b["content"].is_string()) ||
        (b.contains("contentType") && !b["contentType"].is_string()))
      return bad_property("body", "{\"contentType\":\"text\"|\"html\",\"content\"}");
    parts.content = b.value("content", "");
    auto type = net::to_lower(b.value("contentType", "text"));
    if (type != "text" && type != "html")
      return bad_property("body.contentType", "'text' or 'html'");
    parts.html = type == "html";
  }
  for (auto [name, list] :
       {std::pair{"toRecipients", &out.to}, std::pair{"ccRecipients", &out.cc},
        std::pair{"bccRecipients", &out.bcc}, std::pair{"replyTo", &parts.reply_to}})
    if (auto bad = read_recipients(message, name, *list)) return bad;
  if (message.contains("from") && !message["from"].is_null()) {
    std::vector<mail::address> from;
    json wrapped = {{"from", json::array({message["from"]})}};
    if (auto bad = read_recipients(wrapped, "from", from)) return bad;
    out.claimed_from = from.front().email;
  }
  return read_custom_headers(message, parts.custom_headers);
}

/// The MIME Exchange would send for a JSON-form message: From the mailbox, a generated
/// Message-ID, the body in UTF-8.
std::string compose_mime(const outgoing& out, const json_message& parts,
                         const origin& o) {
  std::string mime = "From: " + format_address({o.display_name, o.address}) + "\r\n";
  if (!out.to.empty()) mime += "To: " + format_addresses(out.to) + "\r\n";
  if (!out.cc.empty()) mime += "Cc: " + format_addresses(out.cc) + "\r\n";
  if (!out.bcc.empty()) mime += "Bcc: " + format_addresses(out.bcc) + "\r\n";
  if (!parts.reply_to.empty())
    mime += "Reply-To: " + format_addresses(parts.reply_to) + "\r\n";
  mime += "Subject: " + header_text(parts.subject) + "\r\n";
  mime += "Date: " + o.date + "\r\n";
  mime += "Message-ID: <" + o.message_id + ">\r\n";
  for (const auto& [name, value] : parts.custom_headers)
    mime += name + ": " + value + "\r\n";
  mime += "MIME-Version: 1.0\r\n";
  mime += std::string{"Content-Type: text/"} + (parts.html ? "html" : "plain") +
          "; charset=utf-8\r\n";
  mime += "Content-Transfer-Encoding: base64\r\n\r\n" + base64_lines(parts.content);
  return mime;
}

/// The JSON form: {"message":{…},"saveToSentItems"?}.
std::optional<refusal> read_json_form(const std::string& body, const origin& o,
                                      outgoing& out) {
  json request = json::parse(body, nullptr, false);
  if (request.is_discarded() || !request.is_object())
    return refusal{400, "BadRequest",
                   "Unable to read JSON request payload. Please ensure Content-Type "
                   "header is set and payload is of valid JSON format."};
  for (const auto& [key, value] : request.items())
    if (key != "message" && key != "saveToSentItems" && key.rfind("@odata", 0) != 0)
      return refusal{400, "RequestBodyRead",
                     "The parameter '" + key +
                         "' in the request payload is not a valid parameter for the "
                         "operation 'sendMail'."};
  if (request.contains("saveToSentItems")) {
    if (!request["saveToSentItems"].is_boolean())
      return bad_property("saveToSentItems", "a boolean");
    out.save = request["saveToSentItems"].get<bool>();
  }
  if (!request.contains("message") || !request["message"].is_object())
    return refusal{400, "ErrorInvalidParameter",
                   "The value of the parameter 'Message' is empty."};
  json_message parts;
  if (auto bad = read_message(request["message"], out, parts)) return bad;
  auto mime = compose_mime(out, parts, o);
  out.form = "json";
  out.subject = parts.subject;
  out.parsed = std::make_shared<const mail::parse_result>(mail::parse(mime));
  out.mime = std::make_shared<const std::string>(std::move(mime));
  return std::nullopt;
}

/// Exchange's checks on the recipients: at least one, each an address, at most 500.
std::optional<refusal> check_recipients(const outgoing& out) {
  auto total = out.to.size() + out.cc.size() + out.bcc.size();
  if (total == 0) return invalid_recipients("The message has no recipients.");
  for (const auto* list : {&out.to, &out.cc, &out.bcc})
    for (const auto& a : *list)
      if (!valid_address(a.email))
        return invalid_recipients("'" + a.email + "' is not an e-mail address.");
  if (total > max_recipients)
    return refusal{400, "ErrorTooManyRecipients",
                   "The message has " + std::to_string(total) +
                       " recipients; at most 500 are allowed."};
  return std::nullopt;
}

/// Every recipient once, in lower case: what the recipient limit counts.
std::vector<std::string> distinct_recipients(const outgoing& out) {
  std::vector<std::string> list;
  for (const auto* part : {&out.to, &out.cc, &out.bcc})
    for (const auto& a : *part)
      list.push_back(net::to_lower(a.email));
  std::sort(list.begin(), list.end());
  list.erase(std::unique(list.begin(), list.end()), list.end());
  return list;
}

std::vector<std::string> emails(const std::vector<mail::address>& list) {
  std::vector<std::string> out;
  for (const auto& a : list)
    out.push_back(a.email);
  return out;
}

// The send limits. Each keeps the accepted sends of its own window; a send that would
// go over is refused with the time until enough of them have left the window.

/// A refusal by one send limit.
struct limit_hit {
  std::string limit; ///< "rate", "bytes" or "recipients"
  std::string message;
  std::chrono::seconds retry_after;
};

/// Whole seconds (at least 1) until a send made at `at` leaves a window of `window`.
std::chrono::seconds until_gone(steady::time_point at, std::chrono::milliseconds window,
                                steady::time_point t) {
  auto left = window - (t - at);
  return std::max(std::chrono::ceil<std::chrono::seconds>(left), std::chrono::seconds(1));
}

/// The wait when the mail would not fit even into an empty window.
std::chrono::seconds whole_window(std::chrono::milliseconds window) {
  return std::max(std::chrono::ceil<std::chrono::seconds>(window),
                  std::chrono::seconds(1));
}

std::string describe(const rate& r, const char* what) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%g", r.window.count() / 1000.0);
  return "at most " + std::to_string(r.count) + " " + what + " per " + seconds +
         " seconds from this mailbox.";
}

void prune(send_windows& w, const settings& s, steady::time_point t) {
  while (!w.mails.empty() && t - w.mails.front() >= s.send_rate.window)
    w.mails.pop_front();
  while (!w.bytes.empty() && t - w.bytes.front().first >= s.send_bytes.window) {
    w.bytes_total -= w.bytes.front().second;
    w.bytes.pop_front();
  }
  while (!w.recipients.empty() &&
         t - w.recipients.front().first >= s.send_recipients.window) {
    for (const auto& r : w.recipients.front().second)
      if (--w.distinct[r] == 0) w.distinct.erase(r);
    w.recipients.pop_front();
  }
}

std::optional<limit_hit> over_rate(const send_windows& w, const rate& r,
                                   steady::time_point t) {
  if (w.mails.size() < r.count) return std::nullopt;
  auto message = "Message rate limit exceeded: " + describe(r, "messages");
  if (r.count == 0) return limit_hit{"rate", message, whole_window(r.window)};
  // Room comes once all but count - 1 of the mails in the window have left it.
  auto last_to_go = w.mails[w.mails.size() - r.count];
  return limit_hit{"rate", message, until_gone(last_to_go, r.window, t)};
}

std::optional<limit_hit> over_bytes(const send_windows& w, const rate& r,
                                    steady::time_point t, std::uint64_t size) {
  if (w.bytes_total + size <= r.count) return std::nullopt;
  limit_hit hit{"bytes", "Message size limit exceeded: " + describe(r, "bytes of MIME"),
                whole_window(r.window)};
  auto total = w.bytes_total;
  for (const auto& [at, bytes] : w.bytes) {
    total -= bytes;
    if (total + size <= r.count) {
      hit.retry_after = until_gone(at, r.window, t);
      break;
    }
  }
  return hit;
}

std::optional<limit_hit> over_recipients(const send_windows& w, const rate& r,
                                         steady::time_point t,
                                         const std::vector<std::string>& recipients) {
  std::unordered_set<std::string> mine(recipients.begin(), recipients.end());
  auto total = w.distinct.size();
  for (const auto& x : recipients)
    if (!w.distinct.count(x)) ++total;
  if (total <= r.count) return std::nullopt;
  limit_hit hit{"recipients",
                "Recipient rate limit exceeded: " + describe(r, "distinct recipients"),
                whole_window(r.window)};
  // Let sends leave the window, oldest first, until few enough recipients remain.
  std::unordered_map<std::string, unsigned> gone;
  for (const auto& [at, list] : w.recipients) {
    for (const auto& x : list)
      if (++gone[x] == w.distinct.at(x) && !mine.count(x)) --total;
    if (total <= r.count) {
      hit.retry_after = until_gone(at, r.window, t);
      break;
    }
  }
  return hit;
}

void count_send(send_windows& w, steady::time_point t, std::uint64_t size,
                const std::vector<std::string>& recipients) {
  w.mails.push_back(t);
  w.bytes.emplace_back(t, size);
  w.bytes_total += size;
  w.recipients.emplace_back(t, recipients);
  for (const auto& x : recipients)
    ++w.distinct[x];
}

/// The request read into a mail and checked as Exchange checks it before the limits:
/// body size, content type, the form's own rules, recipients, send-as, and graph-sim's
/// list of refused recipients.
std::optional<refusal> read_send_request(const net::request& req,
                                         const send_options& opts, const origin& o,
                                         outgoing& out) {
  const auto& body = req.body();
  if (body.size() > send_body_limit)
    return refusal{413, "RequestEntityTooLarge",
                   "The sendMail request body is " + std::to_string(body.size()) +
                       " bytes; at most 4194304 are accepted. Send larger mail as a "
                       "draft with an attachment upload session."};
  auto type = media_type(req);
  std::optional<refusal> bad;
  if (type == "text/plain")
    bad = read_mime_form(body, opts.strip_auto_submitted, o, out);
  else if (type == "application/json")
    bad = read_json_form(body, o, out);
  else
    bad = refusal{415, "UnsupportedMediaType",
                  "sendMail takes application/json or text/plain (base64 MIME), not '" +
                      type + "'."};
  if (!bad) bad = check_recipients(out);
  if (bad) return bad;
  if (out.claimed_from && !net::iequals(*out.claimed_from, o.address))
    return refusal{403, "ErrorSendAsDenied",
                   "The user account which was used to submit this request does not have "
                   "the right to send mail on behalf of the specified sending account."};
  for (const auto& x : distinct_recipients(out))
    if (opts.reject_recipients.count(x))
      return invalid_recipients("'" + x + "' does not accept mail.");
  return std::nullopt;
}

/// The first send limit this mail would exceed, if any.
std::optional<limit_hit> check_limits(send_windows& w, const settings& s,
                                      steady::time_point t, std::uint64_t size,
                                      const std::vector<std::string>& recipients) {
  prune(w, s, t);
  auto hit = over_rate(w, s.send_rate, t);
  if (!hit) hit = over_bytes(w, s.send_bytes, t, size);
  if (!hit) hit = over_recipients(w, s.send_recipients, t, recipients);
  return hit;
}

} // namespace

net::response simulator::send_mail(call& c, mailbox& mb) {
  origin o{mb.address, mb.display_name, new_guid() + "@graph-sim.local",
           net::format_http_date(now())};
  outgoing out;
  if (auto bad = read_send_request(c.req, send_, o, out))
    return graph_error(c, bad->status, bad->code, bad->message);
  auto recipients = distinct_recipients(out);
  auto& windows = send_windows_[mb.id];
  auto t = steady::now();
  if (auto hit = check_limits(windows, settings_, t, out.mime->size(), recipients))
    return refuse_over_limit(c, mb, hit->limit, hit->message, hit->retry_after);
  count_send(windows, t, out.mime->size(), recipients);
  ++stats_.sends_accepted;
  sent_mail record;
  record.from = mb.address;
  record.to = emails(out.to);
  record.cc = emails(out.cc);
  record.bcc = emails(out.bcc);
  record.subject = out.subject;
  record.form = out.form;
  record.mime = out.mime;
  record_sent(mb, std::move(record), out.parsed, out.save);
  // Recorded now; a hold delays only the answer (a crash in between loses the 202).
  c.hold = send_.hold_response;
  return net::response{http::status::accepted, 11};
}

void simulator::record_sent(mailbox& mb, sent_mail record,
                            std::shared_ptr<const mail::parse_result> parsed,
                            bool save_copy) {
  record.seq = mb.sent.size() + 1;
  record.sent_at = now();
  auto copy = make_message(mb, record.mime, record.sent_at, std::move(parsed));
  record.internet_message_id = copy.internet_message_id;
  mb.sent.push_back(std::move(record));
  if (!save_copy) return;
  // Sent Items gets the copy Exchange files there, visible after the configured delay.
  copy.folder = "sentitems";
  copy.is_read = true;
  copy.visible_from = copy.received + std::chrono::duration_cast<sys_time::duration>(
                                          send_.sent_items_delay);
  store_message(mb, std::move(copy));
}

net::response simulator::refuse_over_limit(call& c, mailbox& mb, const std::string& limit,
                                           const std::string& message,
                                           std::chrono::seconds retry_after) {
  ++stats_.sends_throttled;
  ++stats_.sends_throttled_by_mailbox[mb.address];
  ++stats_.sends_throttled_by_limit[limit];
  auto res = graph_error(c, 429, "ErrorExceededMessageLimit", message);
  res.set(http::field::retry_after, std::to_string(retry_after.count()));
  return res;
}

} // namespace graph_sim

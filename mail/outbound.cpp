#include "mail/outbound.hpp"

#include "mail/compose.hpp"
#include "net/time_format.hpp"
#include "net/url.hpp"

#include <algorithm>
#include <chrono>

namespace exc {

using nlohmann::json;

namespace {

std::string domain_of(const std::string& address) {
  auto at = address.rfind('@');
  return at == std::string::npos ? std::string{"exconnect.invalid"}
                                 : address.substr(at + 1);
}

mail::address address_of(const person& p) {
  return {p.name, p.email};
}

/// The parts every outbound mail shares: sender, Message-ID, date, our headers.
mail::outgoing base(const outbound_origin& origin, const std::string& email_id) {
  mail::outgoing out;
  out.from = {"", origin.address}; // the display name is the Microsoft account's
  out.message_id = email_id + "@" + domain_of(origin.address);
  out.date = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  out.headers = {{"Auto-Submitted", "auto-generated"},
                 {"X-Auto-Response-Suppress", "All"},
                 {"X-Mailer", origin.headers.mailer},
                 {origin.headers.account_id, origin.account_id},
                 {origin.headers.email_id, email_id}};
  return out;
}

composed_mail finish(const outbound_origin& origin, const std::string& email_id,
                     const mail::outgoing& out) {
  composed_mail c;
  auto& e = c.email;
  e.email_id = email_id;
  e.mailbox_id = origin.mailbox_id;
  e.account_id = origin.account_id;
  for (const auto& a : out.to)
    e.to.push_back(a.email);
  for (const auto& a : out.cc)
    e.cc.push_back(a.email);
  e.subject = out.subject;
  e.internet_message_id = out.message_id;
  e.created_at = net::format_rfc3339(std::chrono::system_clock::now());
  c.mime = mail::compose(out);
  e.size = c.mime.size();
  return c;
}

person person_from(const json& j) {
  if (!j.is_object()) return {};
  return {j.value("email", std::string{}), j.value("name", std::string{})};
}

} // namespace

std::string reply_subject(const std::string& subject, const std::string& token) {
  auto out = subject;
  if (net::to_lower(subject.substr(0, 3)) != "re:") out = "Re: " + out;
  if (subject.find(token) == std::string::npos)
    out += (out.back() == ' ' ? "" : " ") + token;
  return out;
}

composed_mail reply_notification(const json& ticket, const agent_comment& c,
                                 const std::string& comment_id,
                                 const std::string& email_id,
                                 const address_book& connected) {
  auto out = base(c.origin, email_id);
  auto requester = person_from(ticket.value("requester", json::object()));
  out.to.push_back(address_of(requester));
  std::vector<std::string> seen{net::to_lower(requester.email),
                                net::to_lower(c.origin.address)};
  for (const auto& j : ticket.value("cc", json::array())) {
    auto p = person_from(j);
    auto lower = net::to_lower(p.email);
    if (!mail::valid_address(p.email) || connected.contains(lower) ||
        std::find(seen.begin(), seen.end(), lower) != seen.end())
      continue;
    seen.push_back(lower);
    out.cc.push_back(address_of(p));
  }
  out.subject =
      reply_subject(ticket.value("subject", std::string{}), ticket.value("token", ""));
  // The conversation: every message id the ticket knows, oldest first; the reply
  // answers the customer's newest.
  std::vector<std::string> ids;
  for (const auto& comment : ticket.value("comments", json::array())) {
    auto id = comment.value("internet_message_id", json{});
    if (!id.is_string() || !mail::valid_message_id(id.get<std::string>())) continue;
    ids.push_back(id.get<std::string>());
    if (comment.value("author", json::object()).value("type", "") == "customer")
      out.in_reply_to = ids.back();
  }
  out.references = mail::capped_references(ids);
  out.text = c.body_text;
  out.html = c.body_html;
  auto composed = finish(c.origin, email_id, out);
  composed.email.ticket_id = ticket.value("id", std::string{});
  composed.email.comment_id = comment_id;
  return composed;
}

composed_mail external_mail(const outbound_mail& m, const std::string& email_id) {
  auto out = base(m.origin, email_id);
  for (const auto& p : m.to)
    out.to.push_back(address_of(p));
  for (const auto& p : m.cc)
    out.cc.push_back(address_of(p));
  out.subject = m.subject;
  out.in_reply_to = m.in_reply_to;
  out.references = mail::capped_references(m.references);
  out.text = m.body_text;
  out.html = m.body_html;
  return finish(m.origin, email_id, out);
}

} // namespace exc

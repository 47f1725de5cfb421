#include "actors/converter.hpp"

#include "mail/automatic.hpp"
#include "mail/html_text.hpp"
#include "mail/limits.hpp"
#include "mail/parse.hpp"
#include "messages/error.hpp"
#include "net/url.hpp"

#include <algorithm>
#include <optional>

namespace exc {

namespace {

person to_person(const mail::address& a) {
  return {a.email, a.name};
}

} // namespace

inbound_mail convert_mail(const std::string& raw, inbound_mail m,
                          const address_book& connected, mail::time_budget& budget) {
  auto parsed = mail::parse(raw);
  budget.check_now();
  bool recovering = !m.recovering.empty();
  auto reject = [&](const char* reason, std::string detail) {
    m.rejection = reason;
    m.detail = std::move(detail);
    return std::move(m);
  };
  if (!parsed.parsed) {
    std::string detail = "the message cannot be read as MIME";
    if (!parsed.problems.empty()) detail += ": " + parsed.problems.front();
    if (recovering) return unreadable_mail(raw, std::move(m), detail);
    return reject("malformed", detail);
  }
  auto& msg = parsed.msg;
  if (!msg.message_id.empty()) m.message_id = msg.message_id;
  if (!recovering) {
    if (!msg.from || msg.from->email.empty())
      return reject("missing_from", "the message has no From address");
    if (msg.to.empty()) return reject("missing_to", "the message has no To address");
    if (connected.contains(msg.from->email))
      return reject("loop", "the sender " + msg.from->email +
                                " is a mailbox connected to exconnect");
  }
  if (msg.from) m.from = to_person(*msg.from);
  // Connected mailboxes are where the mail arrived, not people to copy.
  for (const auto& a : msg.to)
    if (!connected.contains(a.email)) m.to.push_back(to_person(a));
  for (const auto& a : msg.cc)
    if (!connected.contains(a.email)) m.cc.push_back(to_person(a));
  m.subject = std::move(msg.subject);
  m.text_body = std::move(msg.text_body);
  m.html_body = std::move(msg.html_body);
  if (m.text_body.empty() && !m.html_body.empty()) // HTML-only mail
    m.text_body = mail::html_to_text(m.html_body, budget);
  // Newest first: In-Reply-To, then References from the end; a few are enough to find
  // the ticket, and each costs a lookup.
  auto add_thread_id = [&](const std::string& id) {
    if (!id.empty() && id != m.message_id &&
        std::find(m.thread_ids.begin(), m.thread_ids.end(), id) == m.thread_ids.end())
      m.thread_ids.push_back(id);
  };
  add_thread_id(msg.in_reply_to);
  for (auto i = msg.references.rbegin();
       i != msg.references.rend() && m.thread_ids.size() < mail::limits::max_thread_ids;
       ++i)
    add_thread_id(*i);
  for (auto& a : msg.attachments)
    m.attachments.push_back(mail_attachment{std::move(a.name), std::move(a.content_type),
                                            a.size, a.is_inline, std::move(a.content)});
  if (auto why = mail::automatic_reason(msg)) {
    m.auto_generated = true;
    m.detail = "written by a machine (" + *why + ")";
  }
  m.list_mail = mail::list_reason(msg).value_or("");
  return m;
}

inbound_mail unreadable_mail(const std::string& raw, inbound_mail m,
                             const std::string& why) {
  m.subject = "(a message exconnect could not read)";
  m.text_body = "exconnect could not read this message (" + why +
                "); the original is attached as message.eml.";
  m.attachments.push_back(
      mail_attachment{"message.eml", "message/rfc822", raw.size(), false, raw});
  return m;
}

inbound_mail convert_mail(const std::string& raw, inbound_mail base,
                          const address_book& connected) {
  mail::time_budget unlimited;
  return convert_mail(raw, std::move(base), connected, unlimited);
}

converter_actor::behavior_type converter(converter_actor::pointer,
                                         const address_book* connected,
                                         std::chrono::milliseconds budget,
                                         const std::atomic<bool>* called_off) {
  return {
      [=](atom::convert, const std::string& raw,
          inbound_mail base) -> caf::result<inbound_mail> {
        // Stopped, not waited for: the CONVERTER is free for the next mail, and the
        // FETCHER counts the failed try (the mail is quarantined after the last one).
        mail::time_budget allowed{budget, called_off};
        // A recovered mail becomes a ticket however its conversion ends.
        std::optional<inbound_mail> fallback;
        if (!base.recovering.empty()) fallback = base;
        try {
          return convert_mail(raw, std::move(base), *connected, allowed);
        } catch (const mail::out_of_time&) {
          auto why = "the conversion ran past its budget of " +
                     std::to_string(budget.count()) + " ms";
          if (fallback && !(called_off && called_off->load()))
            return unreadable_mail(raw, std::move(*fallback), why);
          return make_error(ec::conversion_timeout, why);
        }
      },
  };
}

} // namespace exc

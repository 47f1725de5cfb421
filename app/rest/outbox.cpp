// The outbound side: agents' comments (with their notifications), mail queued for
// external helpdesks (both stored by the HELPDESK), and the outbox listing.
#include "app/rest/routes.hpp"

#include "mail/compose.hpp"
#include "messages/error.hpp"
#include "net/url.hpp"
#include "storage/outbox.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace exc::rest {

using nlohmann::json;

namespace {

net::response invalid(const std::string& field, const std::string& message) {
  return error_response(400, "invalid_field", message, field);
}

net::response storage_failure(const caf::error& err) {
  spdlog::error("api: the outbox could not be written or read: {}", render(err));
  return error_response(500, "storage_failure",
                        "the outbox could not be written or read; nothing was queued");
}

/// The mailbox's SENDER learns that the outbox has mail (if it runs; else it drains
/// the outbox when it starts).
void wake(rest_pointer self, const std::string& mailbox_id) {
  self->send(registry(self), atom::wake_v, mailbox_id);
}

/// An optional string field; false (and a 400 sent) if present with another type.
bool optional_string(const json& body, const char* name, std::string& out,
                     const reply_fn& reply) {
  auto i = body.find(name);
  if (i == body.end() || i->is_null()) return true;
  if (!i->is_string()) {
    reply(invalid(name, std::string{name} + " must be a string"));
    return false;
  }
  out = i->get<std::string>();
  return true;
}

/// A list of recipients: addresses, or {"email","name"} objects.
bool read_people(const json& body, const char* name, std::vector<person>& out,
                 const reply_fn& reply) {
  auto i = body.find(name);
  if (i == body.end() || i->is_null()) return true;
  if (!i->is_array()) {
    reply(invalid(name, std::string{name} + " must be an array of addresses"));
    return false;
  }
  for (const auto& item : *i) {
    person p;
    if (item.is_string()) {
      p.email = item.get<std::string>();
    } else if (item.is_object() && item.value("email", json{}).is_string()) {
      p.email = item["email"].get<std::string>();
      if (item.contains("name") && !item["name"].is_string()) {
        reply(invalid(name, std::string{name} + ": a name must be a string"));
        return false;
      }
      p.name = item.value("name", std::string{});
    }
    if (!mail::valid_address(p.email)) {
      reply(invalid(name,
                    std::string{name} + ": '" + p.email + "' is not an e-mail address"));
      return false;
    }
    out.push_back(std::move(p));
  }
  return true;
}

/// The request's Idempotency-Key ("" if none); false (and a 400 sent) if malformed.
bool read_idempotency_key(const http_request& req, std::string& out,
                          const reply_fn& reply) {
  out = std::string{header(req, "Idempotency-Key")};
  bool printable = std::all_of(out.begin(), out.end(),
                               [](unsigned char c) { return c > 0x20 && c < 0x7f; });
  if (out.size() <= 255 && printable) return true;
  reply(error_response(400, "invalid_header",
                       "Idempotency-Key: 1 to 255 visible ASCII characters",
                       "Idempotency-Key"));
  return false;
}

/// 202 with what was queued; a repeated request with the same Idempotency-Key gets the
/// first one's answer, marked as a replay.
net::response queued_answer(const queued_reply& out, bool with_comment) {
  json body = {{"email_id", out.email_id.empty() ? json(nullptr) : json(out.email_id)}};
  if (with_comment) body["comment_id"] = out.comment_id;
  auto res = json_response(202, body);
  if (out.replayed) res.set("Idempotent-Replayed", "true");
  return res;
}

net::response conflict(const caf::error& err) {
  return error_response(409, "idempotency_key_reused", context_of(err));
}

/// A Message-ID given by a client, with or without angle brackets.
std::optional<std::string> message_id(std::string id) {
  if (id.size() > 2 && id.front() == '<' && id.back() == '>')
    id = id.substr(1, id.size() - 2);
  if (!mail::valid_message_id(id)) return std::nullopt;
  return id;
}

} // namespace

void post_comment(rest_pointer self, const caller& who, const std::string& ticket_id,
                  const http_request& req, const reply_fn& reply) {
  auto body = read_object(req);
  if (auto* bad = std::get_if<net::response>(&body)) return reply(std::move(*bad));
  auto& j = std::get<json>(body);
  if (auto bad = reject_unknown_fields(j, {"body", "html", "public", "author"}))
    return reply(std::move(*bad));
  agent_comment c;
  c.ticket_id = ticket_id;
  if (!read_idempotency_key(req, c.idempotency_key, reply)) return;
  if (!j.value("body", json{}).is_string() || j["body"].get<std::string>().empty())
    return reply(invalid("body", "body: the comment's text is required"));
  c.body_text = j["body"].get<std::string>();
  if (!optional_string(j, "html", c.body_html, reply)) return;
  if (j.contains("public") && !j["public"].is_boolean())
    return reply(invalid("public", "public must be true or false"));
  c.is_public = j.value("public", true);
  c.author = {"", "Agent"};
  if (j.contains("author")) {
    const auto& a = j["author"];
    if (!a.is_object() || (a.contains("name") && !a["name"].is_string()) ||
        (a.contains("email") && !a["email"].is_string()))
      return reply(invalid("author", "author must be {\"name\", \"email\"} strings"));
    c.author = {a.value("email", std::string{}), a.value("name", std::string{"Agent"})};
  }
  auto ticket = self->state.stores.helpdesk->ticket(who.account_id, ticket_id);
  if (!ticket) return reply(storage_failure(ticket.error()));
  if (!*ticket) return reply(not_found());
  auto mailbox_id = (**ticket).value("mailbox_id", std::string{});
  auto store = [=](agent_comment c) {
    self->request(service::get<helpdesk_actor>(self->system()), std::chrono::seconds{60},
                  atom::comment_v, std::move(c))
        .then(
            [=](const queued_reply& out) {
              if (!out.email_id.empty()) wake(self, mailbox_id);
              reply(queued_answer(out, true));
            },
            [=](const caf::error& err) {
              if (is(err, ec::not_found)) return reply(not_found());
              if (is(err, ec::conflict)) return reply(conflict(err));
              if (is(err, ec::ticket_full)) return reply(refusal(err));
              reply(storage_failure(err));
            });
  };
  self->request(registry(self), registry_timeout, atom::origin_v, who.account_id,
                mailbox_id)
      .then(
          [=](const outbound_origin& origin) mutable {
            c.origin = origin;
            store(std::move(c));
          },
          [=](const caf::error& err) mutable {
            if (!is(err, ec::not_found)) return reply(refusal(err));
            if (c.is_public)
              return reply(error_response(
                  409, "mailbox_deleted",
                  "the ticket's mailbox was deleted: a public reply cannot be mailed"));
            c.origin.account_id = who.account_id;
            c.origin.mailbox_id = mailbox_id;
            store(std::move(c));
          });
}

void queue_outbound(rest_pointer self, const caller& who, const std::string& mailbox_id,
                    const http_request& req, const reply_fn& reply) {
  auto body = read_object(req);
  if (auto* bad = std::get_if<net::response>(&body)) return reply(std::move(*bad));
  auto& j = std::get<json>(body);
  if (auto bad = reject_unknown_fields(j, {"to", "cc", "subject", "body_text",
                                           "body_html", "in_reply_to", "references"}))
    return reply(std::move(*bad));
  outbound_mail m;
  if (!read_idempotency_key(req, m.idempotency_key, reply)) return;
  if (!read_people(j, "to", m.to, reply) || !read_people(j, "cc", m.cc, reply)) return;
  if (m.to.empty()) return reply(invalid("to", "to: at least one recipient is required"));
  for (const auto* list : {&m.to, &m.cc})
    for (const auto& p : *list)
      if (self->state.stores.connected->contains(p.email))
        return reply(invalid(list == &m.to ? "to" : "cc",
                             "'" + p.email +
                                 "' is a connected mailbox: the mail would come back "
                                 "as a ticket"));
  if (!j.value("subject", json{}).is_string())
    return reply(invalid("subject", "subject: a string is required"));
  m.subject = j["subject"].get<std::string>();
  if (!j.value("body_text", json{}).is_string())
    return reply(invalid("body_text", "body_text: a string is required"));
  m.body_text = j["body_text"].get<std::string>();
  if (!optional_string(j, "body_html", m.body_html, reply)) return;
  std::string in_reply_to;
  if (!optional_string(j, "in_reply_to", in_reply_to, reply)) return;
  if (!in_reply_to.empty()) {
    auto id = message_id(in_reply_to);
    if (!id) return reply(invalid("in_reply_to", "in_reply_to: not a Message-ID"));
    m.in_reply_to = *id;
  }
  if (j.contains("references") && !j["references"].is_null()) {
    if (!j["references"].is_array())
      return reply(invalid("references", "references must be an array of Message-IDs"));
    for (const auto& r : j["references"]) {
      auto id = r.is_string() ? message_id(r.get<std::string>()) : std::nullopt;
      if (!id) return reply(invalid("references", "references: not a Message-ID"));
      m.references.push_back(*id);
    }
  }
  self->request(registry(self), registry_timeout, atom::origin_v, who.account_id,
                mailbox_id)
      .then(
          [=](const outbound_origin& origin) mutable {
            m.origin = origin;
            self->request(service::get<helpdesk_actor>(self->system()),
                          std::chrono::seconds{60}, atom::outbound_v, std::move(m))
                .then(
                    [=](const queued_reply& out) {
                      wake(self, mailbox_id);
                      reply(queued_answer(out, false));
                    },
                    [=](const caf::error& err) {
                      if (is(err, ec::conflict)) return reply(conflict(err));
                      reply(storage_failure(err));
                    });
          },
          refuse_with(reply));
}

namespace {

/// The next emails after `after` of these mailboxes, oldest first (email ids sort by
/// the time they were queued, across mailboxes too).
void reply_outbox(rest_pointer self, const std::vector<std::string>& mailboxes,
                  const net::params& params, const reply_fn& reply) {
  auto limit = page_limit(params);
  if (auto* bad = std::get_if<net::response>(&limit)) return reply(std::move(*bad));
  auto n = std::get<std::size_t>(limit);
  auto after = net::find_param(params, "after").value_or("");
  std::vector<storage::outbox_email> all;
  for (const auto& id : mailboxes) {
    auto emails = self->state.stores.outbox->emails(id, after, n + 1);
    if (!emails) return reply(storage_failure(emails.error()));
    all.insert(all.end(), std::make_move_iterator(emails->begin()),
               std::make_move_iterator(emails->end()));
  }
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.email_id < b.email_id; });
  bool more = all.size() > n;
  if (more) all.resize(n);
  json list = json::array();
  for (const auto& e : all)
    list.push_back(storage::outbox_view(e));
  reply(json_response(200, {{"emails", list},
                            {"next", more ? json(all.back().email_id) : json(nullptr)}}));
}

} // namespace

void list_outbox(rest_pointer self, const caller& who, const http_request& req,
                 const reply_fn& reply) {
  read_listing_query(self, who, req, reply, [=](listing_query query) {
    if (!query.mailbox.empty())
      return reply_outbox(self, {query.mailbox}, query.params, reply);
    self->request(registry(self), registry_timeout, atom::mailboxes_v, who.account_id)
        .then(
            [=](const std::vector<std::string>& ids) {
              reply_outbox(self, ids, query.params, reply);
            },
            refuse_with(reply));
  });
}

} // namespace exc::rest

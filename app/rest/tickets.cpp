// The read side of the embedded helpdesk: tickets and rejections (cursor paging, one
// mailbox's through its index), read from storage directly (the HELPDESK is their one
// writer).
#include "app/rest/routes.hpp"

#include "messages/error.hpp"
#include "net/url.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace exc::rest {

using nlohmann::json;

namespace {

net::response storage_failure(const caf::error& err) {
  spdlog::error("api: reading the helpdesk failed: {}", render(err));
  return error_response(500, "storage_failure", "the helpdesk could not be read");
}

/// A rejection as the contract shows it: "recovered" is null, or what it became.
json rejection_view(json r) {
  json recovered = nullptr;
  if (r.contains("recovered_at"))
    recovered = {{"at", r["recovered_at"]},
                 {"ticket_id", r.value("ticket_id", "")},
                 {"outcome", r.value("recovered_as", "")}};
  for (const char* stored : {"recovered_at", "ticket_id", "recovered_as"})
    r.erase(stored);
  r["recovered"] = std::move(recovered);
  return r;
}

} // namespace

void read_listing_query(rest_pointer self, const caller& who, const http_request& req,
                        const reply_fn& reply, std::function<void(listing_query)> then) {
  auto query = net::parse_query(net::split_target(req.target).second);
  if (!query)
    return reply(error_response(400, "invalid_query", "the query string is malformed"));
  listing_query out{std::move(*query), {}};
  auto id = net::find_param(out.params, "mailbox_id");
  if (!id) return then(std::move(out));
  out.mailbox = *id;
  self->request(registry(self), registry_timeout, atom::mailbox_v, who.account_id, *id)
      .then([out, then](const mailbox_entry&) { then(out); }, refuse_with(reply));
}

std::variant<std::size_t, net::response> page_limit(const net::params& params) {
  auto text = net::find_param(params, "limit");
  if (!text) return std::size_t{50};
  bool digits = !text->empty() && text->size() <= 3 &&
                std::all_of(text->begin(), text->end(),
                            [](unsigned char c) { return std::isdigit(c); });
  auto n = digits ? std::stoi(*text) : 0;
  if (n < 1 || n > 100)
    return error_response(400, "invalid_field", "limit must be an integer from 1 to 100",
                          "limit");
  return static_cast<std::size_t>(n);
}

std::variant<page_query, net::response> read_page_query(const http_request& req) {
  auto query = net::parse_query(net::split_target(req.target).second);
  if (!query)
    return error_response(400, "invalid_query", "the query string is malformed");
  auto limit = page_limit(*query);
  if (auto* bad = std::get_if<net::response>(&limit)) return std::move(*bad);
  return page_query{std::move(*query), std::get<std::size_t>(limit)};
}

void list_tickets(rest_pointer self, const caller& who, const http_request& req,
                  const reply_fn& reply) {
  read_listing_query(self, who, req, reply, [=](listing_query query) {
    auto limit = page_limit(query.params);
    if (auto* bad = std::get_if<net::response>(&limit)) return reply(std::move(*bad));
    auto after = net::find_param(query.params, "after").value_or("");
    auto page = self->state.stores.helpdesk->tickets(who.account_id, query.mailbox, after,
                                                     std::get<std::size_t>(limit));
    if (!page) return reply(storage_failure(page.error()));
    json tickets = json::array();
    for (auto& t : page->records)
      tickets.push_back(storage::ticket_view(std::move(t)));
    reply(json_response(
        200, {{"tickets", tickets},
              {"next", page->next.empty() ? json(nullptr) : json(page->next)}}));
  });
}

void get_ticket(rest_pointer self, const caller& who, const std::string& id,
                const reply_fn& reply) {
  auto ticket = self->state.stores.helpdesk->ticket(who.account_id, id);
  if (!ticket) return reply(storage_failure(ticket.error()));
  if (!*ticket) return reply(not_found());
  reply(json_response(200, storage::ticket_view(std::move(**ticket))));
}

void list_rejections(rest_pointer self, const caller& who, const http_request& req,
                     const reply_fn& reply) {
  read_listing_query(self, who, req, reply, [=](listing_query query) {
    auto limit = page_limit(query.params);
    if (auto* bad = std::get_if<net::response>(&limit)) return reply(std::move(*bad));
    auto after = net::find_param(query.params, "after").value_or("");
    auto page = self->state.stores.helpdesk->rejections(
        who.account_id, query.mailbox, after, std::get<std::size_t>(limit));
    if (!page) return reply(storage_failure(page.error()));
    json list = json::array();
    for (auto& r : page->records)
      list.push_back(rejection_view(std::move(r)));
    reply(json_response(
        200, {{"rejections", list},
              {"next", page->next.empty() ? json(nullptr) : json(page->next)}}));
  });
}

void recover_rejection(rest_pointer self, const caller& who, const std::string& id,
                       const reply_fn& reply) {
  const auto* store = self->state.stores.helpdesk;
  auto found = store->rejection(who.account_id, id);
  if (!found) return reply(storage_failure(found.error()));
  if (!*found) return reply(not_found());
  const auto& r = **found;
  // Checked here to answer at once; the HELPDESK checks again as it stores.
  if (r.value("reason", "") == "too_large")
    return reply(error_response(409, "not_recoverable",
                                "mail rejected too_large was never downloaded and "
                                "cannot be recovered"));
  if (r.contains("recovered_at"))
    return reply(
        error_response(409, "already_recovered", "this rejection was recovered already"));
  recovery what{id, r.value("message_id", ""), r.value("internet_message_id", ""),
                r.value("received_at", "")};
  // A download of up to 50 MB and its conversion, through the mailbox's Graph gate.
  constexpr std::chrono::minutes recover_timeout{6};
  self->request(registry(self), recover_timeout, atom::recover_v, who.account_id,
                r.value("mailbox_id", ""), what)
      .then(
          [=](const ingest_outcome&) {
            auto now = store->rejection(who.account_id, id);
            if (!now) return reply(storage_failure(now.error()));
            if (!*now) return reply(not_found());
            reply(json_response(200, rejection_view(std::move(**now))));
          },
          [=](const caf::error& err) {
            if (is(err, ec::not_found)) // its mailbox was deleted
              return reply(error_response(409, "invalid_state",
                                          "the mailbox this mail arrived in no longer "
                                          "exists"));
            reply(refusal(err));
          });
}

} // namespace exc::rest

#include "actors/listing.hpp"

#include "messages/error.hpp"
#include "net/graph/requests.hpp"
#include "net/limits/backoff.hpp"

#include <spdlog/spdlog.h>

namespace exc {

fetch_report failed_cycle(std::string step, std::string code, std::string message) {
  fetch_report r;
  r.result.step = std::move(step);
  r.result.code = std::move(code);
  r.result.message = std::move(message);
  return r;
}

fetch_report call_failed(const caf::error& err, const std::string& account_id,
                         const std::string& mailbox_id) {
  auto grant_gone = is(err, ec::reauthorization_required);
  bool token = grant_gone || is(err, ec::app_credentials_rejected) ||
               is(err, ec::token_unavailable);
  auto r = failed_cycle(token                          ? "token"
                        : is(err, ec::storage_failure) ? "storage"
                                                       : "internal",
                        err.category() == error_category
                            ? to_string(static_cast<ec>(err.code()))
                            : "internal_error",
                        render(err));
  r.result.grant_gone = grant_gone;
  r.back_off = !grant_gone && !is(err, ec::app_credentials_rejected);
  if (!grant_gone)
    spdlog::warn("mailbox {}/{}: {}", account_id, mailbox_id, r.result.message);
  return r;
}

fetch_report graph_failed(const net::client_response& res, const char* doing,
                          const std::string& account_id, const std::string& mailbox_id) {
  auto e = graph::read_error(res);
  spdlog::warn("mailbox {}/{}: {} failed: {} {} (the mailbox waits)", account_id,
               mailbox_id, doing, e.code, e.message);
  auto r = failed_cycle("listing", e.code, e.message);
  r.back_off = true;
  r.heals = graph::transient(res);
  r.asked = asked_pause(res).value_or(caf::timespan{0});
  return r;
}

std::variant<mail_page, fetch_report> read_listing(const net::client_response& res,
                                                   const std::string& graph_url,
                                                   const std::string& account_id,
                                                   const std::string& mailbox_id) {
  if (!res.ok() || res.status != 200)
    return graph_failed(res, "listing new mail", account_id, mailbox_id);
  auto refuse = [](const char* why) {
    auto r = failed_cycle("listing", "graph_failure", why);
    r.back_off = true;
    return r;
  };
  mail_page page;
  auto messages = graph::read_message_page(res.body, page.next_link, page.delta_link);
  if (!messages) return refuse("Graph answered a listing that is not a page of messages");
  if (page.next_link.empty() && page.delta_link.empty())
    return refuse("Graph ended a delta round without a deltaLink");
  for (const auto* link : {&page.next_link, &page.delta_link})
    if (!link->empty() && !graph::on_graph(graph_url, *link)) {
      spdlog::warn("mailbox {}/{}: Graph answered a link outside {}: {}", account_id,
                   mailbox_id, graph_url, *link);
      return refuse("Graph answered a link outside its base URL");
    }
  page.messages = std::move(*messages);
  return page;
}

} // namespace exc

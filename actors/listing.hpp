#pragma once

#include "messages/types.hpp"
#include "net/http_client.hpp"

#include <caf/error.hpp>

#include <string>
#include <variant>
#include <vector>

/// A poll's listing of new mail (a round of the Inbox's delta), read the same way by the
/// MAILBOX (the first page) and its FETCHER (the others), and how a poll cycle ends when
/// the whole mailbox failed (no token, storage trouble, Graph throttling or refusing the
/// mailbox): a fetch_report that makes the MAILBOX back off. The FETCHER's downloads end
/// a cycle the same way.
namespace exc {

/// One page of new mail as Graph listed it (removed and read messages left out), and
/// its link to the next page or, on the round's last page, the deltaLink where the next
/// round starts.
struct mail_page {
  std::vector<message_ref> messages;
  std::string next_link;
  std::string delta_link;
};

/// What the MAILBOX hands its FETCHER: the round's first page, the deltaLink the round
/// started from ("": a full round), and the open messages due for another look (the
/// journal's index: a delta round reports each message once).
struct mail_round {
  mail_page first;
  std::string from_link;
  std::vector<std::string> due;
};

/// Graph's answer to a listing: its page, or the report that ends the cycle (Graph
/// refused the listing, answered something that is not a page of messages, or a link
/// that does not lie below `graph_url`: the token would go with it).
std::variant<mail_page, fetch_report> read_listing(const net::client_response& res,
                                                   const std::string& graph_url,
                                                   const std::string& account_id,
                                                   const std::string& mailbox_id);

/// A cycle that ended with `step` failing.
fetch_report failed_cycle(std::string step, std::string code, std::string message);

/// No token, storage trouble, or no answer at all: logged (a withdrawn grant is not:
/// the mailbox's status says it), and the report. A new consent or the operator's fix
/// of the app's secret restarts polling; the rest waits out the mailbox's backoff.
fetch_report call_failed(const caf::error& err, const std::string& account_id,
                         const std::string& mailbox_id);

/// Graph's answer concerns the whole mailbox (throttled, token refused, the listing
/// failed) while `doing`: logged, and the report (with the pause Graph asked for).
fetch_report graph_failed(const net::client_response& res, const char* doing,
                          const std::string& account_id, const std::string& mailbox_id);

} // namespace exc

#pragma once

#include "messages/types.hpp"
#include "net/http_client.hpp"

#include <caf/error.hpp>

#include <string>

/// How a poll cycle ends when the whole mailbox failed (no token, storage trouble,
/// Graph throttling or refusing the mailbox), as its MAILBOX learns it: a fetch_report
/// that makes it back off. The MAILBOX's listing of the first page and the FETCHER's
/// later pages and downloads end a cycle the same way.
namespace exc {

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

/// Graph answered a listing with something that is not a page of messages.
fetch_report not_a_page();

} // namespace exc

#pragma once

#include "net/http_client.hpp"

#include <cstddef>
#include <string>
#include <vector>

/// Graph's JSON batching (`POST /$batch`): up to 20 requests that share one access
/// token travel in one HTTP exchange, and each comes back with its own status, headers
/// and body. Graph throttles each inner request on its own (an inner 429 carries its
/// own Retry-After), so a batch changes the round trips, not the budget.
namespace exc::graph {

/// Graph's cap on the requests of one batch.
constexpr std::size_t batch_limit = 20;

/// Whether `req` can travel in a batch to `graph_url` (e.g.
/// "https://graph.microsoft.com/v1.0"): a GET below it with a bearer token.
bool batchable(const net::client_request& req, const std::string& graph_url);

/// One `POST {graph_url}/$batch` carrying `inner` (each batchable, all with the same
/// Authorization header, at most batch_limit); inner request i gets the id "i". Its
/// deadline is the longest of theirs.
net::client_request batch_of(const std::string& graph_url,
                             const std::vector<const net::client_request*>& inner);

/// Graph's answer to a batch of `count` requests, split into one response each (in the
/// order of the requests). An exchange that failed, or was refused as a whole (not
/// 200), is every request's answer; an unreadable answer, or one that lacks a request,
/// is a protocol failure for the requests concerned.
std::vector<net::client_response> answers_of(const net::client_response& outer,
                                             std::size_t count);

} // namespace exc::graph

#pragma once

#include "messages/interfaces.hpp"
#include "net/http_client.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

/// The GRAPH BATCHER: stands before the HTTP CLIENT for the polls of mailboxes whose
/// tenant consented for the app (one token for all of them). A Graph GET waits up to
/// `window` for others with the same token; up to `batch_size` of them then go as one
/// `$batch` request and each caller gets its own answer. One exchange instead of twenty
/// saves most of a poll's cost on both ends (docs/benchmarks.md#idle-scale); Graph
/// still counts and throttles every inner request. Anything else passes straight on.
/// Every caller gets an answer within answer_wait of its request (net/graph/call.hpp),
/// or an error when the BATCHER ends: callers need no timer of their own.
namespace exc {

struct graph_batcher_config {
  std::string graph_url; ///< e.g. "https://graph.microsoft.com/v1.0"
  /// Requests per batch, at most Graph's 20 (graph::batch_limit); 1 sends each on its
  /// own.
  std::size_t batch_size = 20;
  /// How long the first request of a batch waits for the others.
  caf::timespan window = std::chrono::milliseconds{20};
};

struct graph_batcher_state {
  static inline const char* name = "graph-batcher";
  using promise = caf::typed_response_promise<net::client_response>;
  struct waiting {
    net::client_request request;
    promise answer;
  };

  graph_batcher_config cfg;
  /// Requests waiting for their batch, by their Authorization header.
  std::unordered_map<std::string, std::vector<waiting>> waiting_by_token;
  bool flush_planned = false;
  /// Requests with the HTTP CLIENT (a caller's own, or a batch): their callers, in the
  /// order of the batch.
  std::unordered_map<std::uint64_t, std::vector<promise>> in_flight;
  std::uint64_t next_batch = 0;

  /// Whatever ends this actor answers every caller it holds at once.
  ~graph_batcher_state() {
    auto gone = caf::make_error(caf::sec::request_receiver_down);
    for (auto& [token, group] : waiting_by_token)
      for (auto& w : group)
        w.answer.deliver(gone);
    for (auto& [id, callers] : in_flight)
      for (auto& p : callers)
        p.deliver(gone);
  }
};

graph_batcher_actor::behavior_type
graph_batcher(graph_batcher_actor::stateful_pointer<graph_batcher_state> self,
              graph_batcher_config cfg);

} // namespace exc

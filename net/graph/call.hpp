#pragma once

#include "messages/interfaces.hpp"
#include "messages/services.hpp"
#include "messages/token_cache.hpp"
#include "net/graph/requests.hpp"
#include "net/limits/backoff.hpp"

#include <chrono>
#include <functional>
#include <string>

/// One Graph call on behalf of a mailbox, for the actors that talk to Graph (MAILBOX,
/// SENDER): the access token comes from the token cache while it holds a fresh one,
/// else from the TOKEN SERVICE; a 401 gets one fresh token and one more try. A
/// MAILBOX's children call through its Graph gate.
namespace exc {

/// Where a Graph call takes its access token: the cache (none: always asks), then the
/// TOKEN SERVICE.
struct token_source {
  token_service_actor service;
  const token_cache* cache = nullptr;
};

/// The TOKEN SERVICE as it runs now, behind `cache`.
inline token_source tokens_of(caf::actor_system& sys, const token_cache* cache) {
  return {service::get<token_service_actor>(sys), cache};
}

/// The TOKEN SERVICE's key for a mailbox actor's tokens (its config's token_key, or
/// its mailbox id when that is empty: the mailbox's own grant).
template <class Config>
const std::string& token_key_of(const Config& cfg) {
  return cfg.token_key.empty() ? cfg.id : cfg.token_key;
}

using request_maker = std::function<net::client_request(const std::string& token)>;
/// The download of a message's raw MIME ($value).
inline request_maker raw_message_of(std::string graph_url, std::string address,
                                    std::string graph_id) {
  return [=](const std::string& token) {
    return graph::raw_message(graph_url, token, address, graph_id);
  };
}

/// Gets the response to keep: a downloaded mail body is moved on, never copied.
using response_handler = std::function<void(net::client_response&)>;
/// A token that cannot be had, or no answer from the HTTP client at all.
using error_handler = std::function<void(const caf::error&)>;

/// How long an actor waits for the HTTP CLIENT's answer to `req`. The HTTP client's
/// deadline ends every exchange, and the HTTP CLIENT answers what it holds when it
/// ends; this timer is the last resort beyond both. Measured: without it
/// (caf::infinite), a restart of 100,000 mailboxes left some 13,000 FETCHERs waiting
/// for good, with no error (cause not found).
inline caf::timespan answer_wait(const net::client_request& req) {
  return std::chrono::duration_cast<std::chrono::seconds>(req.timeout) +
         std::chrono::seconds{30};
}

/// Who carries a Graph call: the HTTP CLIENT, whose answer the caller waits for with a
/// timer of its own (answer_wait), or the GRAPH BATCHER, which answers in that time by
/// itself (one timer per batch instead of one per call: each timer set and cancelled
/// wakes CAF's clock thread).
struct graph_route {
  graph_route(http_actor h, bool answers_in_time = false)
      : via{std::move(h)}, answers_in_time{answers_in_time} {}
  http_actor via;
  bool answers_in_time;
};

/// Who carries a Graph call of a mailbox actor: for a `batchable` one (a listing) of a
/// mailbox with its tenant's token, the GRAPH BATCHER when there is one; else the HTTP
/// CLIENT.
template <class Config>
graph_route route_of(caf::actor_system& sys, const Config& cfg, bool batchable) {
  if (batchable && !cfg.token_key.empty())
    if (auto batcher = service::get<graph_batcher_actor>(sys)) return {batcher, true};
  return {service::get<http_actor>(sys)};
}

template <class Self>
void call_graph(Self self, const token_source& tokens, const graph_route& http,
                const std::string& mailbox, request_maker make,
                response_handler on_response, error_handler on_error,
                bool retried = false) {
  auto with_token = [=](const std::string& token) {
    auto req = make(token);
    auto wait = http.answers_in_time ? caf::duration{caf::infinite}
                                     : caf::duration{answer_wait(req)};
    self->request(http.via, wait, std::move(req))
        .then(
            [=](net::client_response& res) {
              // The retry asks the TOKEN SERVICE, after the invalidation.
              if (graph::token_refused(res) && !retried) {
                self->send(tokens.service, atom::invalidate_v, mailbox, token);
                call_graph(self, tokens, http, mailbox, make, on_response, on_error,
                           true);
                return;
              }
              on_response(res);
            },
            [=](const caf::error& err) { on_error(err); });
  };
  if (tokens.cache && !retried)
    if (auto token = tokens.cache->fresh(mailbox, self->clock().now()))
      return with_token(*token);
  self->request(tokens.service, std::chrono::seconds{60}, atom::token_v, mailbox)
      .then(with_token, [=](const caf::error& err) { on_error(err); });
}

/// As call_graph, in a slot of the mailbox's Graph gate the caller holds: gives it back
/// with the pause Graph asked for, if any.
template <class Self>
void call_graph_in_slot(Self self, const graph_gate_actor& gate,
                        const token_source& tokens, const graph_route& http,
                        const std::string& mailbox, request_maker make,
                        response_handler on_response, error_handler on_error) {
  call_graph(
      self, tokens, http, mailbox, std::move(make),
      [=](net::client_response& res) {
        self->send(gate, atom::release_v, asked_pause(res).value_or(caf::timespan{0}));
        on_response(res);
      },
      [=](const caf::error& err) {
        self->send(gate, atom::release_v, caf::timespan{0});
        on_error(err);
      });
}

/// As call_graph, through the mailbox's Graph gate: waits for a slot, and gives it
/// back with the pause Graph asked for, if any.
template <class Self>
void call_graph_gated(Self self, const graph_gate_actor& gate, const token_source& tokens,
                      const graph_route& http, const std::string& mailbox,
                      request_maker make, response_handler on_response,
                      error_handler on_error) {
  // No timeout: a slot that came too late would stay taken. A child that ends gives
  // its place back (its MAILBOX forgets it); a MAILBOX that ends fails the request.
  self->request(gate, caf::infinite, atom::acquire_v)
      .then(
          [=](bool) {
            call_graph_in_slot(self, gate, tokens, http, mailbox, make, on_response,
                               on_error);
          },
          [=](const caf::error& err) { on_error(err); });
}

} // namespace exc

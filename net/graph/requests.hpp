#pragma once

#include "messages/types.hpp"
#include "net/http_client.hpp"

#include <chrono>
#include <optional>
#include <vector>

#include <string>

/// Building Graph requests and reading Graph's answers; shared by the actors that call
/// Graph.
namespace exc::graph {

/// A GET of `path_and_query` below `graph_url` (e.g. "/users/a@b/messages") with the
/// bearer token and the headers every Graph call sends (ImmutableId).
net::client_request get(const std::string& graph_url, const std::string& access_token,
                        const std::string& path_and_query);

/// The smallest call that proves a token opens a mailbox's inbox:
/// GET /users/{address}/mailFolders/inbox/messages?$top=1&$select=id.
net::client_request inbox_probe(const std::string& graph_url,
                                const std::string& access_token,
                                const std::string& address);

/// A page of the Inbox's delta (Graph's change tracking), 100 messages at most: with
/// no `link`, the first page of a full round (Inbox mail received at or after `since`,
/// RFC 3339); else the page at `link` (a nextLink or deltaLink, verbatim). Each message
/// with the fields that decide what to do with it, isRead (delta cannot filter on it)
/// and its size (PidTagMessageSize).
net::client_request inbox_delta(const std::string& graph_url,
                                const std::string& access_token,
                                const std::string& address, const std::string& since,
                                const std::string& link);

/// GET one message with what a listing reads of it (to look at an open message again).
net::client_request message_ref_of(const std::string& graph_url,
                                   const std::string& access_token,
                                   const std::string& address,
                                   const std::string& graph_id);

/// A single message's ref (and whether it is read); nullopt if the body is none.
std::optional<message_ref> read_message_ref(const std::string& body, bool& is_read);

/// A page's new mail as message refs, without removed or read messages; its links (""
/// where it has none). nullopt if the body is not a page of messages.
std::optional<std::vector<message_ref>> read_message_page(const std::string& body,
                                                          std::string& next_link,
                                                          std::string& delta_link);

/// A link Graph gave (nextLink, deltaLink) that lies below `graph_url`: only those are
/// followed, since the bearer token goes with them.
bool on_graph(const std::string& graph_url, const std::string& link);

/// Graph no longer knows the round's state token (410 Gone, syncStateNotFound): a
/// full round starts over.
bool sync_state_gone(const net::client_response& res);

/// GET the message's raw MIME ($value).
net::client_request raw_message(const std::string& graph_url,
                                const std::string& access_token,
                                const std::string& address, const std::string& graph_id);

/// GET the message's current categories ($select=categories).
net::client_request categories_of(const std::string& graph_url,
                                  const std::string& access_token,
                                  const std::string& address,
                                  const std::string& graph_id);

/// The categories in a message's JSON; nullopt if it is not a message.
std::optional<std::vector<std::string>> read_categories(const std::string& body);

/// PATCH the message's categories (and isRead when `mark_as_read`).
net::client_request
set_categories(const std::string& graph_url, const std::string& access_token,
               const std::string& address, const std::string& graph_id,
               const std::vector<std::string>& categories, bool mark_as_read);

/// POST sendMail in MIME form: the message base64-encoded as text/plain, so that every
/// header we set goes out (the JSON form allows only five x- headers).
net::client_request send_mime(const std::string& graph_url,
                              const std::string& access_token, const std::string& address,
                              const std::string& mime);

/// GET the Sent Items copies of the message with this Message-ID (without angle
/// brackets); Graph can filter on internetMessageId, not on custom headers.
net::client_request sent_copy(const std::string& graph_url,
                              const std::string& access_token, const std::string& address,
                              const std::string& internet_message_id);

/// How many messages a page holds; nullopt if the body is not a page of messages.
std::optional<std::size_t> count_messages(const std::string& body);

/// Graph's error code and message from an answer that is not 2xx ("ErrorAccessDenied",
/// "…"), or the transport error.
struct error_info {
  std::string code;
  std::string message;
};
error_info read_error(const net::client_response& res);

/// How long Graph asks to wait (Retry-After: decimal seconds or an HTTP date); nullopt
/// if it does not say.
std::optional<std::chrono::milliseconds> retry_after(const net::client_response& res);

/// Worth trying again later: throttled (429, 503), a server error (5xx) or no answer.
bool transient(const net::client_response& res);

/// True for 401 InvalidAuthenticationToken: the access token expired or was revoked.
bool token_refused(const net::client_response& res);

} // namespace exc::graph

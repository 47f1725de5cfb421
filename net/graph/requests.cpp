#include "net/graph/requests.hpp"

#include "net/time_format.hpp"
#include "net/url.hpp"

#include <nlohmann/json.hpp>

namespace exc::graph {

net::client_request get(const std::string& graph_url, const std::string& access_token,
                        const std::string& path_and_query) {
  net::client_request req;
  req.method = "GET";
  req.url = graph_url + path_and_query;
  req.headers = {{"Authorization", "Bearer " + access_token},
                 {"Accept", "application/json"},
                 {"Prefer", "IdType=\"ImmutableId\""}};
  return req;
}

net::client_request inbox_probe(const std::string& graph_url,
                                const std::string& access_token,
                                const std::string& address) {
  return get(graph_url, access_token,
             "/users/" + net::percent_encode(address) +
                 "/mailFolders/inbox/messages?%24top=1&%24select=id");
}

namespace {

std::string messages_of(const std::string& address) {
  return "/users/" + net::percent_encode(address) + "/messages/";
}

} // namespace

namespace {

/// What a listing asks of each message: the fields that decide what to do with it and
/// its size (PidTagMessageSize).
constexpr const char* ref_fields =
    "id,internetMessageId,receivedDateTime,categories,isRead";
constexpr const char* size_expand =
    "singleValueExtendedProperties($filter=id eq 'Integer 0x0E08')";

/// A message of a listing as a ref; nullopt if the item is no message.
std::optional<message_ref> ref_of(const nlohmann::json& item) {
  if (!item.is_object() || !item.value("id", nlohmann::json{}).is_string())
    return std::nullopt;
  message_ref ref;
  ref.graph_id = item["id"];
  ref.internet_message_id = item.value("internetMessageId", std::string{});
  ref.received_at = item.value("receivedDateTime", std::string{});
  if (item.contains("categories") && item["categories"].is_array())
    for (const auto& c : item["categories"])
      if (c.is_string()) ref.categories.push_back(c);
  if (item.contains("singleValueExtendedProperties") &&
      item["singleValueExtendedProperties"].is_array())
    for (const auto& p : item["singleValueExtendedProperties"])
      if (p.is_object() && p.value("value", nlohmann::json{}).is_string())
        ref.size = std::strtoull(p["value"].get<std::string>().c_str(), nullptr, 10);
  return ref;
}

} // namespace

net::client_request inbox_delta(const std::string& graph_url,
                                const std::string& access_token,
                                const std::string& address, const std::string& since,
                                const std::string& link) {
  auto req = link.empty()
                 ? get(graph_url, access_token,
                       "/users/" + net::percent_encode(address) +
                           "/mailFolders/inbox/messages/delta?" +
                           net::encode_query({{"$select", ref_fields},
                                              {"$filter", "receivedDateTime ge " + since},
                                              {"$expand", size_expand}}))
                 : get("", access_token, link); // verbatim, as Graph asks
  // A header, so on every page of the round.
  req.headers[2].second += ", odata.maxpagesize=100";
  return req;
}

net::client_request message_ref_of(const std::string& graph_url,
                                   const std::string& access_token,
                                   const std::string& address,
                                   const std::string& graph_id) {
  return get(graph_url, access_token,
             messages_of(address) + net::percent_encode(graph_id) + "?" +
                 net::encode_query({{"$select", ref_fields}, {"$expand", size_expand}}));
}

std::optional<message_ref> read_message_ref(const std::string& body, bool& is_read) {
  auto item = nlohmann::json::parse(body, nullptr, false);
  auto ref = ref_of(item);
  is_read = ref && item.value("isRead", false) == true;
  return ref;
}

std::optional<std::vector<message_ref>> read_message_page(const std::string& body,
                                                          std::string& next_link,
                                                          std::string& delta_link) {
  auto page = nlohmann::json::parse(body, nullptr, false);
  if (!page.is_object() || !page.contains("value") || !page["value"].is_array())
    return std::nullopt;
  auto link = [&](const char* name) {
    auto i = page.find(name);
    return i != page.end() && i->is_string() ? i->get<std::string>() : std::string{};
  };
  next_link = link("@odata.nextLink");
  delta_link = link("@odata.deltaLink");
  std::vector<message_ref> out;
  for (const auto& item : page["value"]) {
    // Removed, or read (delta cannot filter on isRead): nothing new to take.
    if (!item.is_object() || item.contains("@removed") ||
        item.value("isRead", nlohmann::json{}) == true)
      continue;
    if (auto ref = ref_of(item)) out.push_back(std::move(*ref));
  }
  return out;
}

bool on_graph(const std::string& graph_url, const std::string& link) {
  return !graph_url.empty() && link.size() > graph_url.size() &&
         link.compare(0, graph_url.size(), graph_url) == 0 &&
         (link[graph_url.size()] == '/' || link[graph_url.size()] == '?');
}

bool sync_state_gone(const net::client_response& res) {
  // A page is never parsed here: only an error's body is read for its code.
  return res.ok() && res.status >= 400 &&
         (res.status == 410 || read_error(res).code == "syncStateNotFound");
}

net::client_request raw_message(const std::string& graph_url,
                                const std::string& access_token,
                                const std::string& address, const std::string& graph_id) {
  auto req = get(graph_url, access_token,
                 messages_of(address) + net::percent_encode(graph_id) + "/$value");
  req.headers[1] = {"Accept", "*/*"};
  req.timeout = std::chrono::minutes{5}; // up to 50 MB
  return req;
}

net::client_request categories_of(const std::string& graph_url,
                                  const std::string& access_token,
                                  const std::string& address,
                                  const std::string& graph_id) {
  return get(graph_url, access_token,
             messages_of(address) + net::percent_encode(graph_id) +
                 "?%24select=categories");
}

std::optional<std::vector<std::string>> read_categories(const std::string& body) {
  auto message = nlohmann::json::parse(body, nullptr, false);
  if (!message.is_object() || !message.contains("categories") ||
      !message["categories"].is_array())
    return std::nullopt;
  std::vector<std::string> out;
  for (const auto& c : message["categories"])
    if (c.is_string()) out.push_back(c);
  return out;
}

net::client_request
set_categories(const std::string& graph_url, const std::string& access_token,
               const std::string& address, const std::string& graph_id,
               const std::vector<std::string>& categories, bool mark_as_read) {
  auto req =
      get(graph_url, access_token, messages_of(address) + net::percent_encode(graph_id));
  req.method = "PATCH";
  nlohmann::json body = {{"categories", categories}};
  if (mark_as_read) body["isRead"] = true;
  req.body = body.dump();
  req.headers.emplace_back("Content-Type", "application/json");
  return req;
}

net::client_request send_mime(const std::string& graph_url,
                              const std::string& access_token, const std::string& address,
                              const std::string& mime) {
  auto req = get(graph_url, access_token,
                 "/users/" + net::percent_encode(address) + "/sendMail");
  req.method = "POST";
  req.body = net::base64_encode(mime);
  req.headers.emplace_back("Content-Type", "text/plain");
  return req;
}

net::client_request sent_copy(const std::string& graph_url,
                              const std::string& access_token, const std::string& address,
                              const std::string& internet_message_id) {
  // OData string literals double their quotes.
  std::string literal;
  for (char c : "<" + internet_message_id + ">") {
    literal.push_back(c);
    if (c == '\'') literal.push_back(c);
  }
  return get(graph_url, access_token,
             "/users/" + net::percent_encode(address) +
                 "/mailFolders/sentitems/messages?" +
                 net::encode_query({{"$filter", "internetMessageId eq '" + literal + "'"},
                                    {"$select", "id,internetMessageId"},
                                    {"$top", "1"}}));
}

std::optional<std::size_t> count_messages(const std::string& body) {
  auto page = nlohmann::json::parse(body, nullptr, false);
  if (!page.is_object() || !page.contains("value") || !page["value"].is_array())
    return std::nullopt;
  return page["value"].size();
}

error_info read_error(const net::client_response& res) {
  if (!res.ok()) return {net::to_string(res.error), res.error_message};
  auto body = nlohmann::json::parse(res.body, nullptr, false);
  error_info out;
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    const auto& e = body["error"];
    if (e.value("code", nlohmann::json{}).is_string()) out.code = e["code"];
    if (e.value("message", nlohmann::json{}).is_string()) out.message = e["message"];
  }
  if (out.code.empty()) out.code = "http_" + std::to_string(res.status);
  if (out.message.empty()) out.message = "Graph answered " + std::to_string(res.status);
  return out;
}

std::optional<std::chrono::milliseconds> retry_after(const net::client_response& res) {
  auto value = std::string{res.header("Retry-After")};
  if (value.empty()) return std::nullopt;
  char* end = nullptr;
  auto seconds = std::strtod(value.c_str(), &end);
  if (end != value.c_str() && *end == '\0' && seconds >= 0 && seconds < 86'400)
    return std::chrono::milliseconds{static_cast<std::int64_t>(seconds * 1000)};
  if (auto date = net::parse_http_date(value)) {
    auto wait = *date - std::chrono::system_clock::now();
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(wait, decltype(wait){0}));
  }
  return std::nullopt;
}

bool transient(const net::client_response& res) {
  return !res.ok() || res.status == 429 || res.status >= 500;
}

bool token_refused(const net::client_response& res) {
  return res.ok() && res.status == 401;
}

} // namespace exc::graph

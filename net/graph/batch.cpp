#include "net/graph/batch.hpp"

#include "net/json_text.hpp"
#include "net/url.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace exc::graph {

namespace {

bool is_authorization(const std::string& name) {
  return net::iequals(name, "Authorization");
}

net::client_response broken(std::string why) {
  net::client_response res;
  res.error = net::transport_error::protocol;
  res.error_message = "Graph's batch answer: " + std::move(why);
  return res;
}

/// The inner answer `item` as a plain response: its body back in the text it had
/// (JSON, or a string for anything else, which Graph sends base64-encoded).
net::client_response answer_of(const nlohmann::json& item) {
  auto status = item.find("status");
  if (status == item.end() || !status->is_number_unsigned())
    return broken("an answer has no status");
  net::client_response res;
  res.status = status->get<unsigned>();
  if (auto h = item.find("headers"); h != item.end() && h->is_object())
    for (const auto& [name, value] : h->items())
      if (value.is_string()) res.headers.emplace_back(name, value.get<std::string>());
  if (auto body = item.find("body"); body != item.end()) {
    if (!body->is_string()) {
      res.body = body->dump();
    } else if (auto raw = net::base64_decode(body->get<std::string>())) {
      res.body = std::move(*raw);
    } else {
      return broken("an answer's body is neither JSON nor base64");
    }
  }
  return res;
}

} // namespace

bool batchable(const net::client_request& req, const std::string& graph_url) {
  if (req.method != "GET" || graph_url.empty()) return false;
  if (req.url.size() <= graph_url.size() + 1 ||
      req.url.compare(0, graph_url.size(), graph_url) != 0 ||
      req.url[graph_url.size()] != '/')
    return false;
  return std::any_of(req.headers.begin(), req.headers.end(),
                     [](const auto& h) { return is_authorization(h.first); });
}

net::client_request batch_of(const std::string& graph_url,
                             const std::vector<const net::client_request*>& inner) {
  net::client_request out;
  out.method = "POST";
  out.url = graph_url + "/$batch";
  out.timeout = std::chrono::milliseconds{0};
  auto& body = out.body;
  body = R"({"requests":[)";
  for (std::size_t i = 0; i < inner.size(); ++i) {
    const auto& req = *inner[i];
    body += i ? R"(,{"id":")" : R"({"id":")";
    body += std::to_string(i);
    body += R"(","method":)";
    net::append_json_string(body, req.method);
    body += R"(,"url":)";
    net::append_json_string(body, req.url.substr(graph_url.size()));
    bool first = true; // the request's own headers, but for the token (the batch's)
    for (std::size_t h = 0; h < req.headers.size(); ++h) {
      const auto& [name, value] = req.headers[h];
      if (is_authorization(name)) {
        if (out.headers.empty()) out.headers.emplace_back(name, value);
        continue;
      }
      // A name given twice: its last value (as an object holds one per name).
      bool later = std::any_of(req.headers.begin() + static_cast<std::ptrdiff_t>(h) + 1,
                               req.headers.end(),
                               [&](const auto& other) { return other.first == name; });
      if (later) continue;
      body += first ? R"(,"headers":{)" : ",";
      first = false;
      net::append_json_string(body, name);
      body += ':';
      net::append_json_string(body, value);
    }
    if (!first) body += '}';
    body += '}';
    out.timeout = std::max(out.timeout, req.timeout);
  }
  body += "]}";
  out.headers.emplace_back("Accept", "application/json");
  out.headers.emplace_back("Content-Type", "application/json");
  return out;
}

std::vector<net::client_response> answers_of(const net::client_response& outer,
                                             std::size_t count) {
  if (!outer.ok() || outer.status != 200)
    return std::vector<net::client_response>(count, outer);
  auto doc = nlohmann::json::parse(outer.body, nullptr, false);
  auto list = doc.is_object() ? doc.find("responses") : doc.end();
  if (!doc.is_object() || list == doc.end() || !list->is_array())
    return std::vector<net::client_response>(count, broken("no list of responses"));
  std::vector<net::client_response> out(count, broken("the request has no answer"));
  std::vector<bool> seen(count, false);
  for (const auto& item : *list) {
    if (!item.is_object()) continue;
    auto id = item.find("id");
    if (id == item.end() || !id->is_string()) continue;
    const auto& text = id->get_ref<const std::string&>();
    // Ids are the indexes batch_of gave: "0".."19", nothing else.
    if (text.empty() || text.size() > 2 ||
        !std::all_of(text.begin(), text.end(),
                     [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    auto i = static_cast<std::size_t>(std::stoul(text));
    if (i >= count || seen[i]) continue;
    seen[i] = true;
    out[i] = answer_of(item);
  }
  return out;
}

} // namespace exc::graph

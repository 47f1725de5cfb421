// POST /v1.0/$batch: Graph's JSON batching. Each inner request runs as if it had come
// on its own, with the batch's Authorization header: it is authenticated, limited,
// throttled and counted under its own endpoint, and its answer (status, headers, body)
// becomes one item of the batch's answer. The batch itself answers 200 once every item
// is in, or 400 when it is not a batch Graph would take.

#include "simulator.hpp"

#include "net/json_text.hpp"
#include "net/url.hpp"

#include <algorithm>
#include <iterator>
#include <set>

namespace graph_sim {

namespace {

namespace http = boost::beast::http;
using json = nlohmann::json;

/// The answers of one batch, filled in by its items' responders from any thread.
class batch_answers {
public:
  batch_answers(std::size_t count, std::vector<std::string> ids, net::responder_ptr out)
      : ids_{std::move(ids)}, items_(count), out_{std::move(out)}, missing_{count} {}

  /// Item i's answer (none: its connection was dropped, which drops the batch's).
  void put(std::size_t i, std::optional<net::response> res) {
    std::unique_lock<std::mutex> guard{mutex_};
    if (!res) dropped_ = true;
    items_[i] = std::move(res);
    if (--missing_ > 0) return;
    guard.unlock();
    if (dropped_) return out_->close();
    // Written out, not built as a document: a batch of 20 listings comes for every 20
    // polls (100,000 mailboxes: 5,000 batches in a start's few seconds).
    std::string body = R"({"responses":[)";
    for (std::size_t k = 0; k < items_.size(); ++k) {
      if (k) body += ',';
      append_item(body, ids_[k], *items_[k]);
    }
    body += "]}";
    net::response res_out{http::status::ok, 11};
    res_out.set(http::field::content_type, "application/json");
    res_out.body() = std::move(body);
    out_->send(std::move(res_out));
  }

private:
  /// Graph's form of an inner answer: a JSON body as JSON, any other base64-encoded;
  /// a header given twice with its last value (as a JSON object holds one per name).
  static void append_item(std::string& out, const std::string& id,
                          const net::response& res) {
    out += R"({"id":)";
    net::append_json_string(out, id);
    out += R"(,"status":)";
    out += std::to_string(res.result_int());
    out += R"(,"headers":{)";
    bool first = true;
    for (auto field = res.begin(); field != res.end(); ++field) {
      auto name = field->name_string();
      if (net::iequals(name, "Content-Length") || net::iequals(name, "Date")) continue;
      bool later = std::any_of(std::next(field), res.end(), [&](const auto& other) {
        return other.name_string() == name;
      });
      if (later) continue;
      if (!first) out += ',';
      first = false;
      net::append_json_string(out, name);
      out += ':';
      net::append_json_string(out, field->value());
    }
    out += '}';
    const auto& body = res.body();
    if (!body.empty()) {
      out += R"(,"body":)";
      // Checked, not parsed: an answer a fault made malformed goes as base64.
      auto type = res[http::field::content_type];
      if (type.find("json") != boost::string_view::npos && json::accept(body))
        out += body;
      else
        net::append_json_string(out, net::base64_encode(body));
    }
    out += '}';
  }

  std::mutex mutex_;
  std::vector<std::string> ids_;
  std::vector<std::optional<net::response>> items_;
  net::responder_ptr out_;
  std::size_t missing_;
  bool dropped_ = false;
};

/// The responder of one inner request.
class batch_item : public net::responder {
public:
  batch_item(std::shared_ptr<batch_answers> all, std::size_t index)
      : all_{std::move(all)}, index_{index} {}
  /// Like the server's own responders: one that never answered answers 500.
  ~batch_item() override {
    if (!answered_.exchange(true)) {
      net::response res{http::status::internal_server_error, 11};
      all_->put(index_, std::move(res));
    }
  }
  void send(net::response res) override {
    if (!answered_.exchange(true)) all_->put(index_, std::move(res));
  }
  void close() override {
    if (!answered_.exchange(true)) all_->put(index_, std::nullopt);
  }

private:
  std::shared_ptr<batch_answers> all_;
  std::size_t index_;
  std::atomic<bool> answered_{false};
};

/// What is wrong with the batch's body, or "" when Graph would take it.
std::string check_batch(const json& body) {
  if (!body.is_object() || !body.contains("requests") || !body["requests"].is_array())
    return "Invalid batch payload format.";
  const auto& requests = body["requests"];
  if (requests.empty()) return "Invalid batch payload format: no requests.";
  if (requests.size() > 20)
    return "The number of requests in the batch exceeds the maximum of 20.";
  std::set<std::string> ids;
  for (const auto& r : requests) {
    if (!r.is_object() || !r.contains("id") || !r["id"].is_string() ||
        !r.contains("method") || !r["method"].is_string() || !r.contains("url") ||
        !r["url"].is_string())
      return "Invalid batch payload format: each request needs id, method and url.";
    if (!ids.insert(r["id"].get<std::string>()).second)
      return "Request ids in a batch must be unique.";
    auto url = r["url"].get<std::string>();
    if (url.empty() || url.front() != '/' || url.find("://") != std::string::npos)
      return "The url of a request in a batch must be relative, e.g. /me.";
    if (http::string_to_verb(r["method"].get<std::string>()) == http::verb::unknown)
      return "Unknown method in a batch request.";
    if (r.contains("headers") && !r["headers"].is_object())
      return "Invalid batch payload format: headers must be an object.";
    if (r.contains("dependsOn"))
      return "graph-sim does not run dependsOn: send dependent requests on their own.";
  }
  return {};
}

} // namespace

void simulator::route_batch(std::shared_ptr<call> c, const net::responder_ptr& out) {
  c->endpoint = "batch";
  auto body = json::parse(c->req.body(), nullptr, false);
  auto problem = c->req.method() != http::verb::post ? "Only POST is allowed on $batch."
                 : body.is_discarded()               ? "Invalid batch payload format."
                                                     : check_batch(body);
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (!problem.empty()) {
      auto res = graph_error(*c, c->req.method() != http::verb::post ? 405 : 400,
                             "BadRequest", problem);
      finish_graph(*c, res);
      return out->send(std::move(res));
    }
    // The batch is counted when it arrives; its items under their own endpoints.
    stats_.requests[c->endpoint][200]++;
  }
  const auto& requests = body["requests"];
  std::vector<std::string> ids;
  for (const auto& r : requests)
    ids.push_back(r["id"].get<std::string>());
  auto answers = std::make_shared<batch_answers>(requests.size(), std::move(ids), out);
  auto auth = std::string{c->req[http::field::authorization]};
  // The batch's host, so that links in inner answers (nextLink, deltaLink) are as
  // absolute as Graph's.
  auto host = std::string{c->req[http::field::host]};
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    net::request inner{http::string_to_verb(r["method"].get<std::string>()),
                       "/v1.0" + r["url"].get<std::string>(), 11};
    if (!auth.empty()) inner.set(http::field::authorization, auth);
    if (!host.empty()) inner.set(http::field::host, host);
    if (auto h = r.find("headers"); h != r.end())
      for (const auto& [name, value] : h->items())
        if (value.is_string()) inner.set(name, value.get<std::string>());
    if (auto b = r.find("body"); b != r.end()) {
      inner.body() = b->is_string() ? b->get<std::string>() : b->dump();
      inner.prepare_payload();
    }
    handle(std::move(inner), std::make_shared<batch_item>(answers, i));
  }
}

} // namespace graph_sim

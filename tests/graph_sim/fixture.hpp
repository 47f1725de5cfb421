#pragma once

#include "eventually.hpp"
#include "graph_sim_process.hpp"

#include <nlohmann/json.hpp>

#include <caf/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

/// One graph-sim process over TLS per test, with a registered app and a signed-in
/// user mailbox (support@contoso.test). Suites that need other switches derive from it
/// and pass them to the constructor.
struct sim_fixture {
  test::temp_dir dir;
  test::test_ca ca = test::test_ca::create(dir.path());
  test::graph_sim_process sim;
  test::graph_sim_process::app app;
  std::string mailbox = "support@contoso.test";
  std::string token;

  explicit sim_fixture(const std::vector<std::string>& args = {}) : sim(dir, ca, args) {
    app = sim.register_app();
    sim.create_mailbox(mailbox);
    token = sim.sign_in(app, mailbox).at("access_token");
  }

  /// Every test ends with a clean SIGTERM shutdown: exit status 0 (under the sanitizers
  /// this is also where LeakSanitizer checks graph-sim).
  ~sim_fixture() {
    if (sim.process().running()) CAF_CHECK_EQUAL(sim.process().stop(SIGTERM), 0);
  }

  /// An access token of the fixture's app for `login_hint`, granted only `scope`.
  std::string token_for(const std::string& scope, const std::string& login_hint = {}) {
    return sim.sign_in(app, login_hint.empty() ? mailbox : login_hint, scope)
        .at("access_token");
  }

  nlohmann::json stats() { return sim.control("GET", "/stats"); }

  /// A copy of the value at JSON pointer `pointer` in `j`, null if absent. Tests compare
  /// copies: CAF_CHECK_EQUAL binds its arguments by reference, so an element of a
  /// temporary (stats()["x"]) would dangle.
  static nlohmann::json at(const nlohmann::json& j, const std::string& pointer) {
    nlohmann::json::json_pointer ptr{pointer};
    return j.is_structured() && j.contains(ptr) ? j[ptr] : nlohmann::json{};
  }

  /// One value of GET /_sim/stats, e.g. stat("/throttled/concurrency").
  nlohmann::json stat(const std::string& pointer) { return at(stats(), pointer); }

  /// "/users/{address}/mailFolders/inbox/messages"
  static std::string inbox_of(const std::string& address) {
    return "/users/" + address + "/mailFolders/inbox/messages";
  }
  std::string inbox() const { return inbox_of(mailbox); }

  /// "/users/{mailbox}/messages/{id}"
  std::string message_path(const std::string& id) const {
    return "/users/" + mailbox + "/messages/" + id;
  }

  /// A Graph GET with the fixture's token.
  net::client_response get(const std::string& path) {
    return sim.graph("GET", path, token);
  }

  /// The control API's view of a mailbox's messages, by id (ids need no escaping in JSON
  /// pointers: they are base64url).
  nlohmann::json control_messages(const std::string& address) {
    nlohmann::json out = nlohmann::json::object();
    auto listed = sim.control("GET", "/mailboxes/" + address + "/messages");
    for (const auto& m : listed.at("messages"))
      out[m.at("id").get<std::string>()] = m;
    return out;
  }

  static nlohmann::json body(const net::client_response& res) {
    return nlohmann::json::parse(res.body, nullptr, false);
  }

  /// Graph's error code, or "<no error>" if the body is not Graph's error shape.
  static std::string error_code(const net::client_response& res) {
    auto j = body(res);
    if (!j.is_object() || !j.contains("error") || !j["error"].is_object())
      return "<no error>";
    return j["error"].value("code", "<no code>");
  }

  /// True if the body is {"error":{"code","message","innerError":{"date","request-id",
  /// "client-request-id"}}} with string values.
  static bool has_graph_error_shape(const net::client_response& res) {
    auto j = body(res);
    if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return false;
    const auto& e = j["error"];
    auto is_string = [](const nlohmann::json& o, const char* key) {
      return o.contains(key) && o[key].is_string();
    };
    if (!is_string(e, "code") || !is_string(e, "message") || !e.contains("innerError"))
      return false;
    const auto& inner = e["innerError"];
    return inner.is_object() && is_string(inner, "date") &&
           is_string(inner, "request-id") && is_string(inner, "client-request-id");
  }

  /// True if the body is Microsoft's OAuth error JSON: error, error_description starting
  /// with "AADSTS", a non-empty error_codes array, timestamp, trace_id, correlation_id.
  static bool has_aad_error_shape(const net::client_response& res) {
    auto j = body(res);
    if (!j.is_object()) return false;
    for (const char* key :
         {"error", "error_description", "timestamp", "trace_id", "correlation_id"})
      if (!j.contains(key) || !j[key].is_string() || j[key].get<std::string>().empty())
        return false;
    return j["error_description"].get<std::string>().rfind("AADSTS", 0) == 0 &&
           j.contains("error_codes") && j["error_codes"].is_array() &&
           !j["error_codes"].empty() && j["error_codes"][0].is_number_integer();
  }

  /// The OAuth error string, or "<no error>".
  static std::string oauth_error(const net::client_response& res) {
    auto j = body(res);
    if (!j.is_object() || !j.contains("error") || !j["error"].is_string())
      return "<no error>";
    return j["error"].get<std::string>();
  }

  /// The AADSTS codes of an OAuth error answer (empty if none).
  static std::vector<std::int64_t> aadsts_codes(const net::client_response& res) {
    std::vector<std::int64_t> out;
    auto j = body(res);
    if (j.is_object() && j.contains("error_codes") && j["error_codes"].is_array())
      for (const auto& c : j["error_codes"])
        if (c.is_number_integer()) out.push_back(c.get<std::int64_t>());
    return out;
  }

  /// The Retry-After header as seconds; nullopt if absent or not a number.
  static std::optional<double> retry_after(const net::client_response& res) {
    auto text = std::string{res.header("Retry-After")};
    if (text.empty()) return std::nullopt;
    char* end = nullptr;
    double seconds = std::strtod(text.c_str(), &end);
    if (*end != '\0') return std::nullopt;
    return seconds;
  }

  template <class Condition>
  static bool eventually(Condition condition,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return test::eventually(condition, timeout);
  }
};

#pragma once

#include "graph_sim_process.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

/// One graph-sim process over TLS per test, with a registered app and a signed-in
/// user mailbox (support@contoso.test).
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

  nlohmann::json stats() { return sim.control("GET", "/stats"); }

  static nlohmann::json body(const net::client_response& res) {
    return nlohmann::json::parse(res.body, nullptr, false);
  }

  static std::string error_code(const net::client_response& res) {
    auto j = body(res);
    if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return "<no error>";
    return j["error"].value("code", "<no code>");
  }
};

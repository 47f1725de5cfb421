#include "daemon_fixture.hpp"

#include <caf/test/unit_test.hpp>

#include <csignal>
#include <filesystem>

using nlohmann::json;

daemon_fixture::daemon_fixture(const std::vector<std::string>& sim_args)
    : sim(dir, ca, sim_args) {
  app = sim.register_app();
  test::write_file(dir.file("client.secret"), app.client_secret + "\n");
  std::filesystem::permissions(dir.file("client.secret"), std::filesystem::perms(0600));
}

// SIGTERM stops exconnectd with status 0 within 5 s, whatever it was doing (the
// contract; docs/architecture.md): every test's stop checks it.
constexpr std::chrono::seconds stop_within{5};

daemon_fixture::~daemon_fixture() {
  if (daemon && daemon->running()) CAF_CHECK_EQUAL(daemon->stop(SIGTERM, stop_within), 0);
  if (sim.process().running()) CAF_CHECK_EQUAL(sim.process().stop(SIGTERM), 0);
}

void daemon_fixture::start_daemon(const std::vector<std::string>& extra) {
  auto name = "exconnectd-" + std::to_string(++starts);
  std::vector<std::string> args{"--data-dir",
                                data,
                                "--listen",
                                "127.0.0.1:0",
                                "--port-file",
                                dir.file(name + ".port"),
                                "--graph-url",
                                sim.base() + "/v1.0",
                                "--login-url",
                                sim.base(),
                                "--ca-file",
                                ca.ca_file,
                                "--client-id",
                                app.client_id,
                                "--client-secret-file",
                                dir.file("client.secret"),
                                "--poll-interval",
                                "1"};
  args.insert(args.end(), daemon_args.begin(), daemon_args.end());
  args.insert(args.end(), extra.begin(), extra.end());
  daemon = std::make_unique<test::child_process>(EXC_EXCONNECTD_PATH, args,
                                                 dir.file(name + ".log"));
  port = daemon->wait_for_port(dir.file(name + ".port"));
  admin_token = test::read_file(data + "/admin.token");
  while (!admin_token.empty() && admin_token.back() == '\n')
    admin_token.pop_back();
}

void daemon_fixture::restart_daemon() {
  CAF_CHECK_EQUAL(daemon->stop(SIGTERM, stop_within), 0);
  start_daemon();
}

std::string daemon_fixture::daemon_logs() const {
  std::string all;
  for (int i = 1; i <= starts; ++i)
    all += test::read_file(dir.file("exconnectd-" + std::to_string(i) + ".log"));
  return all;
}

net::client_response daemon_fixture::call(const std::string& method,
                                          const std::string& path,
                                          const std::string& token,
                                          const std::string& body,
                                          net::header_list headers) {
  net::client_request req;
  req.method = method;
  req.url = path.rfind("http", 0) == 0
                ? path
                : "http://127.0.0.1:" + std::to_string(port) + path;
  req.body = body;
  req.headers = std::move(headers);
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  return client.request(std::move(req));
}

json daemon_fixture::call_json(const std::string& method, const std::string& path,
                               const std::string& token, const json& body,
                               unsigned expected_status) {
  auto res = call(method, path, token, body.is_null() ? std::string{} : body.dump());
  if (!res.ok() || res.status != expected_status)
    throw std::runtime_error(method + " " + path + " answered " +
                             std::to_string(res.status) + " " + res.body + " " +
                             res.error_message);
  return res.body.empty() ? json{} : json::parse(res.body);
}

json daemon_fixture::create_account(const std::string& name) {
  return call_json("POST", "/api/v1/accounts", admin_token, {{"name", name}}, 201);
}

json daemon_fixture::create_mailbox(const std::string& key, const std::string& address) {
  auto existing = sim.control("GET", "/mailboxes");
  bool known = false;
  for (const auto& m : existing.value("mailboxes", json::array()))
    if (m.is_object() && m.value("address", "") == address) known = true;
  if (!known) sim.create_mailbox(address);
  return call_json("POST", "/api/v1/mailboxes", key, {{"address", address}}, 201);
}

net::client_response daemon_fixture::follow(const std::string& authorize_url,
                                            const std::string& accept) {
  auto consent = sim.call("GET", authorize_url);
  if (!consent.ok() || consent.status != 302)
    throw std::runtime_error("authorize answered " + std::to_string(consent.status) +
                             " " + consent.body);
  auto location = std::string{consent.header("Location")};
  return call("GET", location, {}, {}, {{"Accept", accept}});
}

json daemon_fixture::connect(const std::string& key, const std::string& address) {
  auto mb = create_mailbox(key, address);
  auto done = follow(mb.at("authorize_url"));
  if (done.status != 200)
    throw std::runtime_error("callback answered " + std::to_string(done.status) + " " +
                             done.body);
  return json::parse(done.body);
}

json daemon_fixture::mailbox(const std::string& key, const std::string& id) {
  return call_json("GET", "/api/v1/mailboxes/" + id, key);
}

std::string daemon_fixture::error_code(const net::client_response& res) {
  auto j = json::parse(res.body, nullptr, false);
  return j.is_object() && j.contains("error") && j["error"].is_object()
             ? j["error"].value("code", "")
             : "<none>";
}

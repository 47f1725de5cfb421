#define CAF_SUITE daemon_process
#include <caf/test/unit_test.hpp>

#include "child_process.hpp"
#include "temp_dir.hpp"

#include "net/http_client.hpp"

#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <sys/stat.h>

using nlohmann::json;

namespace {

/// exconnectd as a real process on a port chosen at runtime, with its own data dir.
struct fixture {
  test::temp_dir dir;
  std::string data = dir.file("data");
  net::http_client client;

  std::unique_ptr<test::child_process> start(const std::string& name,
                                             std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--data-dir",  data,          "--listen",
                                  "127.0.0.1:0", "--port-file", dir.file(name + ".port")};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<test::child_process>(EXC_EXCONNECTD_PATH, args,
                                                 dir.file(name + ".log"));
  }

  net::client_response call(std::uint16_t port, const std::string& method,
                            const std::string& path, const std::string& body = {}) {
    net::client_request req;
    req.method = method;
    req.url = "http://127.0.0.1:" + std::to_string(port) + path;
    req.body = body;
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    return client.request(std::move(req));
  }

  static std::string error_code(const net::client_response& res) {
    auto j = json::parse(res.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "<none>";
  }

  static unsigned mode_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(daemon_process_tests, fixture)

CAF_TEST(the daemon serves healthz and stops cleanly on sigterm) {
  auto daemon = start("d1");
  auto port = daemon->wait_for_port(dir.file("d1.port"));
  auto health = call(port, "GET", "/healthz");
  CAF_REQUIRE(health.ok());
  CAF_CHECK_EQUAL(health.status, 200u);
  CAF_CHECK_EQUAL(json::parse(health.body).value("status", ""), "ok");
  CAF_CHECK_EQUAL(daemon->stop(SIGTERM), 0);
  CAF_CHECK_NOT_EQUAL(daemon->log().find("stopped"), std::string::npos);
}

CAF_TEST(first run creates private key and token files) {
  auto daemon = start("d1");
  daemon->wait_for_port(dir.file("d1.port"));
  CAF_CHECK_EQUAL(mode_of(data), 0700u);
  CAF_CHECK_EQUAL(mode_of(data + "/master.key"), 0600u);
  CAF_CHECK_EQUAL(mode_of(data + "/admin.token"), 0600u);
  // The token's path is logged, never the token.
  auto token = test::read_file(data + "/admin.token");
  token.pop_back();
  CAF_CHECK_NOT_EQUAL(daemon->log().find("admin.token"), std::string::npos);
  CAF_CHECK_EQUAL(daemon->log().find(token), std::string::npos);
  CAF_CHECK_EQUAL(daemon->stop(SIGINT), 0);
}

CAF_TEST(a second instance on the same data dir refuses to start) {
  auto first = start("d1");
  first->wait_for_port(dir.file("d1.port"));
  auto second = start("d2");
  CAF_CHECK_EQUAL(second->stop(0), 1); // signal 0: just wait for it to exit
  CAF_CHECK_NOT_EQUAL(second->log().find("in use by another process"), std::string::npos);
  CAF_CHECK(first->running());
  CAF_CHECK_EQUAL(first->stop(SIGTERM), 0);
}

CAF_TEST(unknown routes and oversized bodies get json errors) {
  auto daemon = start("d1");
  auto port = daemon->wait_for_port(dir.file("d1.port"));
  auto missing = call(port, "GET", "/nowhere");
  CAF_CHECK_EQUAL(missing.status, 404u);
  CAF_CHECK_EQUAL(error_code(missing), "not_found");
  auto big = call(port, "POST", "/api/v1/accounts", std::string(1024 * 1024 + 1, 'x'));
  CAF_REQUIRE(big.ok());
  CAF_CHECK_EQUAL(big.status, 413u);
  CAF_CHECK_EQUAL(error_code(big), "payload_too_large");
  CAF_CHECK_EQUAL(daemon->stop(SIGTERM), 0);
}

CAF_TEST(bad options exit 2 with a message and help lists the options) {
  auto bad = start("bad", {"--poll-interval", "often"});
  CAF_CHECK_EQUAL(bad->stop(0), 2);
  CAF_CHECK_NOT_EQUAL(bad->log().find("--poll-interval"), std::string::npos);
  auto help = start("help", {"--help"});
  CAF_CHECK_EQUAL(help->stop(0), 0);
  CAF_CHECK_NOT_EQUAL(help->log().find("EXCONNECT_DATA_DIR"), std::string::npos);
}

CAF_TEST(a secret file others may read or an empty one is refused) {
  test::write_file(dir.file("open.secret"), "s3cret\n");
  std::filesystem::permissions(dir.file("open.secret"), std::filesystem::perms(0644));
  auto open = start("open", {"--client-secret-file", dir.file("open.secret")});
  CAF_CHECK_EQUAL(open->stop(0), 1);
  CAF_CHECK_NOT_EQUAL(open->log().find("may be read by others (mode 0644)"),
                      std::string::npos);
  CAF_CHECK_EQUAL(open->log().find("s3cret"), std::string::npos);
  test::write_file(dir.file("empty.secret"), "\n");
  std::filesystem::permissions(dir.file("empty.secret"), std::filesystem::perms(0600));
  auto empty = start("empty", {"--client-secret-file", dir.file("empty.secret")});
  CAF_CHECK_EQUAL(empty->stop(0), 1);
  CAF_CHECK_NOT_EQUAL(empty->log().find("empty.secret is empty"), std::string::npos);
}

CAF_TEST(an unusable data dir is a clear error) {
  test::write_file(dir.file("file"), "x");
  auto daemon = std::make_unique<test::child_process>(
      EXC_EXCONNECTD_PATH,
      std::vector<std::string>{"--data-dir", dir.file("file"), "--listen", "127.0.0.1:0"},
      dir.file("d.log"));
  CAF_CHECK_EQUAL(daemon->stop(0), 1);
  CAF_CHECK_NOT_EQUAL(daemon->log().find("not a directory"), std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()

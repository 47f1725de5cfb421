// exconnectd: the daemon. Configuration, storage, the actor system and the HTTP server
// are wired here and nowhere else.
#include "actors/api.hpp"
#include "app/config.hpp"
#include "messages/error.hpp"
#include "net/http_server.hpp"
#include "storage/db.hpp"
#include "storage/secret_file.hpp"
#include "storage/vault.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>

namespace {

/// Turns a net::request into the API actor's message.
exc::http_request to_message(net::request&& req) {
  exc::http_request out;
  out.method = std::string{req.method_string()};
  out.target = std::string{req.target()};
  for (const auto& field : req)
    out.headers.emplace_back(field.name_string(), field.value());
  out.body = std::move(req.body());
  return out;
}

int fail(const std::string& message, int code = 1) {
  spdlog::error("{}", message);
  return code;
}

int run(const app::config& cfg) {
  auto db = storage::db::open(cfg.data_dir);
  if (!db)
    return fail("cannot use data dir " + cfg.data_dir + ": " + exc::render(db.error()));
  auto key = cfg.master_key_hex.empty()
                 ? storage::master_key::load_or_create(cfg.master_key_path())
                 : storage::master_key::from_hex(cfg.master_key_hex);
  if (!key) return fail("master key: " + exc::render(key.error()));
  spdlog::info("master key {} ({})", key->id(),
               cfg.master_key_hex.empty() ? cfg.master_key_path()
                                          : "EXCONNECT_MASTER_KEY");
  if (cfg.admin_token.empty()) {
    auto token = storage::read_or_create_secret_file(
        cfg.admin_token_path(), [] { return storage::random_token(); });
    if (!token) return fail("admin token: " + exc::render(token.error()));
    spdlog::info("admin token in {}", cfg.admin_token_path());
  }

  // Block the stop signals before any thread starts; this thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  caf::actor_system_config caf_cfg;
  caf::actor_system sys{caf_cfg};
  auto api = sys.spawn(exc::api, db->get());

  net::server_options http;
  http.address = cfg.listen_host;
  http.port = cfg.listen_port;
  http.body_limit = 1024 * 1024; // the contract: bodies over 1 MB get 413
  http.tls_cert_file = cfg.tls_cert_file;
  http.tls_key_file = cfg.tls_key_file;
  http.on_error = [](unsigned status, const std::string& message) {
    return exc::error_response(
        status, status == 413 ? "payload_too_large" : "bad_request", message);
  };
  int status = 0;
  try {
    net::http_server server{http, [api](net::request&& req, net::responder_ptr out) {
                              caf::anon_send(api, to_message(std::move(req)),
                                             std::move(out));
                            }};
    server.start();
    if (!cfg.port_file.empty()) {
      auto tmp = cfg.port_file + ".tmp";
      std::ofstream{tmp} << server.port() << "\n";
      if (std::rename(tmp.c_str(), cfg.port_file.c_str()) != 0)
        spdlog::error("cannot write port file {}", cfg.port_file);
    }
    spdlog::info("listening on {}://{}:{}", cfg.tls_cert_file.empty() ? "http" : "https",
                 cfg.listen_host, server.port());
    int sig = 0;
    sigwait(&stop_signals, &sig);
    spdlog::info("stopping on signal {}", sig);
    server.stop();
  } catch (const std::exception& e) {
    status = fail(std::string{"cannot serve HTTP: "} + e.what());
  }
  caf::anon_send_exit(api, caf::exit_reason::user_shutdown);
  sys.await_all_actors_done();
  spdlog::info("stopped");
  return status;
}

} // namespace

int main(int argc, char** argv) {
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ exconnectd: %v",
                      spdlog::pattern_time_type::utc);
  auto cfg = app::parse_config({argv + 1, argv + argc}, app::exconnect_environment());
  if (!cfg) {
    std::cerr << "exconnectd: " << exc::render(cfg.error()) << "\n";
    return 2;
  }
  if (cfg->help) {
    std::cout << app::usage();
    return 0;
  }
  return run(*cfg);
}

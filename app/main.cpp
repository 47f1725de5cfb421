// exconnectd: the daemon. Configuration, storage, the actor system and the HTTP server
// are wired here and nowhere else.
#include "actors/converter.hpp"
#include "actors/graph_batcher.hpp"
#include "actors/helpdesk.hpp"
#include "actors/http_client.hpp"
#include "actors/registry.hpp"
#include "actors/rest_front.hpp"
#include "actors/sender.hpp"
#include "actors/storage_writer.hpp"
#include "actors/supervisor.hpp"
#include "actors/token_service.hpp"
#include "actors/webhook_dispatcher.hpp"
#include "app/config.hpp"
#include "app/rest/responses.hpp"
#include "messages/error.hpp"
#include "messages/services.hpp"
#include "messages/token_cache.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/metrics.hpp"
#include "storage/credentials.hpp"
#include "storage/db.hpp"
#include "storage/secret_file.hpp"
#include "storage/vault.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <caf/spawn_options.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <thread>

namespace {

int fail(const std::string& message, int code = 1) {
  spdlog::error("{}", message);
  return code;
}

/// The scopes every mailbox grant asks for (../shared/api.md).
const char* const graph_scope =
    "offline_access https://graph.microsoft.com/Mail.ReadWrite.Shared "
    "https://graph.microsoft.com/Mail.Send.Shared";

/// The client secret: the secret file, else EXCONNECT_CLIENT_SECRET, else none (the
/// config drops the env value when the command line names a file).
caf::expected<std::string> client_secret(const app::config& cfg) {
  if (!cfg.client_secret.empty() || cfg.client_secret_file.empty())
    return cfg.client_secret;
  return storage::read_secret_file(cfg.client_secret_file);
}

/// The secret that signs ticket tokens: made once, kept sealed in the database.
caf::expected<std::string> ticket_token_key(storage::db& db,
                                            const storage::vault& vault) {
  const std::string record = "meta/ticket_token_key";
  auto stored = db.get(storage::family::meta, "ticket_token_key");
  if (!stored) return stored.error();
  std::string key;
  if (*stored) {
    auto opened = vault.open(record, **stored);
    if (!opened) return opened.error();
    if (!vault.needs_reseal(**stored)) return opened;
    key = std::move(*opened); // sealed with a previous master key: reseal it
  } else {
    key = storage::random_token();
  }
  auto sealed = vault.seal(record, key);
  if (!sealed) return sealed.error();
  if (auto err = db.put(storage::family::meta, "ticket_token_key", *sealed)) return err;
  return key;
}

std::string public_url(const app::config& cfg, std::uint16_t port) {
  if (!cfg.public_url.empty()) {
    auto url = cfg.public_url;
    while (!url.empty() && url.back() == '/')
      url.pop_back();
    return url;
  }
  auto host = cfg.listen_host.find(':') != std::string::npos ? "[" + cfg.listen_host + "]"
                                                             : cfg.listen_host;
  return (cfg.tls_cert_file.empty() ? "http://" : "https://") + host + ":" +
         std::to_string(port);
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
  std::vector<storage::master_key> previous_keys;
  if (!cfg.previous_master_key_file.empty()) {
    auto hex = storage::read_secret_file(cfg.previous_master_key_file);
    if (!hex) return fail("--previous-master-key-file: " + exc::render(hex.error()));
    auto previous = storage::master_key::from_hex(*hex);
    if (!previous)
      return fail("--previous-master-key-file " + cfg.previous_master_key_file +
                  ": expected 64 hex digits");
    spdlog::info("previous master key {} (records sealed with it are resealed with {})",
                 previous->id(), key->id());
    previous_keys.push_back(*previous);
  }
  auto admin_token = cfg.admin_token;
  if (admin_token.empty()) {
    auto token = storage::read_or_create_secret_file(
        cfg.admin_token_path(), [] { return storage::random_token(); });
    if (!token) return fail("admin token: " + exc::render(token.error()));
    admin_token = *token;
    spdlog::info("admin token in {}", cfg.admin_token_path());
  }
  auto secret = client_secret(cfg);
  if (!secret) return fail(exc::render(secret.error()));
  if (cfg.client_id.empty())
    spdlog::warn("no --client-id: mailboxes cannot be connected until one is configured");

  // Block the stop signals before any thread starts; this thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGUSR1); // the supervisor gave up
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  storage::vault vault{*key, previous_keys};
  storage::credential_store credentials{**db, vault};
  storage::helpdesk_store helpdesk_store{**db};
  storage::throttle_store throttle_store{**db};
  storage::outbox_store outbox_store{**db};
  storage::webhook_store webhook_store{**db};
  auto token_key = ticket_token_key(**db, vault);
  if (!token_key) return fail("ticket token key: " + exc::render(token_key.error()));
  exc::address_book connected;
  // Two CONVERTERs: parsing runs on their own threads, beside the scheduler's.
  const std::uint32_t converter_count = 2;
  exc::converter_load converter_load{converter_count, cfg.conversion_budget};
  exc::presence present;   // which MAILBOXes and SENDERs exist
  exc::token_cache tokens; // the TOKEN SERVICE's fresh tokens, for every Graph call
  std::atomic<bool> gave_up{false};
  std::atomic<bool> conversions_called_off{false}; ///< set as the CONVERTERs stop
  exc::supervisor_actor supervisor;
  net::metrics metrics;
  exc::graph_budget graph_budget{cfg.graph_budget, &metrics}; // every Graph request
  // Filling from here: while the store opens and the REGISTRY loads (about a second at
  // 100,000 mailboxes) it fills up to its burst, which a restart's first polls take.
  graph_budget.start(caf::actor_clock::clock_type::now());
  std::unique_ptr<net::http_client> outbound;
  try {
    net::client_options options;
    options.ca_file = cfg.ca_file;
    // One I/O thread: at 10,000 mailboxes it used 0.042 instead of 0.059 core (each
    // thread that sleeps and wakes costs), and neither a restart of 100,000 (21.9 s
    // instead of 19.9-21.2 s) nor ingest (1,523 instead of 1,566 mails/s) needed a
    // second one (docs/benchmarks.md#idle-scale).
    options.threads = 1;
    // All mailboxes share the connections to Graph: kept alive, or each request pays a
    // TLS handshake; and capped, or a burst of polls opens more handshakes at once than
    // the server completes in time.
    options.max_connections_per_host = cfg.graph_connections;
    metrics.describe("exconnect_graph_connection_waits_total", "counter",
                     "Graph and login requests that found --graph-connections "
                     "connections to their host in use and waited for one.");
    options.on_wait = [&metrics] {
      metrics.add("exconnect_graph_connection_waits_total", {});
    };
    outbound = std::make_unique<net::http_client>(options);
  } catch (const std::exception& e) {
    return fail(std::string{"--ca-file: "} + e.what());
  }

  caf::actor_system_config caf_cfg;
  // One scheduler thread per core (CAF's default is at least 4), and idle threads that
  // soon stop polling for work: a thread that polls takes a core from the detached
  // actors and the HTTP client's threads (measured in docs/benchmarks.md#ingest). After
  // a few spins an idle worker waits on its condition variable at once: the 50 µs naps
  // of CAF's moderate polling cost more CPU per poll than they save (idle-scale).
  caf_cfg.set("scheduler.max-threads",
              static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  caf_cfg.set("work-stealing.aggressive-poll-attempts", 10);
  caf_cfg.set("work-stealing.moderate-poll-attempts", 0);
  caf::actor_system sys{caf_cfg};
  exc::token_service_config token_cfg;
  token_cfg.token_url = cfg.login_url + "/" + cfg.tenant + "/oauth2/v2.0/token";
  token_cfg.login_url = cfg.login_url; // app-only tokens: per tenant
  token_cfg.client_id = cfg.client_id;
  token_cfg.client_secret = *secret;
  if (cfg.client_secret.empty()) token_cfg.client_secret_file = cfg.client_secret_file;
  token_cfg.scope = graph_scope;
  exc::describe_sender_metrics(metrics);
  exc::describe_webhook_metrics(metrics);

  net::server_options http_options;
  http_options.address = cfg.listen_host;
  http_options.port = cfg.listen_port;
  http_options.body_limit = 1024 * 1024; // the contract: bodies over 1 MB get 413
  http_options.tls_cert_file = cfg.tls_cert_file;
  http_options.tls_key_file = cfg.tls_key_file;
  http_options.max_connections = cfg.http_max_connections;
  http_options.read_timeout = cfg.http_idle_timeout;
  metrics.describe("exconnect_http_accept_errors_total", "counter",
                   "Connections the API listener failed to accept (e.g. out of file "
                   "descriptors); it backs off while they fail.");
  http_options.on_accept_error = [&metrics](const std::string& reason) {
    metrics.add("exconnect_http_accept_errors_total", {});
    spdlog::warn("http: accept failed: {}; backing off", reason);
  };
  // A request's body is read only once the REST front has routed and authenticated it.
  http_options.on_header = [&sys](const net::request& req, net::admission_ptr decide) {
    auto rest = exc::service::get<exc::rest_actor>(sys);
    caf::anon_send(rest, exc::rest::to_message(req), std::move(decide));
  };
  http_options.on_error = [&metrics](unsigned status, const std::string& message) {
    metrics.add(
        "exconnect_http_requests_total",
        {{"route", "transport"}, {"method", ""}, {"status", std::to_string(status)}});
    return exc::rest::error_response(
        status, status == 413 ? "payload_too_large" : "bad_request", message);
  };
  int status = 0;
  try {
    net::http_server server{
        http_options, [&sys](net::request&& req, net::responder_ptr out) {
          // Found by name: the REST front that runs now.
          auto rest = exc::service::get<exc::rest_actor>(sys);
          caf::anon_send(rest, exc::rest::to_message(std::move(req)), std::move(out));
        }};
    exc::registry_config registry_cfg;
    registry_cfg.public_url = public_url(cfg, server.port());
    registry_cfg.authorize_url =
        cfg.login_url + "/" + cfg.tenant + "/oauth2/v2.0/authorize";
    registry_cfg.admin_consent_url = cfg.login_url + "/" + cfg.tenant + "/adminconsent";
    registry_cfg.graph_url = cfg.graph_url;
    registry_cfg.client_id = cfg.client_id;
    registry_cfg.scope = graph_scope;
    registry_cfg.poll_interval = cfg.poll_interval;
    if (cfg.push_notifications.value_or(registry_cfg.public_url.rfind("https://", 0) ==
                                        0)) {
      registry_cfg.push.notification_url =
          registry_cfg.public_url + "/graph/notifications";
      registry_cfg.push.lifecycle_url = registry_cfg.public_url + "/graph/lifecycle";
      registry_cfg.push.lifetime = cfg.subscription_lifetime;
      registry_cfg.push.poll_interval = cfg.push_poll_interval;
      if (registry_cfg.public_url.rfind("https://", 0) != 0)
        spdlog::warn("change notifications go to {}/graph/notifications, but Microsoft "
                     "delivers them only to https:// URLs it can reach (fine for "
                     "graph-sim on loopback)",
                     registry_cfg.public_url);
    }
    registry_cfg.state_lifetime = cfg.authorization_timeout;
    registry_cfg.sign_in_attempts = cfg.sign_in_attempts;
    registry_cfg.max_pending = cfg.max_pending_mailboxes;
    registry_cfg.fetch_rate = cfg.fetch_rate;
    registry_cfg.send_rate = cfg.send_rate;
    registry_cfg.send_bytes = cfg.send_bytes;
    registry_cfg.send_recipients = cfg.send_recipients;
    registry_cfg.sent_items_grace = cfg.sent_items_grace;
    registry_cfg.max_message_size = cfg.max_message_size;
    registry_cfg.max_attempts = cfg.max_attempts;
    registry_cfg.retry_initial = cfg.retry_initial;
    registry_cfg.first_polls_at_once = cfg.graph_connections;
    exc::registry_stores registry_stores{db->get(),       &vault,          &metrics,
                                         &helpdesk_store, &throttle_store, &outbox_store,
                                         &connected,      &converter_load, &present,
                                         &graph_budget,   &tokens};
    exc::rest_config rest_cfg;
    rest_cfg.admin_token = admin_token;
    rest_cfg.poll_interval = cfg.poll_interval;
    rest_cfg.fetch_rate = cfg.fetch_rate;
    rest_cfg.send_rate = cfg.send_rate;
    exc::rest_stores rest_stores{&metrics, &helpdesk_store, &outbox_store, &connected,
                                 &webhook_store};
    exc::webhook_dispatcher_config webhook_cfg;
    webhook_cfg.park_after = cfg.webhook_park_after;
    webhook_cfg.retry_max = cfg.webhook_retry_max;
    webhook_cfg.parked_retention = cfg.webhook_parked_retention;

    // The services, in the order they start (each may use those before it; they stop
    // in the reverse order). Detached: the STORAGE WRITER waits for fsync, the HELPDESK
    // reads and rewrites whole tickets, the CONVERTERs parse large mail.
    std::vector<exc::service_spec> services;
    services.push_back({"storage_writer", true, [&](caf::local_actor* self) {
                          auto h = self->spawn<caf::monitored + caf::detached>(
                              exc::storage_writer, db->get(), &metrics, true);
                          exc::service::put(
                              self->system(),
                              caf::actor_cast<exc::storage_writer_actor>(h));
                          return caf::actor_cast<caf::actor>(h);
                        }});
    services.push_back(
        {"http_client", true, [&](caf::local_actor* self) {
           auto h = self->spawn<caf::monitored>(exc::http_client, outbound.get());
           exc::service::put(self->system(), caf::actor_cast<exc::http_actor>(h));
           return caf::actor_cast<caf::actor>(h);
         }});
    exc::graph_batcher_config batcher_cfg;
    batcher_cfg.graph_url = cfg.graph_url;
    batcher_cfg.batch_size = cfg.graph_batch_size;
    services.push_back({"graph_batcher", true, [&, batcher_cfg](caf::local_actor* self) {
                          auto h = self->spawn<caf::monitored>(exc::graph_batcher,
                                                               batcher_cfg);
                          exc::service::put(self->system(), h);
                          return caf::actor_cast<caf::actor>(h);
                        }});
    services.push_back({"token_service", true, [&](caf::local_actor* self) {
                          auto h = self->spawn<caf::monitored>(exc::token_service,
                                                               token_cfg, &credentials,
                                                               &metrics, &tokens);
                          exc::service::put(self->system(), h);
                          return caf::actor_cast<caf::actor>(h);
                        }});
    services.push_back({"helpdesk", true, [&](caf::local_actor* self) {
                          auto h = self->spawn<caf::monitored + caf::detached>(
                              exc::helpdesk, &helpdesk_store, &outbox_store, &connected,
                              &metrics, *token_key, cfg.tickets);
                          exc::service::put(self->system(),
                                            caf::actor_cast<exc::helpdesk_actor>(h));
                          return caf::actor_cast<caf::actor>(h);
                        }});
    for (std::uint32_t i = 0; i < converter_count; ++i)
      services.push_back({"converter", true,
                          [&, i](caf::local_actor* self) {
                            auto h = self->spawn<caf::monitored + caf::detached>(
                                exc::converter, &connected, cfg.conversion_timeout,
                                &conversions_called_off);
                            exc::service::put(self->system(),
                                              exc::service::converter_name(i), h);
                            return caf::actor_cast<caf::actor>(h);
                          },
                          // Stopping: a conversion under way ends now, not at its
                          // budget (its FETCHER is gone by then: it stopped first).
                          [&] { conversions_called_off = true; }});
    services.push_back(
        {"webhooks", true, [&, webhook_cfg](caf::local_actor* self) {
           auto h = self->spawn<caf::monitored>(
               exc::webhook_dispatcher, webhook_cfg,
               exc::webhook_dispatcher_peers{&webhook_store, &vault, &metrics});
           exc::service::put(self->system(), h);
           return caf::actor_cast<caf::actor>(h);
         }});
    // Restarted like any service: its MAILBOXes monitor it and end with it, and
    // the new one starts a mailbox's MAILBOX only once the old one is gone (presence).
    bool registry_started = false; // only the SUPERVISOR's thread touches it
    services.push_back({"registry", true, [&](caf::local_actor* self) {
                          auto this_cfg = registry_cfg;
                          this_cfg.first_in_process = !registry_started;
                          registry_started = true;
                          auto h = self->spawn<caf::monitored>(exc::registry, this_cfg,
                                                               registry_stores);
                          exc::service::put(self->system(), h);
                          return caf::actor_cast<caf::actor>(h);
                        }});
    // Configuration and handles only: restarted like any service.
    std::promise<void> rest_up;
    bool rest_started = false; // only the SUPERVISOR's thread touches it
    services.push_back({"rest", true, [&](caf::local_actor* self) {
                          auto h = self->spawn<caf::monitored>(exc::rest_front, rest_cfg,
                                                               rest_stores);
                          exc::service::put(self->system(), h);
                          if (!rest_started) { // a promise is kept once
                            rest_started = true;
                            rest_up.set_value();
                          }
                          return caf::actor_cast<caf::actor>(h);
                        }});
    auto main_thread = pthread_self();
    supervisor = sys.spawn(exc::supervisor, exc::supervisor_config{}, std::move(services),
                           &metrics, [&gave_up, main_thread](const std::string&) {
                             gave_up = true;
                             pthread_kill(main_thread, SIGUSR1); // wakes sigwait
                           });
    // However this block ends (a signal, an exception), every actor is down before the
    // locals the services' start functions capture go: a restart never reads them dead.
    struct stop_all_actors {
      caf::actor_system& sys;
      exc::supervisor_actor& supervisor;
      ~stop_all_actors() {
        caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
        sys.await_all_actors_done();
      }
    } stop_guard{sys, supervisor};
    rest_up.get_future().wait(); // before the server accepts requests for it
    server.start();
    if (!cfg.port_file.empty() && !net::write_port_file(cfg.port_file, server.port()))
      spdlog::error("cannot write port file {}", cfg.port_file);
    spdlog::info("listening on {}://{}:{} (public URL {})",
                 cfg.tls_cert_file.empty() ? "http" : "https", cfg.listen_host,
                 server.port(), registry_cfg.public_url);
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (gave_up) {
      spdlog::error("stopping: the supervisor gave up (see above)");
      status = 1;
    } else {
      spdlog::info("stopping on signal {}", sig);
    }
    server.stop();
  } catch (const std::exception& e) {
    status = fail(std::string{"cannot serve HTTP: "} + e.what());
  }
  sys.await_all_actors_done(); // a failure before the SUPERVISOR started left others
  exc::service::forget_all(sys, converter_count);
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

// What an idle MAILBOX costs: spawns N mailbox actors the way the API does (each with
// its config, its poll timer and its peers; its SENDER finds an empty outbox and is
// ended), lets each finish a first poll whose listing fails at once (so none holds a
// request, and no FETCHER starts), and prints the resident memory per mailbox.
// Usage: bench-mailbox-memory [N]   (default 100000)
#include "actors/mailbox.hpp"
#include "actors/storage_writer.hpp"
#include "messages/error.hpp"
#include "messages/services.hpp"
#include "storage/db.hpp"
#include "storage/helpdesk.hpp"
#include "storage/outbox.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/spawn_options.hpp>

#include <spdlog/spdlog.h>

#include <malloc.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace exc;

/// Resident set size in bytes, from /proc/self/statm.
std::size_t rss() {
  std::ifstream statm{"/proc/self/statm"};
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

std::atomic<std::size_t> polls{0};

/// A TOKEN SERVICE that has no token for anyone: each first poll ends at once.
token_service_actor::behavior_type no_tokens(token_service_actor::pointer) {
  return {
      [](atom::token, const std::string&) -> caf::result<std::string> {
        return make_error(ec::token_unavailable, "benchmark");
      },
      [](atom::redeem, const std::string&, const std::string&,
         const std::string&) -> caf::result<token_grant> {
        return make_error(ec::token_unavailable, "benchmark");
      },
      [](atom::adopt, const std::string&, const token_grant&) { return true; },
      [](atom::invalidate, const std::string&, const std::string&) {},
      [](atom::forget, const std::string&) { return true; },
      [](atom::subscribe, const token_events_actor&) {},
  };
}

poll_listener_actor::behavior_type counting_listener(poll_listener_actor::pointer) {
  return {
      [](atom::polled, const std::string&, const poll_result&) { ++polls; },
  };
}

http_actor::behavior_type no_http(http_actor::pointer) {
  return {
      [](const net::client_request&) { return net::client_response{}; },
  };
}

} // namespace

int main(int argc, char** argv) {
  std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100'000;
  spdlog::set_level(spdlog::level::err); // each failed first poll would warn
  auto dir = std::filesystem::temp_directory_path() /
             ("exconnect-bench-" + std::to_string(::getpid()));
  auto db = storage::db::open(dir.string());
  if (!db) {
    std::cerr << "cannot open a database in " << dir << "\n";
    return 1;
  }
  storage::helpdesk_store store{**db};
  storage::outbox_store outbox{**db};
  net::metrics metrics;
  exc::converter_load converters{2}; // outlive the actor system: its actors use them
  exc::presence present;
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  {
    caf::actor_system sys{cfg};
    auto tokens = sys.spawn(no_tokens);
    auto listener = sys.spawn(counting_listener);
    auto http = sys.spawn(no_http);
    auto writer =
        sys.spawn<caf::detached>(exc::storage_writer, db->get(), &metrics, true);
    exc::service::put(sys, tokens);
    exc::service::put(sys, http);
    exc::service::put(sys, caf::actor_cast<exc::storage_writer_actor>(writer));
    std::vector<mailbox_actor> boxes;
    boxes.reserve(n);
    std::this_thread::sleep_for(std::chrono::milliseconds(200)); // let the system settle
    malloc_trim(0);
    auto before = rss();
    auto started = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      mailbox_config mc;
      mc.id = "mbx_" + std::to_string(1'000'000'000'000 + i); // as long as real ids
      mc.account_id = "acc_" + std::to_string(1'000'000'000'000 + i / 10);
      mc.address =
          "support" + std::to_string(i) + "@tenant" + std::to_string(i / 10) + ".example";
      mc.graph_url = "https://graph.microsoft.com/v1.0";
      mc.since = "2026-11-25T00:00:00Z";
      mailbox_peers peers{listener, 0, &store, nullptr, &outbox, &metrics};
      peers.converters = &converters;
      peers.present = &present; // its entries (MAILBOX, SENDER) count too
      present.enter(mailbox_key(mc.id));
      boxes.push_back(sys.spawn(mailbox, std::move(mc), std::move(peers)));
    }
    // Every mailbox has polled once (and failed at once): all idle on their timers.
    while (polls < n)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto spawn_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    // The first polls have ended; malloc keeps the pages they used (all of them ran at
    // once here) until it is asked to give free pages back.
    auto untrimmed = rss();
    malloc_trim(0);
    auto after = rss();
    auto per = static_cast<double>(after - before) / static_cast<double>(n);
    std::printf("mailboxes: %zu\nspawned and first poll done in: %.2f s\n"
                "resident memory: %.1f MiB before, %.1f MiB after (%.1f MiB before "
                "malloc_trim)\n"
                "per idle mailbox: %.0f bytes (%.2f KiB; aim <= 10 KiB)\n",
                n, spawn_s, before / 1048576.0, after / 1048576.0, untrimmed / 1048576.0,
                per, per / 1024);
    // Two more polls each (after the backoff of the failed ones): a MAILBOX must not
    // grow with its polls.
    while (polls < 3 * n)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    malloc_trim(0);
    auto later = rss();
    std::printf("after 3 polls each: %.1f MiB, %.0f bytes per mailbox\n",
                later / 1048576.0,
                static_cast<double>(later - before) / static_cast<double>(n));
    for (auto& b : boxes)
      caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(tokens, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(http, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
    exc::service::forget_all(sys, 0); // the writer's thread ends with its last handle
  }
  db->reset();
  std::filesystem::remove_all(dir);
  return 0;
}

#pragma once

#include "net/http_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

/// graph-sim's calls to a connector's notification endpoints, as Graph makes them: the
/// validation handshake of a new subscription, and each change notification POSTed and
/// retried with backoff until it is answered 2xx within 3 s. Its own thread and HTTP
/// client, so that a slow endpoint holds up no Graph request.
namespace graph_sim {

class notifier {
public:
  struct options {
    std::string ca_file; ///< extra trusted CA for https endpoints (e.g. the test CA)
    std::chrono::milliseconds answer_within{3'000};
    std::chrono::milliseconds validate_within{10'000};
    std::chrono::milliseconds first_retry{1'000}; ///< doubles per failed try
    std::chrono::milliseconds max_retry{60'000};
    std::chrono::hours give_up_after{4}; ///< Microsoft retries for up to 4 hours
    std::size_t max_pending = 10'000;    ///< deliveries waiting at once; more are dropped
  };

  explicit notifier(options o);
  ~notifier();
  notifier(const notifier&) = delete;
  notifier& operator=(const notifier&) = delete;

  /// Ends every exchange and timer; nothing is called back after it returns.
  void stop();

  /// POSTs the JSON `body` to `url` (after the delay switch; not at all while the drop
  /// switch is on) and tries again until it is answered 2xx in time.
  void deliver(const std::string& url, std::string body);

  /// POST url?validationToken=…; `done(true, "")` once answered 200 text/plain with the
  /// token within validate_within, else `done(false, why)`. On the notifier's thread.
  void validate(const std::string& url, const std::string& token,
                std::function<void(bool ok, std::string why)> done);

  /// The runtime switches: drop every notification (counted), or send each this late.
  void set_switches(bool drop, std::chrono::milliseconds delay);
  nlohmann::json switches() const;
  /// {"delivered","attempts","failed_attempts","dropped","gave_up","pending",
  /// "validations"}.
  nlohmann::json stats() const;

private:
  struct delivery;
  void attempt(std::shared_ptr<delivery> d);
  void retry(std::shared_ptr<delivery> d);
  void after(std::chrono::milliseconds wait, std::function<void()> then);

  options options_;
  mutable std::mutex mutex_; ///< guards the switches and counters
  bool drop_ = false;
  std::chrono::milliseconds delay_{0};
  std::uint64_t delivered_ = 0, attempts_ = 0, failed_attempts_ = 0, dropped_ = 0,
                gave_up_ = 0, pending_ = 0, validations_ = 0;
  boost::asio::io_context io_; ///< its timers
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  std::unique_ptr<net::http_client> client_; ///< last: ends first
};

} // namespace graph_sim

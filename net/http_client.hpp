#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// An HTTP/1.1 client for http and https URLs: certificates and host names are always
/// verified (system store plus an optional extra CA file), SNI is sent, every request
/// has a deadline, and connections are kept alive and reused per host. At most
/// `max_connections_per_host` connections are open to one host at once; requests beyond
/// that wait in line, within their deadline, for one to come free.
namespace net {

namespace detail {
struct client_impl;
} // namespace detail

using header_list = std::vector<std::pair<std::string, std::string>>;

struct client_request {
  std::string method = "GET";
  std::string url; ///< absolute http:// or https:// URL
  header_list headers;
  std::string body;
  std::chrono::milliseconds timeout{30'000}; ///< whole exchange, connect included
  /// A smaller cap on the answer's body than the client's (0: the client's): for
  /// servers others control, whose answer is not needed.
  std::uint64_t max_response_body = 0;

  /// The first header named `name` (case-insensitive), or "" if absent.
  std::string_view header(std::string_view name) const;
};

/// Why a request got no HTTP response at all.
enum class transport_error {
  none,
  bad_url,  ///< not an absolute http(s) URL
  resolve,  ///< host name did not resolve
  connect,  ///< TCP connection refused or unreachable
  tls,      ///< handshake failed, e.g. an untrusted certificate or a wrong host name
  timeout,  ///< the deadline passed
  io,       ///< connection broke mid-exchange (including a dropped connection)
  protocol, ///< the peer's answer was not valid HTTP, or was too large
};

const char* to_string(transport_error e);

struct client_response {
  transport_error error = transport_error::none;
  std::string error_message; ///< human-readable detail when `error != none`
  unsigned status = 0;
  header_list headers;
  std::string body;

  bool ok() const { return error == transport_error::none; }
  /// The first header named `name` (case-insensitive), or "" if absent.
  std::string_view header(std::string_view name) const;
};

struct client_options {
  std::string ca_file;     ///< extra trusted CA (PEM), on top of the system store
  std::size_t threads = 1; ///< I/O threads running completions
  /// Open connections to one scheme://host:port, idle ones included. A burst of
  /// requests otherwise opens as many connections (and TLS handshakes) as it has
  /// requests, which a server answers with handshake timeouts.
  std::size_t max_connections_per_host = 16;
  /// Runs (on any thread, so it must be quick) each time a request finds its host at
  /// the cap and waits in line; for a metric.
  std::function<void()> on_wait{};
  /// Idle connections older than this are not reused (servers close them around 60 s).
  std::chrono::milliseconds max_idle_time{30'000};
  std::uint64_t max_response_body = 64ull * 1024 * 1024;
  /// Host name -> IP address to connect to instead of resolving the name (like curl's
  /// --resolve); the certificate is still verified against the name. For tests on
  /// machines without /etc/hosts, and for pinning.
  std::map<std::string, std::string> resolve_overrides{};
};

class http_client {
public:
  /// Throws std::runtime_error if the CA file cannot be loaded.
  explicit http_client(client_options options = {});
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Starts the exchange and returns at once; `done` runs exactly once, on an I/O
  /// thread of this client, so it must not block. Exchanges still running when the
  /// client is destroyed are abandoned without calling `done`.
  void async_request(client_request req, std::function<void(client_response)> done);

  /// Blocking convenience for tests and tools. Never call it from an I/O thread of this
  /// client or from an actor.
  client_response request(client_request req);

  /// Connections opened so far (to observe keep-alive reuse).
  std::uint64_t connections_opened() const;
  /// Requests waiting for a connection to some host to come free, now.
  std::size_t requests_waiting() const;

private:
  std::unique_ptr<detail::client_impl> impl_;
};

} // namespace net

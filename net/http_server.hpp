#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

/// An HTTP/1.1 server on Beast: one listener, one session per connection, keep-alive,
/// optional TLS. Requests are handed to a callback that answers through a `responder`,
/// now or later, from any thread.
namespace net {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;

/// Answers one request. Thread-safe; the first `send` or `close` wins, later calls are
/// ignored. A responder dropped without either answers 500, so no client hangs.
class responder {
public:
  virtual ~responder() = default;
  /// Writes `res` (Content-Length and keep-alive are filled in by the session).
  virtual void send(response res) = 0;
  /// Closes the connection without answering (used to emulate dropped connections).
  virtual void close() = 0;
};

using responder_ptr = std::shared_ptr<responder>;

/// Decides on a request that carries a body from its request line and headers alone,
/// before any of the body is read (e.g. authentication). Thread-safe; the first call
/// wins. Dropped without either, it refuses with a 500.
class admission {
public:
  virtual ~admission() = default;
  /// Reads the body, then hands the whole request to the request handler.
  virtual void admit() = 0;
  /// Answers `res` without reading the body; the connection closes after it.
  virtual void refuse(response res) = 0;
};

using admission_ptr = std::shared_ptr<admission>;

/// Called for every complete request, on one of the server's threads. Must not block.
using request_handler = std::function<void(request&& req, responder_ptr out)>;

/// Called with the headers of a request that carries a body (`req.body()` is empty),
/// on one of the server's threads. Must not block.
using header_handler = std::function<void(const request& req, admission_ptr decide)>;

/// Builds the response for errors the server detects itself (e.g. 413 body too large,
/// 400 unparseable request), so each service can answer in its own error shape.
using error_responder =
    std::function<response(unsigned status, const std::string& message)>;

struct server_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0 picks a free port; see http_server::port()
  std::size_t threads = 1; ///< I/O threads
  std::uint64_t body_limit = 1024 * 1024;
  /// A request's headers must arrive within this time (so an idle keep-alive
  /// connection is closed after it), and then its body within the same time again.
  std::chrono::milliseconds read_timeout{30'000};
  /// Connections open at once; one more is answered 503 and closed.
  std::size_t max_connections = 1024;
  /// After a failed accept (e.g. out of file descriptors) the next one waits this
  /// long, doubling up to accept_backoff_max while accepting keeps failing.
  std::chrono::milliseconds accept_backoff_initial{10};
  std::chrono::milliseconds accept_backoff_max{1'000};
  std::string tls_cert_file; ///< PEM chain; empty: plain HTTP
  std::string tls_key_file;  ///< PEM private key
  error_responder on_error;  ///< optional; default is a plain-text body
  header_handler on_header;  ///< optional; without it every body is read
  /// Optional; called on each failed accept with the reason.
  std::function<void(const std::string& reason)> on_accept_error;
};

/// Writes `port` to the file `path` (a new file, then renamed over it, so a reader never
/// sees half a port): how a server started with port 0 tells which port it got. False
/// if it cannot.
bool write_port_file(const std::string& path, std::uint16_t port);

/// The server. Construction binds the port (throws std::runtime_error with the reason
/// on failure); `start` runs the I/O threads; `stop` (or the destructor) ends them.
class http_server {
public:
  http_server(server_options options, request_handler handler);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// The bound port (useful with port 0).
  std::uint16_t port() const;

  /// Starts accepting on `options.threads` background threads.
  void start();

  /// Stops accepting, closes connections and joins the threads. Idempotent.
  void stop();

  /// Connections open now.
  std::size_t connections() const;

  /// Accepts that failed since the start.
  std::uint64_t accept_errors() const;

  /// The I/O context, for timers that complete on the server's threads.
  boost::asio::io_context& io();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace net

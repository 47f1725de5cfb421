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

/// Called for every complete request, on one of the server's threads. Must not block.
using request_handler = std::function<void(request&& req, responder_ptr out)>;

/// Builds the response for errors the server detects itself (e.g. 413 body too large,
/// 400 unparseable request), so each service can answer in its own error shape.
using error_responder =
    std::function<response(unsigned status, const std::string& message)>;

struct server_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0 picks a free port; see http_server::port()
  std::size_t threads = 1; ///< I/O threads
  std::uint64_t body_limit = 1024 * 1024;
  std::chrono::milliseconds read_timeout{30'000}; ///< idle time allowed while reading
  std::string tls_cert_file;                      ///< PEM chain; empty: plain HTTP
  std::string tls_key_file;                       ///< PEM private key
  error_responder on_error; ///< optional; default is a plain-text body
};

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

  /// The I/O context, for timers that complete on the server's threads.
  boost::asio::io_context& io();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace net

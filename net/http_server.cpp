#include "net/http_server.hpp"

#include <cstdio>
#include <fstream>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <type_traits>

namespace net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

/// What every session of one server shares.
struct server_shared {
  server_options options;
  request_handler handler;
  std::optional<ssl::context> tls;
  std::atomic<bool> stopped{false};
  std::atomic<std::size_t> connections{0};
  std::atomic<std::uint64_t> accept_errors{0};

  response error(unsigned status, const std::string& message) const {
    if (options.on_error) return options.on_error(status, message);
    response res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "text/plain");
    res.body() = message + "\n";
    return res;
  }
};

using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

/// One connection: reads a request, hands it to the handler, writes the answer, repeats
/// while the client keeps the connection alive. One request at a time per connection
/// (a pipelined next request simply waits in the read buffer).
template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

public:
  session(tcp::socket&& socket, std::shared_ptr<server_shared> shared)
      : stream_(make_stream(std::move(socket), *shared)), shared_(std::move(shared)) {
    ++shared_->connections;
  }

  ~session() { --shared_->connections; }

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&session::on_run, this->shared_from_this()));
  }

  /// Called through the responder, on any thread: continue on this session's strand.
  void post_response(response res) {
    asio::post(stream_.get_executor(),
               [self = this->shared_from_this(), res = std::move(res)]() mutable {
                 self->write(std::move(res));
               });
  }

  void post_close() {
    asio::post(stream_.get_executor(),
               [self = this->shared_from_this()] { self->close_now(); });
  }

  /// Called through the admission, on any thread.
  void post_admit() {
    asio::post(stream_.get_executor(),
               [self = this->shared_from_this()] { self->read_body(); });
  }

  void post_refusal(response res) {
    asio::post(stream_.get_executor(),
               [self = this->shared_from_this(), res = std::move(res)]() mutable {
                 self->refuse(std::move(res));
               });
  }

private:
  static Stream make_stream(tcp::socket&& socket, server_shared& shared) {
    if constexpr (is_tls)
      return Stream{std::move(socket), *shared.tls};
    else
      return Stream{std::move(socket)};
  }

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void on_run() {
    if constexpr (is_tls) {
      lowest().expires_after(shared_->options.read_timeout);
      stream_.async_handshake(
          ssl::stream_base::server,
          beast::bind_front_handler(&session::on_handshake, this->shared_from_this()));
    } else {
      do_read();
    }
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return; // a client that cannot speak TLS to us: nothing to answer
    do_read();
  }

  void do_read() {
    parser_.emplace();
    parser_->body_limit(shared_->options.body_limit);
    lowest().expires_after(shared_->options.read_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&session::on_header, this->shared_from_this()));
  }

  /// Answers what went wrong while reading; false if nothing did.
  bool failed(beast::error_code ec) {
    if (!ec) return false;
    if (ec == http::error::end_of_stream) {
      close_now();
    } else if (ec == http::error::body_limit) {
      refuse(shared_->error(413, "request body exceeds the limit of " +
                                     std::to_string(shared_->options.body_limit) +
                                     " bytes"));
    } else if (ec.category() ==
               http::make_error_code(http::error::end_of_stream).category()) {
      refuse(shared_->error(400, "malformed HTTP request: " + ec.message()));
    } // else a timeout or socket error: the connection is gone
    return true;
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (failed(ec) || shared_->stopped) return;
    if (parser_->is_done() || !shared_->options.on_header) return read_body();
    // No timer while the service decides: the admission answers (or is dropped) in
    // bounded time.
    lowest().expires_never();
    shared_->options.on_header(parser_->get(), make_admission());
  }

  void read_body() {
    if (parser_->is_done()) return dispatch();
    lowest().expires_after(shared_->options.read_timeout);
    // A client that waits for leave to send its body (curl does for larger ones) gets
    // it now, once the request is admitted, instead of after its own timeout.
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      static const std::string go_on = "HTTP/1.1 100 Continue\r\n\r\n";
      return asio::async_write(
          stream_, asio::buffer(go_on),
          [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return;
            self->parser_->get().erase(http::field::expect); // sent once
            self->read_body();
          });
    }
    http::async_read(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&session::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (failed(ec)) return;
    dispatch();
  }

  void dispatch() {
    lowest().expires_never();
    auto req = parser_->release();
    keep_alive_ = req.keep_alive();
    if (shared_->stopped) return;
    shared_->handler(std::move(req), make_responder());
  }

  /// Answers without reading (the rest of) the request; the connection closes after.
  void refuse(response res) {
    keep_alive_ = false;
    drain_after_write_ = true;
    write(std::move(res));
  }

  admission_ptr make_admission();
  responder_ptr make_responder();

  void write(response res) {
    if (shared_->stopped) return;
    res.keep_alive(keep_alive_);
    res.prepare_payload();
    response_ = std::move(res);
    lowest().expires_after(shared_->options.read_timeout);
    http::async_write(
        stream_, response_,
        beast::bind_front_handler(&session::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return;
    if (drain_after_write_) return drain();
    if (!keep_alive_) return close_now();
    response_ = {};
    do_read();
  }

  /// After refusing a request whose body is still arriving: read and discard the rest
  /// (for a bounded time) before closing, so the client reads our answer instead of a
  /// connection reset.
  void drain() {
    if constexpr (!is_tls) { // the client sees the end of our answer at once
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    if (!scratch_) scratch_ = std::make_unique<char[]>(scratch_size);
    lowest().expires_after(std::min<std::chrono::milliseconds>(
        shared_->options.read_timeout, std::chrono::seconds(10)));
    do_drain();
  }

  void do_drain() {
    stream_.async_read_some(
        asio::buffer(scratch_.get(), scratch_size),
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) return self->close_now();
          self->do_drain();
        });
  }

  void close_now() {
    beast::error_code ignored;
    if constexpr (is_tls) {
      lowest().expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    } else {
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_.close();
    }
  }

  Stream stream_;
  std::shared_ptr<server_shared> shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  response response_;
  bool keep_alive_ = false;
  bool drain_after_write_ = false;
  static constexpr std::size_t scratch_size = 64 * 1024;
  std::unique_ptr<char[]> scratch_; ///< only for draining a refused body
};

/// The handler's way back into a session; keeps the session alive until it answers.
template <class Stream>
class session_responder final : public responder {
public:
  session_responder(std::shared_ptr<session<Stream>> s,
                    std::shared_ptr<server_shared> shared)
      : session_(std::move(s)), shared_(std::move(shared)) {}

  ~session_responder() override {
    if (!done_.load() && !shared_->stopped)
      send(shared_->error(500, "the request handler produced no response"));
  }

  void send(response res) override {
    if (done_.exchange(true) || shared_->stopped) return;
    session_->post_response(std::move(res));
  }

  void close() override {
    if (done_.exchange(true) || shared_->stopped) return;
    session_->post_close();
  }

private:
  std::shared_ptr<session<Stream>> session_;
  std::shared_ptr<server_shared> shared_;
  std::atomic<bool> done_{false};
};

/// The header handler's way back into a session.
template <class Stream>
class session_admission final : public admission {
public:
  session_admission(std::shared_ptr<session<Stream>> s,
                    std::shared_ptr<server_shared> shared)
      : session_(std::move(s)), shared_(std::move(shared)) {}

  ~session_admission() override {
    if (!done_.load() && !shared_->stopped)
      refuse(shared_->error(500, "the request was neither admitted nor refused"));
  }

  void admit() override {
    if (done_.exchange(true) || shared_->stopped) return;
    session_->post_admit();
  }

  void refuse(response res) override {
    if (done_.exchange(true) || shared_->stopped) return;
    session_->post_refusal(std::move(res));
  }

private:
  std::shared_ptr<session<Stream>> session_;
  std::shared_ptr<server_shared> shared_;
  std::atomic<bool> done_{false};
};

template <class Stream>
admission_ptr session<Stream>::make_admission() {
  return std::make_shared<session_admission<Stream>>(this->shared_from_this(), shared_);
}

template <class Stream>
responder_ptr session<Stream>::make_responder() {
  return std::make_shared<session_responder<Stream>>(this->shared_from_this(), shared_);
}

} // namespace

struct http_server::impl {
  asio::io_context io;
  std::shared_ptr<server_shared> shared = std::make_shared<server_shared>();
  tcp::acceptor acceptor{asio::make_strand(io)};
  std::vector<std::thread> threads;
  bool started = false;

  asio::steady_timer accept_pause{acceptor.get_executor()};
  std::chrono::milliseconds accept_backoff{0};

  void do_accept() {
    acceptor.async_accept(
        asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
          if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
          if (ec) return pause_accepting(ec);
          accept_backoff = std::chrono::milliseconds{0};
          if (shared->connections.load() >= shared->options.max_connections)
            turn_away(std::move(socket));
          else
            start_session(std::move(socket));
          do_accept();
        });
  }

  /// Accepting failed (e.g. no file descriptor left): the pending connection stays
  /// in the backlog, so retrying at once would spin. Waits, doubling the wait.
  void pause_accepting(beast::error_code ec) {
    ++shared->accept_errors;
    if (shared->options.on_accept_error) shared->options.on_accept_error(ec.message());
    const auto& o = shared->options;
    accept_backoff = accept_backoff.count() == 0
                         ? o.accept_backoff_initial
                         : std::min(accept_backoff * 2, o.accept_backoff_max);
    accept_pause.expires_after(accept_backoff);
    accept_pause.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && acceptor.is_open()) do_accept();
    });
  }

  void start_session(tcp::socket socket) {
    beast::error_code ignored;
    socket.set_option(tcp::no_delay{true}, ignored);
    if (shared->tls)
      std::make_shared<session<tls_stream>>(std::move(socket), shared)->run();
    else
      std::make_shared<session<plain_stream>>(std::move(socket), shared)->run();
  }

  /// One connection too many: a plain-HTTP client is told so (503) in one
  /// non-blocking write, then the connection closes either way.
  void turn_away(tcp::socket socket) {
    beast::error_code ignored;
    if (!shared->tls) {
      auto res = shared->error(503, "too many connections; try again later");
      res.set(http::field::retry_after, "1");
      res.keep_alive(false);
      res.prepare_payload();
      std::ostringstream out;
      out << res;
      auto bytes = out.str();
      socket.non_blocking(true, ignored);
      socket.write_some(asio::buffer(bytes), ignored);
    }
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }
};

http_server::http_server(server_options options, request_handler handler)
    : impl_(std::make_unique<impl>()) {
  auto& shared = *impl_->shared;
  shared.options = std::move(options);
  shared.handler = std::move(handler);
  const auto& opts = shared.options;
  if (!opts.tls_cert_file.empty() || !opts.tls_key_file.empty()) {
    if (opts.tls_cert_file.empty() || opts.tls_key_file.empty())
      throw std::runtime_error("TLS needs both a certificate and a key file");
    shared.tls.emplace(ssl::context::tls_server);
    auto& ctx = *shared.tls;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                    ssl::context::no_tlsv1_1);
    beast::error_code ec;
    ctx.use_certificate_chain_file(opts.tls_cert_file, ec);
    if (ec)
      throw std::runtime_error("cannot load TLS certificate " + opts.tls_cert_file +
                               ": " + ec.message());
    ctx.use_private_key_file(opts.tls_key_file, ssl::context::pem, ec);
    if (ec)
      throw std::runtime_error("cannot load TLS key " + opts.tls_key_file + ": " +
                               ec.message());
  }
  beast::error_code ec;
  tcp::resolver resolver{impl_->io};
  auto results =
      resolver.resolve(opts.address, std::to_string(opts.port),
                       tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty())
    throw std::runtime_error("cannot resolve listen address " + opts.address + ": " +
                             ec.message());
  auto endpoint = results.begin()->endpoint();
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + opts.address + ":" +
                             std::to_string(opts.port) + ": " + ec.message());
}

http_server::~http_server() {
  stop();
}

bool write_port_file(const std::string& path, std::uint16_t port) {
  auto tmp = path + ".tmp";
  {
    std::ofstream out{tmp};
    out << port << "\n";
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

std::uint16_t http_server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

void http_server::start() {
  if (impl_->started) return;
  impl_->started = true;
  asio::dispatch(impl_->acceptor.get_executor(), [this] { impl_->do_accept(); });
  auto n = std::max<std::size_t>(1, impl_->shared->options.threads);
  for (std::size_t i = 0; i < n; ++i)
    impl_->threads.emplace_back([this] { impl_->io.run(); });
}

void http_server::stop() {
  if (impl_->shared->stopped.exchange(true)) return;
  asio::post(impl_->acceptor.get_executor(), [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
  });
  impl_->io.stop();
  for (auto& t : impl_->threads)
    t.join();
  impl_->threads.clear();
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

std::size_t http_server::connections() const {
  return impl_->shared->connections.load();
}

std::uint64_t http_server::accept_errors() const {
  return impl_->shared->accept_errors.load();
}

asio::io_context& http_server::io() {
  return impl_->io;
}

} // namespace net

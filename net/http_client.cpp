#include "net/http_client.hpp"

#include "net/url.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <poll.h>

#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <variant>

namespace net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

const char* to_string(transport_error e) {
  switch (e) {
  case transport_error::none:
    return "none";
  case transport_error::bad_url:
    return "bad_url";
  case transport_error::resolve:
    return "resolve";
  case transport_error::connect:
    return "connect";
  case transport_error::tls:
    return "tls";
  case transport_error::timeout:
    return "timeout";
  case transport_error::io:
    return "io";
  case transport_error::protocol:
    return "protocol";
  }
  return "unknown";
}

std::string_view client_response::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return v;
  return {};
}

namespace {

/// One open connection to a host; lives in the idle pool between exchanges.
struct connection {
  std::variant<beast::tcp_stream, tls_stream> stream;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since;

  beast::tcp_stream& lowest() {
    return std::visit(
        [](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); }, stream);
  }
};

/// True if an idle connection has something to read: the peer closed it (EOF, a TLS
/// close_notify) or sent data unasked. Either way it must not carry another request.
bool peer_has_spoken(connection& conn) {
  pollfd p{conn.lowest().socket().native_handle(), POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

/// Methods that may be sent again when a kept-alive connection turns out to be dead.
bool is_idempotent(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS";
}

bool is_ip_literal(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

} // namespace

namespace detail {

struct client_impl {
  client_options options;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  ssl::context tls{ssl::context::tls_client};
  std::vector<std::thread> threads;
  std::mutex pool_mutex;
  std::unordered_map<std::string, std::vector<std::unique_ptr<connection>>> idle;
  std::atomic<std::uint64_t> opened{0};

  /// The most recently used live connection to `key`, if any. Connections idle for
  /// longer than servers usually keep them, or closed by the peer, are dropped.
  std::unique_ptr<connection> take_idle(const std::string& key) {
    std::lock_guard<std::mutex> guard{pool_mutex};
    auto i = idle.find(key);
    if (i == idle.end()) return nullptr;
    auto now = std::chrono::steady_clock::now();
    while (!i->second.empty()) {
      auto conn = std::move(i->second.back());
      i->second.pop_back();
      if (now - conn->idle_since < options.max_idle_time && !peer_has_spoken(*conn))
        return conn;
    }
    return nullptr;
  }

  void put_idle(const std::string& key, std::unique_ptr<connection> conn) {
    conn->idle_since = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> guard{pool_mutex};
    auto& list = idle[key];
    if (list.size() < options.max_idle_per_host) list.push_back(std::move(conn));
  }
};

} // namespace detail

namespace {

/// One request/response exchange: resolve → connect → TLS handshake → write → read,
/// or write → read on a kept-alive connection. A reused connection that turns out to
/// be closed by the peer is replaced once by a fresh one.
class exchange : public std::enable_shared_from_this<exchange> {
public:
  exchange(detail::client_impl& client, client_request req,
           std::function<void(client_response)> done)
      : client_(client), in_(std::move(req)), done_(std::move(done)),
        resolver_(client.io) {}

  void start() {
    auto parsed = parse_url(in_.url);
    if (!parsed)
      return fail(transport_error::bad_url, "not an absolute http(s) URL: " + in_.url);
    url_ = std::move(*parsed);
    key_ = url_.scheme + "://" + url_.host + ":" + std::to_string(url_.port);
    deadline_ = std::chrono::steady_clock::now() + in_.timeout;
    req_.method_string(in_.method);
    req_.target(url_.target);
    req_.version(11);
    bool default_port = url_.port == (url_.scheme == "https" ? 443 : 80);
    auto host =
        url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host;
    req_.set(http::field::host,
             default_port ? host : host + ":" + std::to_string(url_.port));
    req_.set(http::field::user_agent, "exconnect/0.1");
    for (const auto& [name, value] : in_.headers)
      req_.set(name, value);
    req_.body() = std::move(in_.body);
    if (!req_.body().empty() || in_.method == "POST" || in_.method == "PUT" ||
        in_.method == "PATCH")
      req_.prepare_payload();
    req_.keep_alive(true);
    conn_ = client_.take_idle(key_);
    if (conn_) {
      reused_ = true;
      do_write();
    } else {
      connect_new();
    }
  }

private:
  void connect_new() {
    reused_ = false;
    conn_.reset();
    const auto& overrides = client_.options.resolve_overrides;
    auto pinned = overrides.find(url_.host);
    const auto& target = pinned == overrides.end() ? url_.host : pinned->second;
    resolver_.async_resolve(
        target, std::to_string(url_.port),
        beast::bind_front_handler(&exchange::on_resolve, shared_from_this()));
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec)
      return fail(transport_error::resolve,
                  "cannot resolve " + url_.host + ": " + ec.message());
    if (url_.scheme == "https")
      conn_.reset(new connection{tls_stream{client_.io, client_.tls}, {}, {}});
    else
      conn_.reset(new connection{beast::tcp_stream{client_.io}, {}, {}});
    ++client_.opened;
    conn_->lowest().expires_at(deadline_);
    conn_->lowest().async_connect(
        results, beast::bind_front_handler(&exchange::on_connect, shared_from_this()));
  }

  void on_connect(beast::error_code ec, const tcp::endpoint&) {
    if (ec == beast::error::timeout)
      return fail(transport_error::timeout, "connect timed out");
    if (ec)
      return fail(transport_error::connect,
                  "cannot connect to " + key_ + ": " + ec.message());
    conn_->lowest().socket().set_option(tcp::no_delay{true}, ec);
    auto* tls = std::get_if<tls_stream>(&conn_->stream);
    if (!tls) return do_write();
    SSL* ssl = tls->native_handle();
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    bool ok = true;
    if (is_ip_literal(url_.host)) {
      ok = X509_VERIFY_PARAM_set1_ip_asc(param, url_.host.c_str()) == 1;
    } else {
      ok = X509_VERIFY_PARAM_set1_host(param, url_.host.c_str(), 0) == 1 &&
           SSL_set_tlsext_host_name(ssl, url_.host.c_str()) == 1; // SNI: names only
    }
    if (!ok)
      return fail(transport_error::tls,
                  "cannot set up TLS verification for " + url_.host);
    tls->set_verify_mode(ssl::verify_peer);
    tls->async_handshake(
        ssl::stream_base::client,
        beast::bind_front_handler(&exchange::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    if (ec == beast::error::timeout)
      return fail(transport_error::timeout, "TLS handshake timed out");
    if (ec) {
      auto& tls = std::get<tls_stream>(conn_->stream);
      auto verify = SSL_get_verify_result(tls.native_handle());
      std::string detail = ec.message();
      if (verify != X509_V_OK)
        detail = std::string{"certificate verification failed: "} +
                 X509_verify_cert_error_string(verify);
      return fail(transport_error::tls,
                  "TLS handshake with " + key_ + " failed: " + detail);
    }
    do_write();
  }

  void do_write() {
    conn_->lowest().expires_at(deadline_);
    std::visit(
        [this](auto& s) {
          http::async_write(
              s, req_,
              beast::bind_front_handler(&exchange::on_write, shared_from_this()));
        },
        conn_->stream);
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return broken(ec, "sending the request");
    parser_.emplace();
    parser_->body_limit(client_.options.max_response_body);
    if (in_.method == "HEAD") parser_->skip(true);
    std::visit(
        [this](auto& s) {
          http::async_read(
              s, conn_->buffer, *parser_,
              beast::bind_front_handler(&exchange::on_read, shared_from_this()));
        },
        conn_->stream);
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return broken(ec, "reading the response");
    auto res = parser_->release();
    client_response out;
    out.status = res.result_int();
    for (const auto& field : res)
      out.headers.emplace_back(field.name_string(), field.value());
    out.body = std::move(res.body());
    if (res.keep_alive()) {
      conn_->lowest().expires_never();
      client_.put_idle(key_, std::move(conn_));
    }
    finish(std::move(out));
  }

  /// A failure after the connection was up. A kept-alive connection that the server
  /// closed just now fails before any response byte: an idempotent request is tried
  /// once more on a new connection (others are not: the server may have acted on them).
  void broken(beast::error_code ec, const char* during) {
    bool nothing_received = !parser_ || !parser_->got_some();
    if (reused_ && !retried_ && nothing_received && ec != beast::error::timeout &&
        is_idempotent(in_.method)) {
      retried_ = true;
      return connect_new();
    }
    if (ec == beast::error::timeout)
      return fail(transport_error::timeout, std::string{"timed out "} + during);
    if (ec == http::error::body_limit)
      return fail(transport_error::protocol, "response body exceeds the client's limit");
    if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message)
      return fail(transport_error::protocol,
                  std::string{"invalid HTTP response: "} + ec.message());
    fail(transport_error::io,
         std::string{"connection broken while "} + during + ": " + ec.message());
  }

  void fail(transport_error kind, std::string message) {
    client_response out;
    out.error = kind;
    out.error_message = std::move(message);
    conn_.reset();
    finish(std::move(out));
  }

  void finish(client_response out) {
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(out));
  }

  detail::client_impl& client_;
  client_request in_;
  std::function<void(client_response)> done_;
  tcp::resolver resolver_;
  url url_;
  std::string key_;
  std::chrono::steady_clock::time_point deadline_;
  http::request<http::string_body> req_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::unique_ptr<connection> conn_;
  bool reused_ = false;
  bool retried_ = false;
};

} // namespace

http_client::http_client(client_options options)
    : impl_(std::make_unique<detail::client_impl>()) {
  impl_->options = std::move(options);
  auto& tls = impl_->tls;
  tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                  ssl::context::no_tlsv1_1);
  beast::error_code ec;
  tls.set_default_verify_paths(ec);
  if (!impl_->options.ca_file.empty()) {
    tls.load_verify_file(impl_->options.ca_file, ec);
    if (ec)
      throw std::runtime_error("cannot load CA file " + impl_->options.ca_file + ": " +
                               ec.message());
  }
  tls.set_verify_mode(ssl::verify_peer);
  auto n = std::max<std::size_t>(1, impl_->options.threads);
  for (std::size_t i = 0; i < n; ++i)
    impl_->threads.emplace_back([this] { impl_->io.run(); });
}

http_client::~http_client() {
  impl_->work.reset();
  impl_->io.stop();
  for (auto& t : impl_->threads)
    t.join();
}

void http_client::async_request(client_request req,
                                std::function<void(client_response)> done) {
  auto ex = std::make_shared<exchange>(*impl_, std::move(req), std::move(done));
  asio::post(impl_->io, [ex] { ex->start(); });
}

client_response http_client::request(client_request req) {
  std::promise<client_response> promise;
  auto future = promise.get_future();
  async_request(std::move(req),
                [&promise](client_response res) { promise.set_value(std::move(res)); });
  return future.get();
}

std::uint64_t http_client::connections_opened() const {
  return impl_->opened.load();
}

} // namespace net

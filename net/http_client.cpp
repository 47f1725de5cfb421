#include "net/http_client.hpp"

#include <algorithm>

#include "net/url.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <poll.h>

#include <atomic>
#include <future>
#include <list>
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

namespace {

std::string_view first_header(const header_list& headers, std::string_view name) {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return v;
  return {};
}

} // namespace

std::string_view client_request::header(std::string_view name) const {
  return first_header(headers, name);
}

std::string_view client_response::header(std::string_view name) const {
  return first_header(headers, name);
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

struct slot_waiter;
using waiter_ptr = std::shared_ptr<slot_waiter>;

/// An exchange that may wait for a connection to its host. `connection_free` runs on an
/// I/O thread once it holds a slot: with an idle connection handed over, or with none,
/// meaning it may open one. `queued` and `place` belong to the client's pool mutex.
struct slot_waiter {
  virtual ~slot_waiter() = default;
  virtual void connection_free(std::unique_ptr<connection> handed) = 0;
  bool queued = false;
  std::list<waiter_ptr>::iterator place;
};

/// The connections to one scheme://host:port. A slot is a connection that is idle, in
/// use, or being opened; `open` counts them and never exceeds the cap.
struct host_pool {
  std::vector<std::unique_ptr<connection>> idle;
  std::size_t open = 0;
  std::list<waiter_ptr> waiting; ///< first come, first served
};

struct client_impl {
  client_options options;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  ssl::context tls{ssl::context::tls_client};
  std::vector<std::thread> threads;
  mutable std::mutex pool_mutex;
  std::unordered_map<std::string, host_pool> pools;
  std::atomic<std::uint64_t> opened{0};

  std::size_t cap() const {
    return std::max<std::size_t>(1, options.max_connections_per_host);
  }

  /// What `acquire` gave: a live idle connection, or a slot to open one (`may_open`),
  /// or neither, and then the waiter stands in line.
  struct acquired {
    std::unique_ptr<connection> conn;
    bool may_open = false;
  };

  /// The most recently used live connection to `key` if there is one (connections idle
  /// for longer than servers usually keep them, or closed by the peer, are dropped),
  /// else a slot to open one if the host is under its cap, else `w` joins the line.
  acquired acquire(const std::string& key, const waiter_ptr& w) {
    std::lock_guard<std::mutex> guard{pool_mutex};
    auto& pool = pools[key];
    auto now = std::chrono::steady_clock::now();
    while (!pool.idle.empty()) {
      auto conn = std::move(pool.idle.back());
      pool.idle.pop_back();
      if (now - conn->idle_since < options.max_idle_time && !peer_has_spoken(*conn))
        return {std::move(conn), false};
      --pool.open;
    }
    if (pool.open < cap()) {
      ++pool.open;
      return {nullptr, true};
    }
    w->queued = true;
    w->place = pool.waiting.insert(pool.waiting.end(), w);
    if (options.on_wait) options.on_wait();
    return {nullptr, false};
  }

  /// Takes a waiter out of the line (its deadline passed); false if it was given a
  /// slot meanwhile, which it then must use.
  bool withdraw(const std::string& key, slot_waiter& w) {
    std::lock_guard<std::mutex> guard{pool_mutex};
    if (!w.queued) return false;
    w.queued = false;
    pools[key].waiting.erase(w.place);
    return true;
  }

  /// A connection that carried an exchange and may carry another: the first waiter
  /// gets it, else it idles (the cap bounds the idle list too).
  void put_idle(const std::string& key, std::unique_ptr<connection> conn) {
    conn->idle_since = std::chrono::steady_clock::now();
    waiter_ptr next;
    {
      std::lock_guard<std::mutex> guard{pool_mutex};
      auto& pool = pools[key];
      if (pool.waiting.empty()) return pool.idle.push_back(std::move(conn));
      next = take_first(pool);
    }
    hand_over(std::move(next), std::move(conn));
  }

  /// A slot given up without a reusable connection (it failed, the server closed it, or
  /// none was opened): the first waiter may open one in its place.
  void release(const std::string& key) {
    waiter_ptr next;
    {
      std::lock_guard<std::mutex> guard{pool_mutex};
      auto& pool = pools[key];
      if (pool.waiting.empty()) {
        --pool.open;
        return;
      }
      next = take_first(pool);
    }
    hand_over(std::move(next), nullptr);
  }

private:
  waiter_ptr take_first(host_pool& pool) {
    auto w = std::move(pool.waiting.front());
    pool.waiting.pop_front();
    w->queued = false;
    return w;
  }

  /// Runs the waiter on an I/O thread, outside the pool mutex.
  void hand_over(waiter_ptr w, std::unique_ptr<connection> conn) {
    auto handed = std::make_shared<std::unique_ptr<connection>>(std::move(conn));
    asio::post(io,
               [w = std::move(w), handed] { w->connection_free(std::move(*handed)); });
  }
};

} // namespace detail

namespace {

/// One request/response exchange: a slot at the host (waiting in line if it is at its
/// cap), then resolve → connect → TLS handshake → write → read, or write → read on a
/// kept-alive connection. A reused connection that turns out to be closed by the peer
/// is replaced once by a fresh one.
class exchange : public detail::slot_waiter,
                 public std::enable_shared_from_this<exchange> {
public:
  exchange(detail::client_impl& client, client_request req,
           std::function<void(client_response)> done)
      : client_(client), in_(std::move(req)), done_(std::move(done)),
        resolver_(client.io), wait_timer_(client.io) {}

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
    auto got = client_.acquire(key_, shared_from_this());
    if (got.conn || got.may_open) return connection_free(std::move(got.conn));
    // In line. The timer holds no reference: once a slot comes, the exchange may end
    // before the deadline, and its timer with it.
    wait_timer_.expires_at(deadline_);
    wait_timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->waited_too_long();
    });
  }

  void connection_free(std::unique_ptr<connection> handed) override {
    holds_slot_ = true;
    if (!handed) return connect_new();
    conn_ = std::move(handed);
    reused_ = true;
    do_write();
  }

private:
  void waited_too_long() {
    if (!client_.withdraw(key_, *this)) return; // a slot came just now
    fail(transport_error::timeout, "no connection to " + key_ +
                                       " came free before the deadline (" +
                                       std::to_string(client_.cap()) + " in use)");
  }

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
    parser_->body_limit(
        in_.max_response_body > 0
            ? std::min(in_.max_response_body, client_.options.max_response_body)
            : client_.options.max_response_body);
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
      holds_slot_ = false;
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
    finish(std::move(out));
  }

  void finish(client_response out) {
    conn_.reset();
    if (holds_slot_) {
      holds_slot_ = false;
      client_.release(key_);
    }
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(out));
  }

  detail::client_impl& client_;
  client_request in_;
  std::function<void(client_response)> done_;
  tcp::resolver resolver_;
  asio::steady_timer wait_timer_; ///< the deadline while in line for a slot
  url url_;
  std::string key_;
  std::chrono::steady_clock::time_point deadline_;
  http::request<http::string_body> req_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::unique_ptr<connection> conn_;
  bool reused_ = false;
  bool retried_ = false;
  bool holds_slot_ = false; ///< counted in the host's open connections
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

std::size_t http_client::requests_waiting() const {
  std::lock_guard<std::mutex> guard{impl_->pool_mutex};
  std::size_t n = 0;
  for (const auto& [key, pool] : impl_->pools)
    n += pool.waiting.size();
  return n;
}

} // namespace net

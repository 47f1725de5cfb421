#define CAF_SUITE net_http
#include <caf/test/unit_test.hpp>

#include "child_process.hpp"
#include "temp_dir.hpp"
#include "test_ca.hpp"

#include "net/http_client.hpp"
#include "net/http_server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <condition_variable>
#include <future>

#include <fcntl.h>
#include <mutex>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace http = boost::beast::http;

namespace {

/// Echoes method, target and body; "/hold" parks the responder until released,
/// "/drop" closes the connection, "/forget" answers nothing, "/later" answers from
/// another thread.
struct echo_handler {
  std::mutex mutex;
  std::condition_variable held_changed;
  std::vector<net::responder_ptr> held;
  std::atomic<int> calls{0};

  void operator()(net::request&& req, net::responder_ptr out) {
    ++calls;
    auto target = std::string{req.target()};
    if (target == "/hold") {
      std::lock_guard<std::mutex> guard{mutex};
      held.push_back(std::move(out));
      held_changed.notify_all();
      return;
    }
    if (target == "/drop") return out->close();
    if (target == "/forget") return;
    net::response res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain");
    res.body() = std::string{req.method_string()} + " " + target + " " + req.body();
    if (target == "/later") {
      std::thread{[out, res]() mutable { out->send(std::move(res)); }}.detach();
      return;
    }
    out->send(std::move(res));
  }

  /// Blocks until `n` requests are parked.
  void wait_held(std::size_t n) {
    std::unique_lock<std::mutex> lock{mutex};
    held_changed.wait(lock, [&] { return held.size() >= n; });
  }

  void release_all() {
    std::lock_guard<std::mutex> guard{mutex};
    for (auto& out : held)
      out->send(net::response{http::status::no_content, 11});
    held.clear();
  }
};

struct fixture {
  test::temp_dir dir;
  echo_handler handler;

  std::unique_ptr<net::http_server> serve(net::server_options opts) {
    auto server = std::make_unique<net::http_server>(
        opts, [this](net::request&& req, net::responder_ptr out) {
          handler(std::move(req), out);
        });
    server->start();
    return server;
  }

  static net::client_response
  get(net::http_client& client, const std::string& url,
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    net::client_request req;
    req.url = url;
    req.timeout = timeout;
    return client.request(std::move(req));
  }

  /// Reads one response from `socket`; returns its status line and headers.
  static std::string read_head(boost::asio::ip::tcp::socket& socket) {
    std::string out;
    char c;
    boost::system::error_code ec;
    while (out.find("\r\n\r\n") == std::string::npos &&
           socket.read_some(boost::asio::buffer(&c, 1), ec) == 1)
      out += c;
    static const std::string length = "Content-Length: ";
    if (auto at = out.find(length); at != std::string::npos) {
      std::string body(std::stoul(out.substr(at + length.size())), '\0');
      boost::asio::read(socket, boost::asio::buffer(body), ec);
    }
    return out;
  }

  /// Sends raw bytes on a fresh TCP connection and reads until the server closes it.
  static std::string raw_exchange(std::uint16_t port, const std::string& bytes) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket{io};
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    if (!bytes.empty()) boost::asio::write(socket, boost::asio::buffer(bytes));
    std::string out;
    boost::system::error_code ec;
    char buf[4096];
    for (;;) {
      auto n = socket.read_some(boost::asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) break;
    }
    return out;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(net_http_tests, fixture)

CAF_TEST(plain http keeps the connection alive across requests) {
  auto server = serve({});
  net::http_client client;
  auto base = "http://127.0.0.1:" + std::to_string(server->port());
  for (int i = 0; i < 3; ++i) {
    auto res = get(client, base + "/n" + std::to_string(i));
    CAF_REQUIRE(res.ok());
    CAF_CHECK_EQUAL(res.status, 200u);
    CAF_CHECK_EQUAL(res.body, "GET /n" + std::to_string(i) + " ");
    CAF_CHECK_EQUAL(res.header("content-type"), "text/plain");
  }
  CAF_CHECK_EQUAL(client.connections_opened(), 1u);
}

CAF_TEST(a pooled connection closed by the server is not reused) {
  net::http_client client;
  auto server = serve({});
  auto port = server->port();
  auto base = "http://127.0.0.1:" + std::to_string(port);
  CAF_REQUIRE_EQUAL(get(client, base + "/first").status, 200u);
  server.reset(); // closes every connection, including the pooled one
  net::server_options opts;
  opts.port = port;
  server = serve(opts);
  // A POST is never resent, so it only succeeds if the dead connection was skipped.
  net::client_request req;
  req.method = "POST";
  req.url = base + "/second";
  req.body = "x";
  auto res = client.request(req);
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(res.body, "POST /second x");
  CAF_CHECK_EQUAL(client.connections_opened(), 2u);
}

CAF_TEST(post bodies arrive and answers may come from another thread) {
  auto server = serve({});
  net::http_client client;
  net::client_request req;
  req.method = "POST";
  req.url = "http://127.0.0.1:" + std::to_string(server->port()) + "/later";
  req.body = "payload";
  auto res = client.request(req);
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(res.body, "POST /later payload");
}

CAF_TEST(a request may cap the answer body below the client cap) {
  auto server = serve({});
  net::http_client client;
  net::client_request req;
  req.method = "POST";
  req.url = "http://127.0.0.1:" + std::to_string(server->port()) + "/echo";
  req.body = std::string(5000, 'x'); // echoed back: an answer of 5 KB
  auto whole = client.request(req);
  CAF_REQUIRE(whole.ok());
  CAF_CHECK_EQUAL(whole.body.size(), 5000u + 11u); // "POST /echo " and the body
  req.max_response_body = 1024;
  auto capped = client.request(req);
  CAF_CHECK(!capped.ok());
  CAF_CHECK_EQUAL(capped.error, net::transport_error::protocol);
}

CAF_TEST(tls with a trusted ca verifies names and ip addresses) {
  auto ca = test::test_ca::create(dir.path());
  net::server_options opts;
  opts.tls_cert_file = ca.server_cert;
  opts.tls_key_file = ca.server_key;
  auto server = serve(opts);
  net::client_options options{ca.ca_file};
  // No reliance on /etc/hosts (a minimal Debian root has none).
  options.resolve_overrides["localhost"] = "127.0.0.1";
  net::http_client client{options};
  auto port = std::to_string(server->port());
  auto by_ip = get(client, "https://127.0.0.1:" + port + "/ip");
  CAF_REQUIRE(by_ip.ok());
  CAF_CHECK_EQUAL(by_ip.body, "GET /ip ");
  auto by_name = get(client, "https://localhost:" + port + "/name");
  CAF_CHECK(by_name.ok());
  CAF_CHECK_EQUAL(by_name.body, "GET /name ");
}

CAF_TEST(tls with an unknown ca is refused with a clear reason) {
  auto ca = test::test_ca::create(dir.path());
  net::server_options opts;
  opts.tls_cert_file = ca.server_cert;
  opts.tls_key_file = ca.server_key;
  auto server = serve(opts);
  net::http_client client; // system store only
  auto res = get(client, "https://127.0.0.1:" + std::to_string(server->port()) + "/");
  CAF_CHECK(!res.ok());
  CAF_CHECK_EQUAL(res.error, net::transport_error::tls);
  CAF_CHECK_NOT_EQUAL(res.error_message.find("certificate verification failed"),
                      std::string::npos);
}

CAF_TEST(tls with a certificate for another host is refused) {
  auto ca = test::test_ca::create(dir.path(), "other", "DNS:other.test");
  net::server_options opts;
  opts.tls_cert_file = ca.server_cert;
  opts.tls_key_file = ca.server_key;
  auto server = serve(opts);
  net::http_client client{net::client_options{ca.ca_file}};
  auto res = get(client, "https://127.0.0.1:" + std::to_string(server->port()) + "/");
  CAF_CHECK_EQUAL(res.error, net::transport_error::tls);
  CAF_CHECK_NOT_EQUAL(res.error_message.find("mismatch"), std::string::npos);
}

CAF_TEST(the client sends sni for host names and not for ip addresses) {
  // A bare TCP listener records the TLS ClientHello (sent in clear) and hangs up.
  auto hello_for = [](const std::string& host) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::endpoint loopback{boost::asio::ip::make_address("127.0.0.1"),
                                            0};
    boost::asio::ip::tcp::acceptor acceptor{io, loopback};
    auto port = acceptor.local_endpoint().port();
    std::string hello;
    std::thread server{[&] {
      auto socket = acceptor.accept();
      char buf[4096];
      boost::system::error_code ec;
      auto n = socket.read_some(boost::asio::buffer(buf), ec);
      hello.assign(buf, n);
    }};
    net::client_options options;
    options.resolve_overrides["sni.test"] = "127.0.0.1";
    net::http_client client{options};
    auto res = get(client, "https://" + host + ":" + std::to_string(port) + "/");
    if (res.error == net::transport_error::connect ||
        res.error == net::transport_error::resolve) {
      // The client never connected: unblock the listener rather than hang the suite.
      boost::asio::ip::tcp::socket unblock{io};
      unblock.connect({loopback.address(), port});
    }
    server.join();
    return std::make_pair(hello, res.error);
  };
  auto [named, named_error] = hello_for("sni.test");
  CAF_CHECK_NOT_EQUAL(named.find("sni.test"), std::string::npos);
  CAF_CHECK_EQUAL(named_error, net::transport_error::tls);
  auto [by_ip, ip_error] = hello_for("127.0.0.1");
  CAF_CHECK_EQUAL(by_ip.find("127.0.0.1"), std::string::npos);
  CAF_CHECK(!by_ip.empty());
  CAF_CHECK_EQUAL(ip_error, net::transport_error::tls);
}

CAF_TEST(a missing ca file is an error at construction) {
  bool threw = false;
  try {
    net::http_client client{net::client_options{dir.file("no-such-ca.pem")}};
  } catch (const std::runtime_error& e) {
    threw = std::string{e.what()}.find("no-such-ca.pem") != std::string::npos;
  }
  CAF_CHECK(threw);
}

CAF_TEST(bodies over the limit get 413 and the connection closes) {
  net::server_options opts;
  opts.body_limit = 1024;
  auto server = serve(opts);
  net::http_client client;
  net::client_request req;
  req.method = "POST";
  req.url = "http://127.0.0.1:" + std::to_string(server->port()) + "/big";
  req.body = std::string(4096, 'x');
  auto res = client.request(req);
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(res.status, 413u);
  req.body = std::string(1000, 'x');
  auto small = client.request(req);
  CAF_REQUIRE(small.ok());
  CAF_CHECK_EQUAL(small.status, 200u);
}

CAF_TEST(services shape the errors the server detects) {
  net::server_options opts;
  opts.body_limit = 10;
  opts.on_error = [](unsigned status, const std::string&) {
    net::response res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "application/json");
    res.body() = "{\"error\":{\"code\":\"too_large\"}}";
    return res;
  };
  auto server = serve(opts);
  net::http_client client;
  net::client_request req;
  req.method = "POST";
  req.url = "http://127.0.0.1:" + std::to_string(server->port()) + "/";
  req.body = std::string(100, 'x');
  auto res = client.request(req);
  CAF_CHECK_EQUAL(res.status, 413u);
  CAF_CHECK_EQUAL(res.body, "{\"error\":{\"code\":\"too_large\"}}");
}

CAF_TEST(malformed requests get 400) {
  auto server = serve({});
  auto answer = raw_exchange(server->port(), "NOT HTTP AT ALL\r\n\r\n");
  CAF_CHECK_EQUAL(answer.rfind("HTTP/1.1 400", 0), 0u);
}

CAF_TEST(idle connections are closed after the read timeout) {
  net::server_options opts;
  opts.read_timeout = std::chrono::milliseconds(100);
  auto server = serve(opts);
  // Nothing sent: the server must close the connection by itself (read returns EOF).
  auto answer = raw_exchange(server->port(), "");
  CAF_CHECK_EQUAL(answer, "");
}

CAF_TEST(client deadlines turn a silent server into a timeout) {
  auto server = serve({});
  net::http_client client;
  auto res = get(client, "http://127.0.0.1:" + std::to_string(server->port()) + "/hold",
                 std::chrono::milliseconds(200));
  CAF_CHECK_EQUAL(res.error, net::transport_error::timeout);
  handler.release_all();
}

CAF_TEST(a dropped connection is an io error and an unanswered request a 500) {
  auto server = serve({});
  net::http_client client;
  auto base = "http://127.0.0.1:" + std::to_string(server->port());
  auto dropped = get(client, base + "/drop");
  CAF_CHECK_EQUAL(dropped.error, net::transport_error::io);
  auto forgotten = get(client, base + "/forget");
  CAF_REQUIRE(forgotten.ok());
  CAF_CHECK_EQUAL(forgotten.status, 500u);
}

CAF_TEST(connection refused and bad urls are reported) {
  net::http_client client;
  // Bind then close a port so that nothing listens there.
  std::uint16_t port = 0;
  {
    auto server = serve({});
    port = server->port();
  }
  auto refused = get(client, "http://127.0.0.1:" + std::to_string(port) + "/");
  CAF_CHECK_EQUAL(refused.error, net::transport_error::connect);
  auto bad = get(client, "not a url");
  CAF_CHECK_EQUAL(bad.error, net::transport_error::bad_url);
}

CAF_TEST(many concurrent requests complete on few threads) {
  auto server = serve({});
  net::http_client client{net::client_options{{}, 2}};
  auto url = "http://127.0.0.1:" + std::to_string(server->port()) + "/c";
  std::vector<std::future<net::client_response>> results;
  for (int i = 0; i < 50; ++i) {
    auto promise = std::make_shared<std::promise<net::client_response>>();
    results.push_back(promise->get_future());
    net::client_request req;
    req.url = url;
    client.async_request(
        req, [promise](net::client_response r) { promise->set_value(std::move(r)); });
  }
  int ok = 0;
  for (auto& f : results)
    ok += f.get().status == 200;
  CAF_CHECK_EQUAL(ok, 50);
}

CAF_TEST(requests beyond the per host cap wait in line for a kept connection) {
  auto server = serve({});
  net::client_options options;
  options.max_connections_per_host = 2;
  std::atomic<int> waits{0};
  options.on_wait = [&waits] { ++waits; };
  net::http_client client{options};
  auto base = "http://127.0.0.1:" + std::to_string(server->port());
  auto send = [&client](const std::string& url, std::chrono::milliseconds timeout) {
    auto promise = std::make_shared<std::promise<net::client_response>>();
    auto result = promise->get_future();
    net::client_request req;
    req.url = url;
    req.timeout = timeout;
    client.async_request(
        req, [promise](net::client_response r) { promise->set_value(std::move(r)); });
    return result;
  };
  std::vector<std::future<net::client_response>> held;
  for (int i = 0; i < 2; ++i)
    held.push_back(send(base + "/hold", std::chrono::seconds(10)));
  handler.wait_held(2);
  // Both connections are busy: a third request waits and never reaches the server.
  auto late = get(client, base + "/c", std::chrono::milliseconds(200));
  CAF_CHECK_EQUAL(late.error, net::transport_error::timeout);
  CAF_CHECK(late.error_message.find("came free") != std::string::npos);
  CAF_CHECK_EQUAL(handler.calls.load(), 2);
  CAF_CHECK_EQUAL(client.requests_waiting(), 0u);
  // Five more wait; as the held ones are answered, their connections carry them.
  std::vector<std::future<net::client_response>> queued;
  for (int i = 0; i < 5; ++i)
    queued.push_back(send(base + "/c" + std::to_string(i), std::chrono::seconds(10)));
  handler.release_all();
  for (auto& f : held)
    CAF_CHECK_EQUAL(f.get().status, 204u);
  for (std::size_t i = 0; i < queued.size(); ++i) {
    auto res = queued[i].get();
    CAF_CHECK_EQUAL(res.status, 200u);
    CAF_CHECK_EQUAL(res.body, "GET /c" + std::to_string(i) + " ");
  }
  CAF_CHECK_EQUAL(client.connections_opened(), 2u);
  CAF_CHECK_EQUAL(waits.load(), 6);
  CAF_CHECK_EQUAL(client.requests_waiting(), 0u);
}

CAF_TEST(a connection that fails gives its slot to the next request) {
  auto server = serve({});
  net::client_options options;
  options.max_connections_per_host = 1;
  net::http_client client{options};
  auto base = "http://127.0.0.1:" + std::to_string(server->port());
  for (int i = 0; i < 3; ++i) {
    auto dropped = get(client, base + "/drop");
    CAF_CHECK_EQUAL(dropped.error, net::transport_error::io);
  }
  auto refused = get(client, "http://127.0.0.1:1/");
  CAF_CHECK_EQUAL(refused.error, net::transport_error::connect);
  auto refused_again = get(client, "http://127.0.0.1:1/", std::chrono::seconds(5));
  CAF_CHECK_EQUAL(refused_again.error, net::transport_error::connect);
  auto fine = get(client, base + "/c", std::chrono::seconds(5));
  CAF_CHECK_EQUAL(fine.status, 200u);
  CAF_CHECK_EQUAL(client.connections_opened(), 6u);
}

CAF_TEST(a body is read only once the header handler admits the request) {
  net::server_options opts;
  std::atomic<int> asked{0};
  opts.on_header = [&asked](const net::request& req, net::admission_ptr decide) {
    ++asked;
    if (req[http::field::authorization] == "yes") return decide->admit();
    decide->refuse(net::response{http::status::unauthorized, 11});
  };
  auto server = serve(opts);
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket{io};
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), server->port()});
  // A megabyte announced, ten bytes sent: the refusal comes without waiting for more.
  boost::asio::write(socket, boost::asio::buffer(std::string{
                                 "POST /x HTTP/1.1\r\nHost: a\r\n"
                                 "Content-Length: 1000000\r\n\r\n0123456789"}));
  auto head = read_head(socket);
  CAF_CHECK_EQUAL(head.rfind("HTTP/1.1 401", 0), 0u);
  CAF_CHECK(head.find("Connection: close") != std::string::npos);
  CAF_CHECK_EQUAL(handler.calls.load(), 0);
  // Admitted, the body is read and the request handled.
  net::http_client client;
  net::client_request req;
  req.method = "POST";
  req.url = "http://127.0.0.1:" + std::to_string(server->port()) + "/y";
  req.headers = {{"Authorization", "yes"}};
  req.body = "hello";
  auto res = client.request(req);
  CAF_REQUIRE(res.ok());
  CAF_CHECK_EQUAL(res.status, 200u);
  CAF_CHECK_EQUAL(res.body, "POST /y hello");
  // A request without a body is not asked about.
  auto before = asked.load();
  auto got = get(client, "http://127.0.0.1:" + std::to_string(server->port()) + "/z");
  CAF_CHECK_EQUAL(got.status, 200u);
  CAF_CHECK_EQUAL(asked.load(), before);
  CAF_CHECK_EQUAL(before, 2);
}

CAF_TEST(a client that expects 100 continue gets it once admitted) {
  net::server_options opts;
  opts.on_header = [](const net::request&, net::admission_ptr decide) {
    decide->admit();
  };
  auto server = serve(opts);
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket{io};
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), server->port()});
  boost::asio::write(socket, boost::asio::buffer(std::string{
                                 "POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                                 "Content-Length: 5\r\n\r\n"}));
  CAF_CHECK_EQUAL(read_head(socket), "HTTP/1.1 100 Continue\r\n\r\n");
  boost::asio::write(socket, boost::asio::buffer(std::string{"hello"}));
  auto head = read_head(socket);
  CAF_CHECK_EQUAL(head.rfind("HTTP/1.1 200", 0), 0u);
}

CAF_TEST(an admission dropped without a decision refuses with 500) {
  net::server_options opts;
  opts.on_header = [](const net::request&, net::admission_ptr) {};
  auto server = serve(opts);
  auto answer = raw_exchange(server->port(), "POST /x HTTP/1.1\r\nHost: a\r\n"
                                             "Content-Length: 3\r\n\r\nabc");
  CAF_CHECK_EQUAL(answer.rfind("HTTP/1.1 500", 0), 0u);
  CAF_CHECK_EQUAL(handler.calls.load(), 0);
}

CAF_TEST(connections beyond the cap are answered 503 and closed) {
  net::server_options opts;
  opts.max_connections = 2;
  auto server = serve(opts);
  boost::asio::io_context io;
  std::vector<boost::asio::ip::tcp::socket> open;
  auto request = std::string{"GET /a HTTP/1.1\r\nHost: a\r\n\r\n"};
  for (int i = 0; i < 2; ++i) {
    open.emplace_back(io);
    open.back().connect({boost::asio::ip::make_address("127.0.0.1"), server->port()});
    boost::asio::write(open.back(), boost::asio::buffer(request));
    CAF_CHECK_EQUAL(read_head(open.back()).rfind("HTTP/1.1 200", 0), 0u);
  }
  CAF_CHECK_EQUAL(server->connections(), 2u);
  auto third = raw_exchange(server->port(), "");
  CAF_CHECK_EQUAL(third.rfind("HTTP/1.1 503", 0), 0u);
  CAF_CHECK(third.find("Retry-After: 1") != std::string::npos);
  // The two served go on; once one closes, a new connection is served.
  boost::asio::write(open[0], boost::asio::buffer(request));
  CAF_CHECK_EQUAL(read_head(open[0]).rfind("HTTP/1.1 200", 0), 0u);
  open[1].close();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server->connections() > 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  CAF_REQUIRE_EQUAL(server->connections(), 1u);
  net::http_client client;
  auto res = get(client, "http://127.0.0.1:" + std::to_string(server->port()) + "/b");
  CAF_CHECK_EQUAL(res.status, 200u);
}

CAF_TEST(accepting backs off while no file descriptor is left) {
  net::server_options opts;
  auto server = serve(opts);
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket{io};
  socket.open(boost::asio::ip::tcp::v4()); // its descriptor, before they run out
  // Use up the descriptors under a lowered limit.
  rlimit old{};
  CAF_REQUIRE_EQUAL(getrlimit(RLIMIT_NOFILE, &old), 0);
  rlimit low = old;
  low.rlim_cur = 512;
  CAF_REQUIRE_EQUAL(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> spent;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY)) >= 0;)
    spent.push_back(fd);
  // The kernel completes the connection; the server cannot accept it. Watched for half
  // a second, it retries a few times, not thousands.
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), server->port()});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto errors = server->accept_errors();
  for (int fd : spent)
    ::close(fd);
  CAF_REQUIRE_EQUAL(setrlimit(RLIMIT_NOFILE, &old), 0);
  CAF_CHECK_GREATER_OR_EQUAL(errors, 2u);
  CAF_CHECK_LESS_OR_EQUAL(errors, 12u);
  // With descriptors back, the waiting connection is served.
  boost::asio::write(
      socket, boost::asio::buffer(std::string{"GET /a HTTP/1.1\r\nHost: a\r\n\r\n"}));
  CAF_CHECK_EQUAL(read_head(socket).rfind("HTTP/1.1 200", 0), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()

// fuzz-http-request: the bytes a client sends on one connection, read as exconnectd's
// HTTP server reads them (Beast's request parser, its limits, keep-alive), each request
// handed to the REST front (routing, authentication, query strings, the handlers).
#include "rest_harness.hpp"

#include "app/rest/responses.hpp"
#include "net/url.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string_view>

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

/// The connection: the input in TCP-sized pieces, then end of stream, so that requests
/// split across reads are parsed as they are on a socket.
class connection {
public:
  explicit connection(std::string_view bytes) : rest_(bytes) {}

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    if (rest_.empty()) {
      ec = boost::asio::error::eof;
      return 0;
    }
    ec = {};
    auto piece = rest_.substr(0, std::min<std::size_t>(rest_.size(), 1460));
    auto n = boost::asio::buffer_copy(buffers,
                                      boost::asio::buffer(piece.data(), piece.size()));
    rest_.remove_prefix(n);
    return n;
  }

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    beast::error_code ec;
    auto n = read_some(buffers, ec);
    if (ec) throw beast::system_error{ec};
    return n;
  }

private:
  std::string_view rest_;
};

/// As the server sends it: keep-alive and Content-Length filled in, then serialized.
void write(net::response res, bool keep_alive) {
  res.keep_alive(keep_alive);
  res.prepare_payload();
  std::ostringstream wire;
  wire << res;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  connection conn{{reinterpret_cast<const char*>(data), size}};
  beast::flat_buffer buffer;
  // A few pipelined requests per connection, as a keep-alive session reads them.
  for (int i = 0; i < 4; ++i) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(1024 * 1024); // exconnectd's limit (app/main.cpp)
    beast::error_code ec;
    http::read(conn, buffer, parser, ec);
    if (ec == http::error::end_of_stream) return 0;
    if (ec) {
      // The server answers in the API's error shape and closes.
      write(exc::rest::error_response(ec == http::error::body_limit ? 413 : 400,
                                      ec == http::error::body_limit ? "payload_too_large"
                                                                    : "bad_request",
                                      "malformed HTTP request: " + ec.message()),
            false);
      return 0;
    }
    auto req = parser.release();
    bool keep_alive = req.keep_alive();
    // What the listings and the OAuth callback read, whatever the route.
    auto [path, query] = net::split_target(req.target());
    if (auto params = net::parse_query(query)) net::find_param(*params, "limit");
    net::percent_decode(path, false);
    write(fuzz::rest_answer(exc::rest::to_message(std::move(req))), keep_alive);
    if (!keep_alive) return 0;
  }
  return 0;
}

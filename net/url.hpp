#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// URL, query-string and form helpers shared by the HTTP client and servers.
namespace net {

/// An absolute http(s) URL split into the parts a client connects with.
struct url {
  std::string scheme; ///< "http" or "https"
  std::string host;   ///< name or IP literal, without brackets
  std::uint16_t port = 0;
  std::string target; ///< path plus query, at least "/"
};

/// Parses `http://host[:port]/path?query` or `https://…`; nullopt if malformed.
std::optional<url> parse_url(std::string_view text);

/// Whether the host is this machine: 127.0.0.0/8, ::1 or localhost.
bool is_loopback_host(std::string_view host);

/// Ordered name/value pairs, as they appear in a query string or form body.
using params = std::vector<std::pair<std::string, std::string>>;

/// Decodes `%XX` escapes (and `+` as space when `plus_is_space`); nullopt on a bad
/// escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

/// Encodes everything except RFC 3986 unreserved characters.
std::string percent_encode(std::string_view text);

/// Parses `a=1&b=2` (application/x-www-form-urlencoded rules); nullopt on a bad escape.
std::optional<params> parse_query(std::string_view text);

/// Builds `a=1&b=2` with every name and value percent-encoded.
std::string encode_query(const params& items);

/// The first value for `name`, if any.
std::optional<std::string> find_param(const params& items, std::string_view name);

/// Splits a request target into path and query ("/a?b=c" -> "/a", "b=c").
std::pair<std::string_view, std::string_view> split_target(std::string_view target);

/// Case-insensitive ASCII comparison, for header names and e-mail addresses.
bool iequals(std::string_view a, std::string_view b);

/// Lower-cases ASCII letters.
std::string to_lower(std::string_view text);

/// Standard base64 (with padding) and its decoder; nullopt on invalid input.
std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);

/// Lower-case hex of raw bytes.
std::string hex_encode(std::string_view data);

/// base64url without padding (RFC 4648 §5), as PKCE uses it.
std::string base64url_encode(std::string_view data);

} // namespace net

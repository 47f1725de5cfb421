#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

/// Time stamps as the HTTP APIs write them.
namespace net {

using sys_time = std::chrono::system_clock::time_point;

/// RFC 3339 in UTC with a `Z`, whole seconds: "2026-11-25T17:46:00Z".
std::string format_rfc3339(sys_time t);

/// Parses RFC 3339 / ISO 8601 date-times ("…Z", "…+01:00", optional fraction);
/// a bare date ("2026-11-25") means midnight UTC. nullopt if malformed.
std::optional<sys_time> parse_rfc3339(std::string_view text);

/// RFC 7231 HTTP date: "Wed, 25 Nov 2026 17:46:00 GMT".
std::string format_http_date(sys_time t);

/// Parses an RFC 7231 HTTP date (IMF-fixdate form only); nullopt if malformed.
std::optional<sys_time> parse_http_date(std::string_view text);

} // namespace net

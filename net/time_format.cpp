#include "net/time_format.hpp"

#include <cstdio>
#include <cstring>
#include <ctime>

namespace net {

namespace {

constexpr const char* weekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::tm to_utc(sys_time t) {
  auto secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

sys_time from_utc(std::tm& tm) {
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

bool read_int(std::string_view& text, std::size_t digits, int& out) {
  if (text.size() < digits) return false;
  out = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  text.remove_prefix(digits);
  return true;
}

bool expect(std::string_view& text, char c) {
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

} // namespace

std::string format_rfc3339(sys_time t) {
  auto tm = to_utc(t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<sys_time> parse_rfc3339(std::string_view text) {
  std::tm tm{};
  int year = 0, month = 0, day = 0;
  if (!read_int(text, 4, year) || !expect(text, '-') || !read_int(text, 2, month) ||
      !expect(text, '-') || !read_int(text, 2, day))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  if (text.empty()) return from_utc(tm);
  if (text.front() != 'T' && text.front() != 't' && text.front() != ' ')
    return std::nullopt;
  text.remove_prefix(1);
  int hour = 0, minute = 0, second = 0;
  if (!read_int(text, 2, hour) || !expect(text, ':') || !read_int(text, 2, minute))
    return std::nullopt;
  if (!text.empty() && text.front() == ':' &&
      (text.remove_prefix(1), !read_int(text, 2, second)))
    return std::nullopt;
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::chrono::nanoseconds fraction{0};
  if (!text.empty() && text.front() == '.') {
    text.remove_prefix(1);
    long long scale = 100'000'000;
    bool any = false;
    while (!text.empty() && text.front() >= '0' && text.front() <= '9') {
      fraction += std::chrono::nanoseconds((text.front() - '0') * scale);
      scale /= 10;
      any = true;
      text.remove_prefix(1);
    }
    if (!any) return std::nullopt;
  }
  auto result = from_utc(tm) + std::chrono::duration_cast<sys_time::duration>(fraction);
  if (text.empty() || text == "Z" || text == "z") return result;
  int sign = text.front() == '+' ? 1 : text.front() == '-' ? -1 : 0;
  if (sign == 0) return std::nullopt;
  text.remove_prefix(1);
  int off_h = 0, off_m = 0;
  if (!read_int(text, 2, off_h) || !expect(text, ':') || !read_int(text, 2, off_m) ||
      !text.empty())
    return std::nullopt;
  return result - sign * (std::chrono::hours(off_h) + std::chrono::minutes(off_m));
}

std::string format_http_date(sys_time t) {
  auto tm = to_utc(t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                weekdays[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<sys_time> parse_http_date(std::string_view text) {
  // "Wed, 25 Nov 2026 17:46:00 GMT"
  if (text.size() != 29 || text.substr(3, 2) != ", " || text.substr(25) != " GMT")
    return std::nullopt;
  std::string_view rest = text.substr(5);
  std::tm tm{};
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (!read_int(rest, 2, day) || !expect(rest, ' ')) return std::nullopt;
  int month = -1;
  for (int i = 0; i < 12; ++i)
    if (rest.substr(0, 3) == months[i]) month = i;
  if (month < 0) return std::nullopt;
  rest.remove_prefix(3);
  if (!expect(rest, ' ') || !read_int(rest, 4, year) || !expect(rest, ' ') ||
      !read_int(rest, 2, hour) || !expect(rest, ':') || !read_int(rest, 2, minute) ||
      !expect(rest, ':') || !read_int(rest, 2, second))
    return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return from_utc(tm);
}

} // namespace net

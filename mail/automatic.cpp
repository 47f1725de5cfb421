#include "mail/automatic.hpp"

#include "mail/ascii.hpp"

#include "mail/parse.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace mail {

namespace {

using detail::ascii_lower;

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return std::string{s.substr(b, e - b + 1)};
}

/// The value's first word (before white space, ';' or a comment), lower case.
std::string first_word(const std::string& value) {
  auto v = ascii_lower(trim(value));
  return v.substr(0, v.find_first_of(" \t;("));
}

/// "Name: value" for the detail.
std::string said(const char* name, const std::string& value) {
  // A detail for people: long values (anyone can send them) are cut, at a character.
  constexpr std::size_t most = 200;
  auto v = trim(value);
  if (v.size() > most) {
    auto end = most;
    while (end > 0 && (static_cast<unsigned char>(v[end]) & 0xC0) == 0x80)
      --end;
    v = v.substr(0, end) + "…";
  }
  return std::string{name} + ": " + v;
}

} // namespace

std::optional<std::string> automatic_reason(const message& msg) {
  if (const auto* v = find_header(msg, "Auto-Submitted"); v && first_word(*v) != "no")
    return said("Auto-Submitted", *v);
  for (const char* name : {"X-Autoreply", "X-Autorespond", "X-Autoresponder"})
    if (const auto* v = find_header(msg, name)) return said(name, *v);
  if (const auto* v = find_header(msg, "X-Auto-Response-Suppress")) {
    // A comma-separated list of what the sender suppresses.
    auto list = ascii_lower(*v);
    std::size_t start = 0;
    while (start <= list.size()) {
      auto end = std::min(list.find(',', start), list.size());
      auto item = trim(std::string_view{list}.substr(start, end - start));
      if (item == "all" || item == "autoreply")
        return said("X-Auto-Response-Suppress", *v);
      start = end + 1;
    }
  }
  for (const char* name : {"Precedence", "X-Precedence"})
    if (const auto* v = find_header(msg, name)) {
      auto w = first_word(*v);
      if (w == "junk" || w == "auto_reply") return said(name, *v);
    }
  if (const auto* v = find_header(msg, "Content-Type")) {
    auto ct = ascii_lower(*v);
    ct.erase(std::remove_if(ct.begin(), ct.end(),
                            [](char c) { return c == ' ' || c == '\t' || c == '"'; }),
             ct.end());
    if (ct.rfind("multipart/report", 0) == 0 &&
        ct.find("report-type=delivery-status") != std::string::npos)
      return said("Content-Type", *v);
  }
  if (const auto* v = find_header(msg, "X-Failed-Recipients"))
    return said("X-Failed-Recipients", *v);
  if (msg.from) {
    auto sender = ascii_lower(msg.from->email);
    if (sender.rfind("mailer-daemon@", 0) == 0 || sender.rfind("postmaster@", 0) == 0)
      return "From: " + msg.from->email;
  }
  if (const auto* v = find_header(msg, "Return-Path"); v && trim(*v) == "<>")
    return said("Return-Path", *v);
  return std::nullopt;
}

std::optional<std::string> list_reason(const message& msg) {
  if (const auto* v = find_header(msg, "List-Id")) return said("List-Id", *v);
  for (const char* name : {"Precedence", "X-Precedence"})
    if (const auto* v = find_header(msg, name)) {
      auto w = first_word(*v);
      if (w == "bulk" || w == "list") return said(name, *v);
    }
  return std::nullopt;
}

} // namespace mail

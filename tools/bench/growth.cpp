// The growth benchmark (issue 13): hostile inputs of 1, 2, 4 and 8 MB for every path an
// outside sender or a client reaches, timed; the time of 8 MB over 1 MB must stay about
// 10 or below (linear), where a quadratic path gives 64. With --memory it also measures
// the peak memory a 50 MB message takes to convert.
//
// Usage: bench-growth [--check] [--sizes 1,2,4,8] [--only NAME] | bench-growth --memory
//   --check  exit 1 if any ratio is above 10

#include "actors/converter.hpp"
#include "mail/html_text.hpp"
#include "mail/parse.hpp"
#include "mail/rfc2047.hpp"
#include "mail/ticket_token.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;

/// `unit` repeated until the text is at least `bytes` long.
std::string repeat(std::string_view unit, std::size_t bytes) {
  std::string out;
  out.reserve(bytes + unit.size());
  while (out.size() < bytes)
    out += unit;
  return out;
}

std::string message(const std::string& headers, const std::string& body) {
  return "From: Eve <eve@example.org>\r\nTo: help@example.com\r\n"
         "Message-ID: <hostile@example.org>\r\n" +
         headers + "\r\n" + body;
}

std::string html_mail(std::size_t bytes, std::string_view unit) {
  return message("Subject: html\r\nContent-Type: text/html; charset=utf-8\r\n",
                 repeat(unit, bytes));
}

/// One hostile input: how to make it at a size, and what to run on it.
struct path_case {
  const char* name;
  std::function<std::string(std::size_t)> make;
  std::function<void(const std::string&)> run;
};

void parse_it(const std::string& raw) {
  auto result = mail::parse(raw);
  if (!result.parsed && raw.size() < 10) std::abort(); // keep the call
}

void convert_it(const std::string& raw) {
  static exc::address_book connected;
  exc::inbound_mail base;
  base.account_id = "acc";
  auto out = exc::convert_mail(raw, base, connected);
  if (out.subject.size() > raw.size()) std::abort();
}

std::vector<path_case> cases() {
  std::vector<path_case> all;
  auto html = [&](const char* name, std::string unit) {
    all.push_back({name, [unit](std::size_t n) { return repeat(unit, n); },
                   [](const std::string& s) { mail::html_to_text(s); }});
  };
  html("html-to-text: <title></title>", "<title></title>");
  html("html-to-text: <script> never closed", "<script>x</scrip");
  html("html-to-text: &", "&");
  html("html-to-text: entities", "&#x41;&amp;&hellip;");
  html("html-to-text: text and tags", "<p>Hello <b>world</b>,<br>again</p>\n");
  all.push_back({"rfc2047: words never closed",
                 [](std::size_t n) { return repeat("=?utf-8?q?a", n); },
                 [](const std::string& s) { mail::detail::normalize_encoded_words(s); }});
  all.push_back({"rfc2047: words closed far away",
                 [](std::size_t n) { return repeat("=?utf-8?q?a=?", n) + " ?="; },
                 [](const std::string& s) { mail::detail::normalize_encoded_words(s); }});
  all.push_back({"rfc2047: many words",
                 [](std::size_t n) { return repeat("=?utf-8?q?=C3=A4?= ", n); },
                 [](const std::string& s) { mail::detail::normalize_encoded_words(s); }});
  all.push_back({"subject tokens: [#", [](std::size_t n) { return repeat("[#t1 ", n); },
                 [](const std::string& s) { mail::subject_tokens(s); }});
  all.push_back({"mime: many parts",
                 [](std::size_t n) {
                   return message(
                       "Subject: parts\r\nMIME-Version: 1.0\r\n"
                       "Content-Type: multipart/mixed; boundary=b\r\n",
                       repeat("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n", n) +
                           "--b--\r\n");
                 },
                 parse_it});
  all.push_back({"mime: deep nesting",
                 [](std::size_t n) {
                   std::string body;
                   std::size_t depth = 0;
                   while (body.size() < n) {
                     auto b = std::to_string(depth++);
                     body += "--" + b + "\r\nContent-Type: multipart/mixed; boundary=" +
                             std::to_string(depth) + "\r\n\r\n";
                   }
                   return message(
                       "Subject: deep\r\nContent-Type: multipart/mixed; boundary=0\r\n",
                       body);
                 },
                 parse_it});
  all.push_back({"mime: many header fields",
                 [](std::size_t n) {
                   return message(repeat("X-Filler: some value\r\n", n), "body\r\n");
                 },
                 parse_it});
  all.push_back({"mime: one long folded Subject",
                 [](std::size_t n) {
                   return message("Subject: " + repeat("word\r\n ", n) + "end\r\n",
                                  "body\r\n");
                 },
                 parse_it});
  all.push_back({"mime: encoded words never closed in Subject",
                 [](std::size_t n) {
                   return message("Subject: " + repeat("=?utf-8?q?a", n) + "\r\n",
                                  "body\r\n");
                 },
                 parse_it});
  all.push_back({"mime: RFC 2231 continuations",
                 [](std::size_t n) {
                   std::string params;
                   for (std::size_t i = 0; params.size() < n; ++i)
                     params += ";\r\n filename*" + std::to_string(i) + "*=utf-8''a%C3%A4";
                   return message("Subject: a\r\nContent-Type: multipart/mixed; "
                                  "boundary=b\r\n",
                                  "--b\r\nContent-Type: application/pdf\r\n"
                                  "Content-Disposition: attachment" +
                                      params + "\r\n\r\nx\r\n--b--\r\n");
                 },
                 parse_it});
  all.push_back({"mime: many To addresses",
                 [](std::size_t n) {
                   std::string to = "To: ";
                   for (std::size_t i = 0; to.size() < n; ++i)
                     to += "u" + std::to_string(i) + "@example.com, ";
                   return message("Subject: a\r\n" + to + "x@example.com\r\n",
                                  "body\r\n");
                 },
                 parse_it});
  all.push_back(
      {"mime: 8-bit header lines (parse problems)",
       [](std::size_t n) { return message(repeat("X-A: \xff\r\n", n), "x\r\n"); },
       parse_it});
  all.push_back({"mime: body in an unknown charset",
                 [](std::size_t n) {
                   return message(
                       "Subject: a\r\nContent-Type: text/plain; charset=x-junk\r\n",
                       repeat("\xe4\xf6\xfc \xff\xfe", n));
                 },
                 parse_it});
  all.push_back({"mime: invalid UTF-8 body",
                 [](std::size_t n) {
                   return message(
                       "Subject: a\r\nContent-Type: text/plain; charset=utf-8\r\n",
                       repeat("a\xc3\xc3\xe2\x82", n));
                 },
                 parse_it});
  all.push_back({"mime: iso-2022-jp body",
                 [](std::size_t n) {
                   return message(
                       "Subject: a\r\nContent-Type: text/plain; charset=iso-2022-jp\r\n",
                       repeat("\x1b$B$3$s\x1b(B a \x1b$B", n));
                 },
                 parse_it});
  all.push_back({"convert: cid links and inline images",
                 [](std::size_t n) {
                   std::string parts;
                   for (int i = 0; i < 200; ++i)
                     parts += "--b\r\nContent-Type: image/png\r\nContent-ID: <i" +
                              std::to_string(i) + ">\r\n\r\nx\r\n";
                   return message("Subject: a\r\nContent-Type: multipart/related; "
                                  "boundary=b\r\n",
                                  "--b\r\nContent-Type: text/html\r\n\r\n" +
                                      repeat("<img src=\"cid:i7\">cid:", n) + "\r\n" +
                                      parts + "--b--\r\n");
                 },
                 convert_it});
  all.push_back({"convert: References ids",
                 [](std::size_t n) {
                   std::string refs = "References:";
                   for (std::size_t i = 0; refs.size() < n; ++i)
                     refs += " <r" + std::to_string(i % 1000) + "@example.org>\r\n";
                   return message("Subject: a\r\n" + refs, "body\r\n");
                 },
                 convert_it});
  all.push_back({"convert: HTML-only mail of <title></title>",
                 [](std::size_t n) { return html_mail(n, "<title></title>"); },
                 convert_it});
  all.push_back({"rest json: nested arrays",
                 [](std::size_t n) { return repeat("[", n / 2) + repeat("]", n / 2); },
                 [](const std::string& s) {
                   auto j = nlohmann::json::parse(s, nullptr, false);
                   if (j.is_discarded() && s.empty()) std::abort();
                 }});
  all.push_back({"rest json: many keys",
                 [](std::size_t n) {
                   std::string s = "{";
                   for (std::size_t i = 0; s.size() < n; ++i)
                     s += "\"k" + std::to_string(i) + "\":1,";
                   s.back() = '}';
                   return s;
                 },
                 [](const std::string& s) {
                   auto j = nlohmann::json::parse(s, nullptr, false);
                   if (j.is_discarded()) std::abort();
                 }});
  return all;
}

/// Seconds the fastest of a few runs took (one run if it is slow anyway).
double seconds(const path_case& c, const std::string& input) {
  double best = 1e9;
  for (int run = 0; run < 3; ++run) {
    auto start = clock_type::now();
    c.run(input);
    double s = std::chrono::duration<double>(clock_type::now() - start).count();
    best = std::min(best, s);
    if (s > 2) break;
  }
  return best;
}

/// A /proc/self/status field in KiB.
long status_kib(const char* field) {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field) + 1));
  return -1;
}

/// Peak memory above what was resident before while `raw` converts, in MB.
double peak_extra_mb(const std::string& raw) {
  std::ofstream{"/proc/self/clear_refs"} << "5"; // resets the peak (VmHWM)
  long before = status_kib("VmRSS:");
  convert_it(raw);
  return (status_kib("VmHWM:") - before) / 1024.0;
}

/// The peak memory of converting large messages, each in a process of its own: a 50 MB
/// message (attachments in base64 and an HTML body) and hostile ones of 16 MB.
int measure_memory() {
  constexpr std::size_t mb = 1024 * 1024;
  std::vector<std::pair<const char*, std::function<std::string()>>> inputs;
  inputs.emplace_back("HTML body + 4 base64 attachments", [] {
    std::string attachments;
    for (int i = 0; i < 4; ++i) {
      attachments +=
          "--b\r\nContent-Type: application/octet-stream\r\n"
          "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; "
          "filename=\"f" +
          std::to_string(i) + ".bin\"\r\n\r\n";
      attachments +=
          repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9w\r\n", 10 * mb);
    }
    return message("Subject: big\r\nMIME-Version: 1.0\r\n"
                   "Content-Type: multipart/mixed; boundary=b\r\n",
                   "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
                       repeat("<p>Some <b>text</b> &amp; more</p>\r\n", 10 * mb) +
                       "\r\n" + attachments + "--b--\r\n");
  });
  for (const auto& c : cases())
    if (std::string{c.name}.rfind("mime:", 0) == 0 ||
        std::string{c.name}.rfind("convert:", 0) == 0) {
      auto make = c.make;
      inputs.emplace_back(c.name, [make] { return make(16 * mb); });
    }
  std::printf("| message | size | peak memory above the input | ratio |\n"
              "|---|---:|---:|---:|\n");
  for (const auto& [name, make] : inputs) {
    std::fflush(stdout);
    if (fork() == 0) {
      auto raw = make();
      double extra = peak_extra_mb(raw);
      double size = raw.size() / double(mb);
      std::printf("| %s | %.1f MB | %.1f MB | %.2f |\n", name, size, extra, extra / size);
      std::fflush(stdout);
      _exit(0);
    }
    int status = 0;
    wait(&status);
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  bool check = false;
  std::vector<std::size_t> sizes{1, 2, 4, 8};
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--check") {
      check = true;
    } else if (arg == "--memory") {
      return measure_memory();
    } else if (arg == "--sizes" && i + 1 < argc) {
      sizes.clear();
      std::stringstream list{argv[++i]};
      for (std::string n; std::getline(list, n, ',');)
        sizes.push_back(std::stoul(n));
    } else if (arg == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::cerr << "usage: bench-growth [--check] [--sizes 1,2,4,8] [--only NAME] | "
                   "bench-growth --memory\n";
      return 2;
    }
  }
  // Memory freed by one run is kept for the next: this VM's page faults are slow enough
  // to swamp the figures of large inputs otherwise (the best of three runs is reported).
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  std::printf("| path |");
  for (auto mb : sizes)
    std::printf(" %zu MB |", mb);
  std::printf(" ratio |\n|---|");
  for (std::size_t i = 0; i <= sizes.size(); ++i)
    std::printf("---:|");
  std::printf("\n");
  bool linear = true;
  for (const auto& c : cases()) {
    if (!only.empty() && std::string{c.name}.find(only) == std::string::npos) continue;
    std::printf("| %s |", c.name);
    std::vector<double> times;
    for (auto mb : sizes) {
      times.push_back(seconds(c, c.make(mb * 1024 * 1024)));
      std::printf(" %.1f ms |", times.back() * 1000);
      std::fflush(stdout);
    }
    // Below a millisecond the clock's noise is the figure: count it as a millisecond.
    double ratio = std::max(times.back(), 1e-3) / std::max(times.front(), 1e-3);
    double allowed = 10.0 * (sizes.back() / double(sizes.front())) / 8;
    bool ok = ratio <= allowed;
    linear = linear && ok;
    std::printf(" %.1f%s |\n", ratio, ok ? "" : " (too steep)");
  }
  return check && !linear ? 1 : 0;
}

#include "mail/html_text.hpp"

#include "mail/ascii.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>

namespace mail {

namespace {

using detail::ascii_lower;

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// The character of a named entity (the common ones in mail); 0 if unknown.
std::uint32_t named_entity(std::string_view name) {
  static const std::pair<const char*, std::uint32_t> table[] = {
      {"amp", '&'},      {"lt", '<'},        {"gt", '>'},       {"quot", '"'},
      {"apos", '\''},    {"nbsp", 0xA0},     {"copy", 0xA9},    {"reg", 0xAE},
      {"trade", 0x2122}, {"euro", 0x20AC},   {"pound", 0xA3},   {"yen", 0xA5},
      {"cent", 0xA2},    {"sect", 0xA7},     {"deg", 0xB0},     {"middot", 0xB7},
      {"laquo", 0xAB},   {"raquo", 0xBB},    {"ndash", 0x2013}, {"mdash", 0x2014},
      {"lsquo", 0x2018}, {"rsquo", 0x2019},  {"ldquo", 0x201C}, {"rdquo", 0x201D},
      {"bull", 0x2022},  {"hellip", 0x2026}, {"auml", 0xE4},    {"ouml", 0xF6},
      {"uuml", 0xFC},    {"Auml", 0xC4},     {"Ouml", 0xD6},    {"Uuml", 0xDC},
      {"szlig", 0xDF},   {"eacute", 0xE9},   {"egrave", 0xE8},  {"agrave", 0xE0},
      {"ccedil", 0xE7},  {"times", 0xD7},    {"shy", 0xAD},     {"zwnj", 0x200C}};
  for (const auto& [n, cp] : table)
    if (name == n) return cp;
  return 0;
}

bool block_tag(const std::string& tag) {
  static const char* const blocks[] = {
      "p",      "div",  "tr",      "table",   "h1",     "h2",         "h3",
      "h4",     "h5",   "h6",      "ul",      "ol",     "blockquote", "hr",
      "pre",    "form", "section", "article", "header", "footer",     "address",
      "center", "dl",   "dt",      "dd"};
  return std::any_of(std::begin(blocks), std::end(blocks),
                     [&](const char* b) { return tag == b; });
}

/// Builds the text: runs of white space become one space (outside <pre>), block
/// boundaries become line breaks (at most one empty line in a row).
class text_builder {
public:
  void text(char c, bool pre) {
    bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
    if (pre) {
      if (c == '\r') return;
      if (c == '\n') return newline();
      out_ += c;
      return;
    }
    if (space) {
      pending_space_ = !out_.empty() && out_.back() != '\n';
      return;
    }
    flush_space();
    out_ += c;
  }
  void utf8(std::uint32_t cp) {
    flush_space();
    append_utf8(out_, cp == 0xA0 ? ' ' : cp);
  }
  void newline() {
    pending_space_ = false;
    if (out_.empty()) return; // no empty lines at the start
    while (!out_.empty() && out_.back() == ' ')
      out_.pop_back();
    out_ += '\n';
  }
  /// A block boundary: the text goes on at the start of a line, after at most one
  /// empty line.
  void paragraph() {
    pending_space_ = false;
    while (!out_.empty() && out_.back() == ' ')
      out_.pop_back();
    if (out_.empty()) return;
    auto n = out_.size();
    std::size_t newlines = 0;
    while (newlines < n && out_[n - 1 - newlines] == '\n')
      ++newlines;
    for (; newlines < 2; ++newlines)
      out_ += '\n';
  }
  void raw(const std::string& s) {
    flush_space();
    out_ += s;
  }
  std::string finish() {
    while (!out_.empty() && (out_.back() == '\n' || out_.back() == ' '))
      out_.pop_back();
    return std::move(out_);
  }

private:
  void flush_space() {
    if (pending_space_ && !out_.empty() && out_.back() != '\n') out_ += ' ';
    pending_space_ = false;
  }
  std::string out_;
  bool pending_space_ = false;
};

/// Where `</tag` (any case) starts in `html` at or after `from`; npos if nowhere. One
/// pass over the text, so skipping script or style costs what it skips.
std::size_t find_closing(std::string_view html, std::size_t from, std::string_view tag,
                         time_budget& budget) {
  for (auto i = html.find("</", from); i != std::string_view::npos;
       i = html.find("</", i + 2)) {
    budget.check();
    auto name = html.substr(i + 2, tag.size());
    if (name.size() == tag.size() &&
        std::equal(name.begin(), name.end(), tag.begin(), [](char x, char y) {
          return std::tolower(static_cast<unsigned char>(x)) == y;
        }))
      return i;
  }
  return std::string_view::npos;
}

/// The longest entity we decode, "&hellip;" and "&#x10FFFF;" included: the ';' is looked
/// for only this far, so a text full of '&' costs linear time.
constexpr std::size_t max_entity = 10;

/// The character of the entity at html[i] ('&'), and where it ends; 0 if none.
std::pair<std::uint32_t, std::size_t> entity_at(std::string_view html, std::size_t i) {
  auto window = html.substr(i + 1, max_entity);
  auto semicolon = window.find(';');
  if (semicolon == std::string_view::npos) return {0, i};
  auto entity = window.substr(0, semicolon);
  auto end = i + 1 + semicolon + 1;
  if (entity.empty() || entity.front() != '#') return {named_entity(entity), end};
  bool hex = entity.size() > 1 && (entity[1] == 'x' || entity[1] == 'X');
  auto digits = entity.substr(hex ? 2 : 1);
  if (digits.empty()) return {0, i};
  std::uint32_t value = 0;
  for (char c : digits) {
    int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
            : hex && std::isxdigit(static_cast<unsigned char>(c))
                ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                : -1;
    if (d < 0) return {0, i};
    value = std::min<std::uint32_t>(value * (hex ? 16 : 10) + d, 0x110000);
  }
  return {value == 0 || value > 0x10FFFF ? 0xFFFD : value, end};
}

} // namespace

std::string html_to_text(std::string_view html, time_budget& budget) {
  text_builder out;
  int pre = 0;
  std::size_t i = 0;
  while (i < html.size()) {
    budget.check();
    char c = html[i];
    if (c == '<') {
      if (html.substr(i, 4) == "<!--") { // a comment
        auto end = html.find("-->", i + 4);
        i = end == std::string_view::npos ? html.size() : end + 3;
        continue;
      }
      auto end = html.find('>', i);
      if (end == std::string_view::npos) break; // a cut-off tag: drop it
      auto inside = html.substr(i + 1, end - i - 1);
      bool closing = !inside.empty() && inside.front() == '/';
      if (closing) inside.remove_prefix(1);
      auto name_end = inside.find_first_of(" \t\r\n/>");
      // Tag names we act on are short; a long one is no tag of ours.
      auto tag = ascii_lower(inside.substr(0, std::min<std::size_t>(name_end, 16)));
      i = end + 1;
      if (!closing && (tag == "script" || tag == "style" || tag == "head" ||
                       tag == "title")) { // their content is not text
        auto close = find_closing(html, i, tag, budget);
        i = close == std::string_view::npos ? html.size() : close;
        continue;
      }
      if (tag == "br") {
        out.newline();
      } else if (tag == "li") {
        if (!closing) {
          out.newline();
          out.raw("- ");
        }
      } else if (tag == "td" || tag == "th") {
        if (!closing) out.text(' ', false);
      } else if (block_tag(tag)) {
        out.paragraph();
        if (tag == "pre") pre = closing ? std::max(0, pre - 1) : pre + 1;
      }
      continue;
    }
    if (c == '&') {
      if (auto [cp, end] = entity_at(html, i); cp != 0) {
        out.utf8(cp);
        i = end;
        continue;
      }
    }
    out.text(c, pre > 0);
    ++i;
  }
  return out.finish();
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out.push_back(c);
    }
  }
  return out;
}

} // namespace mail

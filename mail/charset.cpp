#include "mail/charset.hpp"

#include "mail/gmime.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <iconv.h>
#include <string>
#include <vector>

namespace mail::detail {

namespace {

constexpr std::string_view replacement_char = "\xEF\xBF\xBD"; // U+FFFD

void append_code_point(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    // windows-1252 never maps beyond the BMP.
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// Length of the well-formed UTF-8 sequence at the start of `s`, or 0 if there is none
/// (ranges from RFC 3629, section 4).
std::size_t utf8_sequence_length(std::string_view s) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto in = [&](std::size_t i, unsigned lo, unsigned hi) {
    return i < s.size() && byte(i) >= lo && byte(i) <= hi;
  };
  unsigned lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return in(1, 0x80, 0xBF) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    unsigned lo = lead == 0xE0 ? 0xA0 : 0x80; // no overlongs
    unsigned hi = lead == 0xED ? 0x9F : 0xBF; // no surrogates
    return in(1, lo, hi) && in(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    unsigned lo = lead == 0xF0 ? 0x90 : 0x80; // no overlongs
    unsigned hi = lead == 0xF4 ? 0x8F : 0xBF; // nothing above U+10FFFF
    return in(1, lo, hi) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

/// Copies `bytes`, replacing every ill-formed byte by U+FFFD. Returns false if it had to.
bool repair_utf8(std::string_view bytes, std::string& out) {
  bool clean = true;
  out.reserve(out.size() + bytes.size());
  while (!bytes.empty()) {
    if (auto n = utf8_sequence_length(bytes); n > 0) {
      out.append(bytes.substr(0, n));
      bytes.remove_prefix(n);
    } else {
      out += replacement_char;
      bytes.remove_prefix(1);
      clean = false;
    }
  }
  return clean;
}

bool is_ascii(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string lower(std::string_view s) {
  std::string result(s);
  for (auto& c : result)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return result;
}

template <std::size_t N>
bool one_of(const std::string& label, const std::array<std::string_view, N>& names) {
  return std::find(names.begin(), names.end(), label) != names.end();
}

// Labels as listed by the WHATWG Encoding Standard, restricted to what mail uses.
constexpr std::array<std::string_view, 4> utf8_labels = {
    "utf-8", "utf8", "unicode-1-1-utf-8", "x-unicode20utf8"};
constexpr std::array<std::string_view, 5> ascii_labels = {
    "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us"};
constexpr std::array<std::string_view, 14> latin1_labels = {
    "iso-8859-1",  "iso8859-1",    "iso88591", "iso_8859-1", "iso_8859-1:1987",
    "latin1",      "l1",           "cp819",    "ibm819",     "iso-ir-100",
    "csisolatin1", "windows-1252", "cp1252",   "x-cp1252"};

const iconv_t no_converter = reinterpret_cast<iconv_t>(-1);

/// Converters to UTF-8 kept open, per thread (an iconv_t is not shared), by charset
/// name. Opening one makes glibc load the charset's module (dlopen) and closing the
/// last one unloads it: per mail that cost more than the conversion itself. At most
/// `capacity` names, the least recently used closed first; a name iconv does not know
/// is kept too (as no_converter), so a mail naming it again and again costs nothing.
class converter_cache {
public:
  static constexpr std::size_t capacity = 16;

  converter_cache() = default;
  converter_cache(const converter_cache&) = delete;
  converter_cache& operator=(const converter_cache&) = delete;
  ~converter_cache() {
    for (auto& e : entries_)
      if (e.cd != no_converter) iconv_close(e.cd);
  }

  /// The converter from `charset` (an iconv name), or no_converter.
  iconv_t get(const std::string& charset) {
    auto hit = std::find_if(entries_.begin(), entries_.end(),
                            [&](const entry& e) { return e.charset == charset; });
    if (hit != entries_.end()) {
      std::rotate(hit, hit + 1, entries_.end()); // the most recent is last
      return entries_.back().cd;
    }
    if (entries_.size() == capacity) {
      if (entries_.front().cd != no_converter) iconv_close(entries_.front().cd);
      entries_.erase(entries_.begin());
    }
    entries_.push_back({charset, iconv_open("UTF-8", charset.c_str())});
    return entries_.back().cd;
  }

private:
  struct entry {
    std::string charset;
    iconv_t cd;
  };
  std::vector<entry> entries_; ///< least recently used first
};

/// The converter from `charset` to UTF-8, or no_converter. GMime maps mail-specific
/// aliases (ks_c_5601-1987, x-sjis, ...) to iconv names first.
iconv_t converter_to_utf8(const std::string& charset) {
  thread_local converter_cache cache;
  return cache.get(g_mime_charset_iconv_name(charset.c_str()));
}

/// Converts with iconv; bytes invalid in `charset` become U+FFFD and clear `clean`.
/// `charset` must be one iconv knows (see known_to_iconv).
std::string iconv_to_utf8(std::string_view bytes, const std::string& charset,
                          bool& clean) {
  clean = true;
  std::string out;
  iconv_t cd = converter_to_utf8(charset);
  if (cd == no_converter)
    return windows_1252_to_utf8(bytes); // unreachable unless iconv changed under us
  iconv(cd, nullptr, nullptr, nullptr, nullptr); // the initial state (it is reused)
  std::array<char, 4096> buffer;
  auto* in = const_cast<char*>(bytes.data()); // iconv never writes through it
  std::size_t in_left = bytes.size();
  bool flushing = false;
  for (;;) {
    char* dst = buffer.data();
    std::size_t dst_left = buffer.size();
    // A final call with no input flushes the shift state of stateful charsets.
    auto rc = flushing ? iconv(cd, nullptr, nullptr, &dst, &dst_left)
                       : iconv(cd, &in, &in_left, &dst, &dst_left);
    auto err = errno;
    out.append(buffer.data(), buffer.size() - dst_left);
    if (rc != static_cast<std::size_t>(-1)) {
      if (flushing) break;
      flushing = true;
      continue;
    }
    if (err == E2BIG) continue;
    // EILSEQ (invalid input) or EINVAL (incomplete sequence at the end): skip one byte.
    clean = false;
    out += replacement_char;
    if (in_left > 0) {
      ++in;
      --in_left;
    }
    iconv(cd, nullptr, nullptr, nullptr, nullptr); // reset the shift state
  }
  return out;
}

bool known_to_iconv(const std::string& charset) {
  // GMime caches every name it is asked about; input must not grow that table at will.
  if (charset.size() > 64) return false;
  init_gmime(); // g_mime_charset_iconv_name reads GMime's alias table
  return converter_to_utf8(charset) != no_converter;
}

} // namespace

bool is_utf8(std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = utf8_sequence_length(bytes);
    if (n == 0) return false;
    bytes.remove_prefix(n);
  }
  return true;
}

std::string windows_1252_to_utf8(std::string_view bytes) {
  // 0x80-0x9F; the five bytes windows-1252 leaves undefined map to C1 controls (WHATWG).
  static constexpr std::array<std::uint16_t, 32> high = {
      0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
      0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
      0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
      0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 4);
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    append_code_point(out, b >= 0x80 && b <= 0x9F ? high[b - 0x80] : b);
  }
  return out;
}

std::string ensure_utf8(std::string_view bytes) {
  return is_utf8(bytes) ? std::string(bytes) : windows_1252_to_utf8(bytes);
}

std::string decoding_charset(std::string_view charset, std::string_view bytes,
                             std::string& problem) {
  auto label = lower(charset);
  auto guess = [&](const std::string& why) {
    std::string chosen = is_utf8(bytes) ? "utf-8" : "windows-1252";
    problem = why + ", decoded as " + chosen;
    return chosen;
  };
  if (label.empty() || one_of(label, ascii_labels)) {
    if (is_ascii(bytes)) return "us-ascii";
    return guess(label.empty() ? "8-bit text without charset"
                               : "8-bit text labelled " + label);
  }
  if (one_of(label, utf8_labels)) return "utf-8";
  if (one_of(label, latin1_labels)) return "windows-1252";
  if (!known_to_iconv(label)) return guess("unknown charset " + label);
  return label;
}

utf8_text to_utf8(std::string_view bytes, std::string_view charset) {
  utf8_text result;
  auto chosen = decoding_charset(charset, bytes, result.problem);
  bool clean = true;
  if (chosen == "us-ascii")
    result.text = std::string(bytes);
  else if (chosen == "utf-8")
    clean = repair_utf8(bytes, result.text);
  else if (chosen == "windows-1252")
    result.text = windows_1252_to_utf8(bytes);
  else
    result.text = iconv_to_utf8(bytes, chosen, clean);
  if (!clean) result.problem = "invalid " + chosen + " replaced by U+FFFD";
  return result;
}

} // namespace mail::detail

#include "mail/rfc2047.hpp"

#include "mail/charset.hpp"

#include <optional>

namespace mail::detail {

namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/// One word's base64 decoded on its own, as RFC 2047 requires; a pad ends the data.
std::string decode_b(std::string_view text) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = base64_value(c);
    if (v < 0) break;
    acc = ((acc << 6) | static_cast<unsigned>(v)) & 0xFFFFFF;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::string decode_q(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '_') {
      out += ' ';
    } else if (text[i] == '=' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i]; // a stray '=' stays, as in GMime's loose mode
    }
  }
  return out;
}

/// Q-encodes every byte except letters and digits, which is valid in any header context
/// (RFC 2047, section 5), quoted strings and parameter values included.
std::string encode_q(std::string_view bytes) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    if ((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9')) {
      out += c;
    } else {
      out += '=';
      out += hex[b >> 4];
      out += hex[b & 0x0F];
    }
  }
  return out;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

struct encoded_word {
  std::size_t begin;   ///< offset of "=?"
  std::size_t end;     ///< offset after "?="
  std::string charset; ///< lower case, without an RFC 2231 "*language" suffix
  std::string bytes;   ///< decoded, still in `charset`
};

/// Charset names have at most 40 characters (RFC 2978); 64 leave room for a language.
constexpr std::size_t max_charset = 64;

/// Finds where encoded-word text ends: the first "?=" or white space at or after a
/// position. Answers are remembered, so the scans for all words of a header together
/// read each character about once, however many "=?" the header holds.
class text_end_finder {
public:
  explicit text_end_finder(std::string_view raw) : raw_(raw) {}

  std::size_t operator()(std::size_t from) {
    // The remembered stop is also the first one at or after `from` if nothing stops
    // between: only that stretch (shorter than a charset name) is read again.
    if (known_ != std::string_view::npos && from <= known_ && from >= known_from_)
      return known_;
    if (known_ != std::string_view::npos && from < known_from_) {
      auto stop = scan(from, known_from_ + 1);
      if (stop != std::string_view::npos) return stop;
      return known_;
    }
    known_from_ = from;
    known_ = scan(from, raw_.size());
    if (known_ == std::string_view::npos) known_ = raw_.size(); // runs to the end
    return known_;
  }

private:
  /// The first stop in [from, to), npos if none.
  std::size_t scan(std::size_t from, std::size_t to) const {
    for (auto i = from; i < to && i < raw_.size(); ++i)
      if (is_space(raw_[i]) ||
          (raw_[i] == '?' && i + 1 < raw_.size() && raw_[i + 1] == '='))
        return i;
    return std::string_view::npos;
  }

  std::string_view raw_;
  std::size_t known_from_ = 0;
  std::size_t known_ = std::string_view::npos;
};

/// Recognises "=?charset?B|Q?text?=" at `pos`.
std::optional<encoded_word> match_word(std::string_view raw, std::size_t pos,
                                       text_end_finder& text_end_of) {
  auto head = raw.substr(pos, 2 + max_charset + 3);
  auto charset_end = head.find('?', 2);
  if (charset_end == std::string_view::npos || charset_end == 2 ||
      charset_end > 2 + max_charset || head.size() < charset_end + 3 ||
      head[charset_end + 2] != '?')
    return std::nullopt;
  auto charset = head.substr(2, charset_end - 2);
  for (char c : charset)
    if (is_space(c)) return std::nullopt;
  char encoding = head[charset_end + 1];
  auto text_begin = pos + charset_end + 3;
  auto text_end = text_end_of(text_begin);
  // White space, or the end of the value, before "?=": not an encoded word.
  if (text_end + 1 >= raw.size() || raw[text_end] != '?' || raw[text_end + 1] != '=')
    return std::nullopt;
  auto text = raw.substr(text_begin, text_end - text_begin);
  encoded_word word{pos, text_end + 2, lower(charset.substr(0, charset.find('*'))), {}};
  if (encoding == 'B' || encoding == 'b') {
    for (char c : text)
      if (base64_value(c) < 0 && c != '=')
        return std::nullopt; // not base64: leave it to GMime
    word.bytes = decode_b(text);
  } else if (encoding == 'Q' || encoding == 'q') {
    word.bytes = decode_q(text);
  } else {
    return std::nullopt;
  }
  return word;
}

/// Appends text that holds no encoded word; each "=?" in it becomes an encoded word of
/// its own. GMime's lenient decoder looks for the end of every "=?" up to the end of the
/// field (quadratic time on a field full of them), and would still find none.
void append_escaped(std::string& out, std::string_view text) {
  for (auto at = text.find("=?"); at != std::string_view::npos; at = text.find("=?")) {
    out.append(text.substr(0, at));
    out += "=?us-ascii?Q?=3D=3F?=";
    text.remove_prefix(at + 2);
  }
  out.append(text);
}

/// True if only white space separates the two words: RFC 2047 says to drop it.
bool adjacent(std::string_view raw, const encoded_word& x, const encoded_word& y) {
  for (auto i = x.end; i < y.begin; ++i)
    if (!is_space(raw[i])) return false;
  return true;
}

} // namespace

normalized_words normalize_encoded_words(std::string_view raw) {
  normalized_words result;
  result.text.reserve(raw.size());
  std::size_t copied = 0; // raw[0, copied) is in result.text already
  // The run being collected: adjacent words in one charset, joined before conversion.
  std::optional<encoded_word> run;
  auto flush = [&] {
    std::string problem;
    auto charset = decoding_charset(run->charset, run->bytes, problem);
    // Each run may have its own; a few say enough (the parse problem list is capped).
    if (!problem.empty() && result.problems.size() < 8)
      result.problems.push_back("encoded word with " + problem);
    append_escaped(result.text, raw.substr(copied, run->begin - copied));
    result.text += "=?" + charset + "?Q?" + encode_q(run->bytes) + "?=";
    copied = run->end;
    run.reset();
  };
  text_end_finder text_end_of{raw};
  for (std::size_t pos = 0; (pos = raw.find("=?", pos)) != std::string_view::npos;) {
    auto word = match_word(raw, pos, text_end_of);
    if (!word) {
      pos += 2;
      continue;
    }
    pos = word->end;
    if (run && run->charset == word->charset && adjacent(raw, *run, *word)) {
      run->bytes += word->bytes;
      run->end = word->end;
      continue;
    }
    if (run) flush();
    run = std::move(word);
  }
  if (run) flush();
  append_escaped(result.text, raw.substr(copied));
  return result;
}

} // namespace mail::detail

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

/// Recognises "=?charset?B|Q?text?=" at `pos`.
std::optional<encoded_word> match_word(std::string_view raw, std::size_t pos) {
  auto s = raw.substr(pos);
  auto charset_end = s.find('?', 2);
  // Charset names have at most 40 characters (RFC 2978); 64 leave room for a language.
  if (charset_end == std::string_view::npos || charset_end == 2 || charset_end > 66 ||
      s.size() < charset_end + 3 || s[charset_end + 2] != '?')
    return std::nullopt;
  auto charset = s.substr(2, charset_end - 2);
  char encoding = s[charset_end + 1];
  auto text_begin = charset_end + 3;
  auto text_end = s.find("?=", text_begin);
  if (text_end == std::string_view::npos) return std::nullopt;
  auto text = s.substr(text_begin, text_end - text_begin);
  for (char c : charset)
    if (is_space(c)) return std::nullopt;
  for (char c : text)
    if (is_space(c)) return std::nullopt;
  encoded_word word{
      pos, pos + text_end + 2, lower(charset.substr(0, charset.find('*'))), {}};
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

std::vector<encoded_word> find_words(std::string_view raw) {
  std::vector<encoded_word> words;
  std::size_t pos = 0;
  while ((pos = raw.find("=?", pos)) != std::string_view::npos) {
    if (auto word = match_word(raw, pos)) {
      pos = word->end;
      words.push_back(std::move(*word));
    } else {
      pos += 2;
    }
  }
  return words;
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
  auto words = find_words(raw);
  std::size_t copied = 0; // raw[0, copied) is in result.text already
  for (std::size_t first = 0; first < words.size();) {
    // A run: adjacent words in the same charset, joined before conversion.
    auto last = first;
    std::string bytes = words[first].bytes;
    while (last + 1 < words.size() && words[last + 1].charset == words[first].charset &&
           adjacent(raw, words[last], words[last + 1]))
      bytes += words[++last].bytes;
    std::string problem;
    auto charset = decoding_charset(words[first].charset, bytes, problem);
    if (!problem.empty()) result.problems.push_back("encoded word with " + problem);
    result.text.append(raw.substr(copied, words[first].begin - copied));
    result.text += "=?" + charset + "?Q?" + encode_q(bytes) + "?=";
    copied = words[last].end;
    first = last + 1;
  }
  result.text.append(raw.substr(copied));
  return result;
}

} // namespace mail::detail

#pragma once

#include <string>
#include <string_view>

/// Charset handling for mail/ (internal).
namespace mail::detail {

/// True if `bytes` is well-formed UTF-8 (no overlongs, surrogates or values > U+10FFFF).
bool is_utf8(std::string_view bytes);

/// Decodes `bytes` as windows-1252 the way browsers do (WHATWG): a superset of
/// ISO-8859-1 whose 0x80-0x9F range holds the curly quotes, dashes and the euro sign.
std::string windows_1252_to_utf8(std::string_view bytes);

/// `bytes` unchanged if it is UTF-8, else decoded as windows-1252. For raw header bytes.
std::string ensure_utf8(std::string_view bytes);

/// The charset to decode `bytes` labelled `charset` (empty: no label) with:
/// - ISO-8859-1 labels mean windows-1252, as in browsers, since mailers put curly
///   quotes and euro signs into text they label ISO-8859-1;
/// - 8-bit text without a label or labelled US-ASCII, and text in a charset iconv does
///   not know, is UTF-8 if valid, else windows-1252: a guess, described in `problem`;
/// - any other label is returned as is (lower case; "us-ascii" for 7-bit text).
/// `problem` is left alone when nothing had to be guessed.
std::string decoding_charset(std::string_view charset, std::string_view bytes,
                             std::string& problem);

/// Text converted to UTF-8, and what had to be guessed or repaired on the way.
struct utf8_text {
  std::string text;
  std::string problem; ///< empty when the bytes matched their declared charset
};

/// Converts body bytes labelled `charset` (empty if none) to UTF-8 with the charset that
/// decoding_charset picks. Bytes invalid in that charset become U+FFFD (reported).
utf8_text to_utf8(std::string_view bytes, std::string_view charset);

} // namespace mail::detail

#pragma once

#include <string>
#include <string_view>
#include <vector>

/// RFC 2047 encoded words (internal to mail/).
namespace mail::detail {

/// A raw header value with its encoded words made safe for GMime to decode.
struct normalized_words {
  std::string text;
  std::vector<std::string> problems; ///< charsets that had to be guessed
};

/// Rewrites each run of adjacent encoded words of one charset as a single Q-encoded word
/// and leaves everything else untouched, so that GMime's decoder gets input it handles:
/// - GMime 3.2.13 (Debian 12) joins the base64 of adjacent B words and stops at the first
///   '=' pad, so "=?UTF-8?B?SGk=?= =?UTF-8?B?IHRoZXJl?=" gives "Hi"
///   (jstedfast/gmime#133). Outlook pads every word of long subjects and file names. Each
///   word is decoded here on its own, and the run is joined afterwards so characters
///   split across words survive.
/// - GMime drops the 8-bit bytes of a word in a charset iconv does not know. Such runs,
///   and runs labelled UTF-8 that are not, are relabelled UTF-8 if valid, else
///   windows-1252, and reported.
normalized_words normalize_encoded_words(std::string_view raw);

} // namespace mail::detail

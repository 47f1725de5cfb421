#pragma once

#include "mail/message.hpp"
#include "mail/problems.hpp"

#include <gmime/gmime.h>

#include <string>
#include <string_view>
#include <vector>

/// Reading header fields from GMime objects (internal to mail/).
namespace mail::detail {

/// Unfolds a raw header value: each line break, with the white space around it, becomes
/// one space; leading and trailing white space is dropped. Nothing is decoded.
std::string unfold(std::string_view raw);

/// The unfolded raw values of every header of `object` named `name` (any case).
std::vector<std::string> raw_values(GMimeObject* object, const char* name);

/// Decodes header fields from their raw values. Fields that may hold RFC 2047 encoded
/// words go through normalize_encoded_words (see rfc2047.hpp) first, so GMime's own
/// decoding of them during parsing is not used.
class header_decoder {
public:
  /// `options`: parser options without a warning callback (GMime reported its warnings
  /// during parsing already); `problems` gets the charsets that had to be guessed.
  header_decoder(GMimeParserOptions* options, problem_sink& problems)
      : options_(options), problems_(problems) {}

  /// The first `name` header as decoded UTF-8 text; empty if there is none.
  std::string text(GMimeObject* object, const char* name);

  /// The mailboxes of every `name` header, groups flattened into their members.
  std::vector<address> addresses(GMimeObject* object, const char* name);

  /// The message ids (without angle brackets) of every `name` header, in order.
  std::vector<std::string> message_ids(GMimeObject* object, const char* name);

  /// The decoded file name of a part: the Content-Disposition "filename" parameter,
  /// else the Content-Type "name" parameter (RFC 2231 and RFC 2047); empty if neither.
  std::string file_name(GMimeObject* part);

private:
  /// `raw` with its encoded words normalized; guesses are reported under `name`.
  std::string prepare(const std::string& raw, const char* name);

  GMimeParserOptions* options_;
  problem_sink& problems_;
};

} // namespace mail::detail

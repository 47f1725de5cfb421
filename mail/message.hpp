#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

/// Plain data for a parsed e-mail; no GMime types leak out of mail/.
namespace mail {

/// A mailbox as it appears in From/To/Cc/Reply-To: display name (decoded, UTF-8) and
/// address.
struct address {
  std::string name;
  std::string email;
};

/// One attachment (or inline part such as an embedded image).
struct attachment {
  std::string name; ///< decoded file name (RFC 2231 / RFC 2047), UTF-8; may be empty
  std::string content_type; ///< "type/subtype", lower case
  std::string content_id;   ///< without angle brackets; empty if none
  bool is_inline = false;   ///< Content-Disposition inline (or referenced by cid)
  std::uint64_t size = 0;   ///< decoded content size in bytes
  std::string content;      ///< decoded bytes
};

/// A parsed message. Strings are UTF-8.
struct message {
  std::optional<address> from;
  std::vector<address> to;
  std::vector<address> cc;
  std::vector<address> reply_to;
  std::string subject;     ///< RFC 2047 decoded
  std::string message_id;  ///< without angle brackets; empty if missing
  std::string in_reply_to; ///< first id of In-Reply-To, without angle brackets
  std::vector<std::string> references; ///< ids without angle brackets, oldest first
  std::optional<std::int64_t> date;    ///< Date header as Unix seconds (UTC), if valid
  std::string text_body; ///< text/plain body converted to UTF-8 (empty if none)
  std::string html_body; ///< text/html body converted to UTF-8 (empty if none)
  std::vector<attachment> attachments;
  /// Every top-level header in order, name as written, value unfolded but not decoded.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// The outcome of parsing raw MIME.
struct parse_result {
  /// False when the input could not be read as a message at all (no header block).
  bool parsed = false;
  /// What the parser had to repair or guess; empty means the message was clean.
  std::vector<std::string> problems;
  message msg;

  bool clean() const { return parsed && problems.empty(); }
};

} // namespace mail

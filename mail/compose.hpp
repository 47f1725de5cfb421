#pragma once

#include "mail/message.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

/// Building outbound mail as RFC 5322 / MIME text with GMime.
namespace mail {

/// What an outbound mail says. Ids are without angle brackets.
struct outgoing {
  address from;
  std::vector<address> to;
  std::vector<address> cc;
  std::string subject;
  std::string message_id;
  std::string in_reply_to;             ///< "" if it starts a conversation
  std::vector<std::string> references; ///< oldest first
  std::int64_t date = 0;               ///< Unix seconds
  std::string text;                    ///< the plain-text alternative
  std::string html;                    ///< the HTML alternative ("" : made from text)
  /// Further headers in order (name, value), e.g. Auto-Submitted.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// The message as CRLF-terminated MIME: multipart/alternative with text/plain and
/// text/html (in the smallest charset that holds them, 7-bit transfer encoding), the
/// subject and display names RFC 2047-encoded where needed.
std::string compose(const outgoing& mail);

/// `text` as a small HTML document: escaped, line breaks kept.
std::string text_to_html(const std::string& text);

/// A Message-ID or reference as it may go into a header: no angle brackets, no
/// whitespace or control characters, one '@', at most 250 characters.
bool valid_message_id(const std::string& id);

/// An address as it may go into To/Cc: one '@' with text on both sides, no whitespace,
/// control characters, angle brackets, quotes, commas or semicolons, at most 254
/// characters.
bool valid_address(const std::string& email);

/// The References of a reply: the conversation's ids oldest first, capped at `max` by
/// keeping the first (the root) and the most recent ones.
std::vector<std::string> capped_references(std::vector<std::string> ids,
                                           std::size_t max = 10);

} // namespace mail

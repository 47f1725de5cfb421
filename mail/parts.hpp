#pragma once

#include "mail/headers.hpp"
#include "mail/message.hpp"
#include "mail/problems.hpp"

#include <gmime/gmime.h>

#include <string_view>

/// Walking the MIME tree for bodies and attachments (internal to mail/).
namespace mail::detail {

/// Fills `out.text_body`, `out.html_body` and `out.attachments` from the MIME tree of
/// `msg`, in document order through nested multiparts:
/// - the first text/plain and the first text/html leaf that is not an attachment
///   (no "attachment" disposition, no file name) become the bodies, converted to UTF-8;
/// - every other leaf, later text parts included, is an attachment, so nothing is lost;
/// - a message/rfc822 part is one attachment holding the whole embedded message.
/// `raw` is the parsed input (its line endings are kept for embedded messages).
void collect_parts(GMimeMessage* msg, std::string_view raw, header_decoder& decode,
                   problem_sink& problems, message& out);

} // namespace mail::detail

#pragma once

#include <string>
#include <string_view>
#include <vector>

/// Bounding what GMime is given (internal to mail/). GMime builds an object per MIME part
/// and per header field, dozens to hundreds of bytes each: a 16 MB message of nothing but
/// header lines or empty parts would take over a gigabyte. One pass over the lines,
/// before GMime sees them, keeps those counts within limits (mail/limits.hpp).
namespace mail::detail {

struct bounded_input {
  /// The input to parse: the raw message itself, or `trimmed` if something was cut.
  std::string_view text;
  std::string trimmed;
  std::vector<std::string> problems; ///< what was cut
};

/// `raw` with header lines beyond the caps left out (each header block at most
/// limits::max_header_block_bytes, all of them together limits::max_all_header_bytes and
/// limits::max_header_lines lines), and everything from the delimiter line of MIME part
/// number limits::max_parts + 1 on. Boundaries are those named by "boundary=" in header
/// blocks; the header blocks are the top-level one, each part's, and an embedded
/// message's (after a part of type message/rfc822 or message/global).
bounded_input bound_input(std::string_view raw);

} // namespace mail::detail

#pragma once

#include <cstddef>
#include <cstdint>

namespace exc {

/// What one ticket may grow to. Anyone who once mailed a ticket can keep replying into
/// it, and each reply rewrites the stored ticket; a mail that would take a ticket past
/// `comments` or `bytes` opens a follow-up ticket linked to it instead (never dropped).
struct ticket_limits {
  std::uint64_t attachment_bytes = 104'857'600; ///< attachment content stored per ticket
  std::size_t attachments_per_mail = 100; ///< stored per mail; the rest are listed only
  std::size_t comments = 500;             ///< comments per ticket
  std::size_t bytes = 16 * 1024 * 1024; ///< the stored ticket (JSON, without attachments)
  /// A comment's text body, and its HTML body, in bytes: a longer text is cut (at a
  /// character), a longer HTML body is left out; the comment says "body_truncated".
  std::size_t body_bytes = 1024 * 1024;
};

} // namespace exc

#pragma once

#include <cstddef>

/// Caps on what one inbound message can make the parser hold or do. Anyone on the
/// internet writes the input, so each is far above what real mail needs; beyond a cap
/// the rest is left out and a parse problem says so (docs/ingest.md lists them).
namespace mail::limits {

/// Leaf parts (bodies and attachments) taken from the MIME tree; the input is cut before
/// the part after this many.
constexpr std::size_t max_parts = 1000;
/// Bytes of one header block (the message's, a part's), of all of them together, and
/// lines of all of them: what GMime builds per field is many times the field's size.
constexpr std::size_t max_header_block_bytes = 256 * 1024;
constexpr std::size_t max_all_header_bytes = 1024 * 1024;
constexpr std::size_t max_header_lines = 10'000;
/// Multiparts and embedded messages nested in each other.
constexpr std::size_t max_depth = 32;
/// Top-level header fields kept in message::headers.
constexpr std::size_t max_headers = 1000;
/// Bytes of a header field's unfolded value that are decoded (Subject, From, To, Cc,
/// Reply-To, In-Reply-To, References, file names).
constexpr std::size_t max_header_bytes = 64 * 1024;
/// Message ids (In-Reply-To, then References from the newest) looked up to thread a
/// reply into its ticket.
constexpr std::size_t max_thread_ids = 32;

} // namespace mail::limits

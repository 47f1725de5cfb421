#pragma once

#include "storage/records.hpp"

#include <string>
#include <string_view>

namespace storage::detail {

/// Reads the usual stored mailbox record without nlohmann's lexer, which copies every
/// string a character at a time (the REGISTRY reads 100,000 at a start, before any
/// mailbox polls: as documents they took half of its 1.2 s load). It takes one object
/// whose values are strings without escapes, control characters or bytes beyond ASCII,
/// integers of up to 18 digits, literals, and as "last_error" such a flat object; it
/// reads fields as leniently as mailbox_from_json does. False for anything else:
/// mailbox_from_json then parses the text as a document. `status` gets the status's
/// name.
bool read_plain_mailbox(std::string_view text, mailbox_record& out, std::string& status);

} // namespace storage::detail

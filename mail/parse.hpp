#pragma once

#include "mail/message.hpp"

#include <string_view>

namespace mail {

/// Parses raw RFC 822 / MIME text with GMime. Never throws for bad input: whatever
/// could not be understood is listed in `problems`. Thread-safe.
parse_result parse(std::string_view raw);

/// The value of the first top-level header named `name` (case-insensitive), if any.
const std::string* find_header(const message& msg, std::string_view name);

} // namespace mail

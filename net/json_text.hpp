#pragma once

#include <string>
#include <string_view>

/// JSON written out as text where building nlohmann documents would cost a tree of
/// allocations per message: Graph batches, both the daemon's requests
/// (net/graph/batch.cpp) and graph-sim's answers.
namespace net {

/// Appends `s` as a JSON string: quotes, `"` and `\` escaped, control characters as
/// \u00XX; other bytes as they are.
void append_json_string(std::string& out, std::string_view s);

} // namespace net

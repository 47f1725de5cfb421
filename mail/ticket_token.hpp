#pragma once

#include <string>
#include <utility>
#include <vector>

/// Ticket tokens: the `[#<ticket id>-<6 hex>]` that outbound mail puts in its subject,
/// so that a reply finds its ticket even without In-Reply-To. The 6 hex digits are the
/// first 3 bytes of HMAC-SHA256(key, ticket id): nobody threads into a ticket by
/// guessing its id.
namespace mail {

/// `[#<ticket id>-<6 hex of HMAC-SHA256(key, ticket id)>]`.
std::string ticket_token(const std::string& key, const std::string& ticket_id);

/// The well-formed tokens in a subject, in order: (ticket id, the token as written).
/// Whether its HMAC checks is the caller's question (compare with ticket_token). The
/// subject is the sender's: linear time, tokens of at most 64 characters between `[#`
/// and `]` (ticket ids are far shorter), and the first 8 tokens only.

std::vector<std::pair<std::string, std::string>>
subject_tokens(const std::string& subject);

} // namespace mail

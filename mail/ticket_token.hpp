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

/// Every well-formed token in a subject, in order: (ticket id, the token as written).
/// Whether its HMAC checks is the caller's question (compare with ticket_token).
std::vector<std::pair<std::string, std::string>>
subject_tokens(const std::string& subject);

} // namespace mail

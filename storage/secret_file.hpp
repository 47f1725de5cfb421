#pragma once

#include <caf/expected.hpp>

#include <functional>
#include <string>

namespace storage {

/// Reads a secret file (trailing white space trimmed), or creates it with mode 0600 and
/// the content `make()` returns if it does not exist. A file that others may read is
/// refused (ec::invalid_key), as ssh refuses such a key.
caf::expected<std::string>
read_or_create_secret_file(const std::string& path,
                           const std::function<std::string()>& make);

/// `bytes` random bytes as base64url, for tokens and API keys.
std::string random_token(std::size_t bytes = 32);

} // namespace storage

#pragma once

#include <caf/expected.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace storage {

/// Reads a secret file (trailing white space trimmed), or creates it with mode 0600 and
/// the content `make()` returns if it does not exist. A file that others may read is
/// refused (ec::invalid_key), as ssh refuses such a key.
caf::expected<std::string>
read_or_create_secret_file(const std::string& path,
                           const std::function<std::string()>& make);

/// Reads an existing secret file (trailing white space trimmed). Refused
/// (ec::invalid_key) if it is missing, empty or readable by others.
caf::expected<std::string> read_secret_file(const std::string& path);

/// `bytes` random bytes as base64url, for tokens and API keys.
std::string random_token(std::size_t bytes = 32);

/// How an API key or token is stored: hex SHA-256. Keys are 256-bit random, so a plain
/// hash is enough (no salt or stretching needed against guessing).
std::string token_hash(std::string_view token);

/// Compares two strings in time that depends only on their lengths, for secrets.
bool constant_time_equal(std::string_view a, std::string_view b);

} // namespace storage

#pragma once

#include <string>

/// PKCE (RFC 7636) for the OAuth authorization-code flow.
namespace net {

/// A fresh random code_verifier: 43 base64url characters from 32 random bytes.
std::string make_code_verifier();

/// The S256 code_challenge of a verifier: base64url(SHA-256(verifier)).
std::string code_challenge_s256(const std::string& verifier);

} // namespace net

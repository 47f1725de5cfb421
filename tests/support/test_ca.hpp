#pragma once

#include <string>

namespace test {

/// A throwaway certificate authority made with the `openssl` tool at test time, and a
/// server certificate it signed for `localhost` and 127.0.0.1.
struct test_ca {
  std::string ca_file;     ///< the CA certificate (PEM), to trust
  std::string server_cert; ///< server certificate (PEM)
  std::string server_key;  ///< its private key (PEM)

  /// Creates the files in `dir` (an existing directory). `name` distinguishes several
  /// CAs in one directory. Throws std::runtime_error with openssl's output on failure.
  static test_ca
  create(const std::string& dir, const std::string& name = "ca",
         const std::string& subject_alt_names = "DNS:localhost,IP:127.0.0.1");
};

} // namespace test

#include "storage/secret_file.hpp"

#include "messages/error.hpp"
#include "net/url.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace storage {

namespace {

caf::error refuse(const std::string& what) {
  return exc::make_error(exc::ec::invalid_key, what);
}

} // namespace

caf::expected<std::string>
read_or_create_secret_file(const std::string& path,
                           const std::function<std::string()>& make) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) return read_secret_file(path);
  if (fd < 0) return refuse("cannot create " + path + ": " + std::strerror(errno));
  auto secret = make();
  auto line = secret + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  OPENSSL_cleanse(line.data(), line.size());
  if (!ok) return refuse("cannot write " + path);
  return secret;
}

caf::expected<std::string> read_secret_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return refuse("cannot read " + path + ": " + std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  if (st.st_mode & 077) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return refuse(path + " may be read by others (mode " + mode + "); chmod 600 it");
  }
  std::string text(4096, '\0');
  auto n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (n < 0) return refuse("cannot read " + path + ": " + std::strerror(errno));
  text.resize(static_cast<std::size_t>(n));
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.pop_back();
  if (text.empty()) return refuse(path + " is empty");
  return text;
}

std::string random_token(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) !=
      1)
    throw std::runtime_error("RAND_bytes failed");
  auto out = net::base64url_encode(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return out;
}

std::string token_hash(std::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  return net::hex_encode({reinterpret_cast<const char*>(digest), sizeof digest});
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace storage

#include "storage/vault.hpp"

#include "messages/error.hpp"
#include "net/url.hpp"
#include "storage/secret_file.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>
#include <stdexcept>

namespace storage {

namespace {

// Sealed record: version (1 byte) | key id (8 ASCII hex) | nonce (12) | ciphertext | tag
// (16)
constexpr unsigned char format_version = 1;
constexpr std::size_t id_size = 8;
constexpr std::size_t nonce_size = 12;
constexpr std::size_t tag_size = 16;
constexpr std::size_t header_size = 1 + id_size;

using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::string to_hex(const unsigned char* data, std::size_t n) {
  return net::hex_encode({reinterpret_cast<const char*>(data), n});
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// The associated data: the record's header and its id.
std::string associated_data(std::string_view header, std::string_view record_id) {
  std::string aad{header};
  aad += record_id;
  return aad;
}

caf::error crypto_error(const std::string& what) {
  return exc::make_error(exc::ec::crypto_failure, what);
}

} // namespace

master_key::~master_key() {
  OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

caf::expected<master_key> master_key::from_hex(std::string_view hex) {
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.front())))
    hex.remove_prefix(1);
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back())))
    hex.remove_suffix(1);
  if (hex.size() != 64)
    return exc::make_error(exc::ec::invalid_key,
                           "a master key is 64 hex digits (32 bytes), got " +
                               std::to_string(hex.size()) + " characters");
  master_key key;
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return exc::make_error(exc::ec::invalid_key,
                             "a master key is 64 hex digits; found a non-hex character");
    key.bytes_[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(key.bytes_.data(), key.bytes_.size(), digest);
  key.id_ = to_hex(digest, id_size / 2);
  return key;
}

caf::expected<master_key> master_key::load_or_create(const std::string& path) {
  auto text = read_or_create_secret_file(path, [] {
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
    auto hex = to_hex(raw, sizeof raw);
    OPENSSL_cleanse(raw, sizeof raw);
    return hex;
  });
  if (!text)
    return exc::make_error(exc::ec::invalid_key,
                           "master key file: " + exc::render(text.error()));
  auto key = from_hex(*text);
  OPENSSL_cleanse(text->data(), text->size());
  if (!key)
    return exc::make_error(exc::ec::invalid_key,
                           "master key file " + path + ": " + exc::render(key.error()));
  return key;
}

vault::vault(master_key current, std::vector<master_key> previous) {
  keys_.push_back(std::move(current));
  for (auto& k : previous)
    keys_.push_back(std::move(k));
}

const master_key* vault::find(std::string_view id) const {
  for (const auto& k : keys_)
    if (k.id() == id) return &k;
  return nullptr;
}

caf::expected<std::string> vault::seal(std::string_view record_id,
                                       std::string_view plaintext) const {
  const auto& key = keys_.front();
  std::string out;
  out.reserve(header_size + nonce_size + plaintext.size() + tag_size);
  out.push_back(static_cast<char>(format_version));
  out += key.id();
  unsigned char nonce[nonce_size];
  if (RAND_bytes(nonce, sizeof nonce) != 1)
    return crypto_error("no randomness for a nonce");
  out.append(reinterpret_cast<char*>(nonce), sizeof nonce);
  auto aad = associated_data(std::string_view{out}.substr(0, header_size), record_id);
  cipher_ctx ctx{EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free};
  int len = 0;
  std::string cipher(plaintext.size(), '\0');
  auto* c_out = reinterpret_cast<unsigned char*>(cipher.data());
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.bytes(), nonce) !=
          1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), c_out, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), c_out + len, &len) != 1)
    return crypto_error("AES-256-GCM encryption failed");
  unsigned char tag[tag_size];
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, tag_size, tag) != 1)
    return crypto_error("AES-256-GCM gave no tag");
  out += cipher;
  out.append(reinterpret_cast<char*>(tag), tag_size);
  return out;
}

caf::expected<std::string> vault::open(std::string_view record_id,
                                       std::string_view sealed) const {
  if (sealed.size() < header_size + nonce_size + tag_size ||
      static_cast<unsigned char>(sealed[0]) != format_version)
    return crypto_error("not a sealed record (truncated or unknown format)");
  auto id = sealed.substr(1, id_size);
  const auto* key = find(id);
  if (!key)
    return exc::make_error(exc::ec::unknown_key, "record sealed with master key " +
                                                     std::string{id} +
                                                     ", which is not configured");
  auto nonce = reinterpret_cast<const unsigned char*>(sealed.data() + header_size);
  auto body = sealed.substr(header_size + nonce_size);
  auto cipher = body.substr(0, body.size() - tag_size);
  std::string tag{body.substr(body.size() - tag_size)};
  auto aad = associated_data(sealed.substr(0, header_size), record_id);
  cipher_ctx ctx{EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free};
  std::string plain(cipher.size(), '\0');
  auto* p_out = reinterpret_cast<unsigned char*>(plain.data());
  int len = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key->bytes(), nonce) !=
          1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), p_out, &len,
                        reinterpret_cast<const unsigned char*>(cipher.data()),
                        static_cast<int>(cipher.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, tag_size, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), p_out + len, &len) != 1) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return crypto_error(
        "the sealed record does not open: wrong key, wrong record or tampered");
  }
  return plain;
}

bool vault::needs_reseal(std::string_view sealed) const {
  return sealed.size() < header_size || sealed.substr(1, id_size) != current_key_id();
}

} // namespace storage

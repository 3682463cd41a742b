#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <haven/crypto/crypto.hpp>
#include <memory>

namespace haven::crypto {
namespace {

[[noreturn]] void library_failed(const char* what) {
  char reason[256] = "unknown";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, reason, sizeof reason);
  ERR_clear_error();
  throw failure(errc::internal, std::string("OpenSSL ") + what + " failed: " + reason);
}

struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* bytes(std::string& s) {
  return reinterpret_cast<unsigned char*>(s.data());
}

pkey_ptr private_key(std::string_view seed) {
  if (seed.size() != ed25519_key_bytes)
    throw failure(errc::invalid_input,
                  "an Ed25519 private key has 32 bytes, not " + std::to_string(seed.size()));
  pkey_ptr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes(seed), seed.size()));
  if (!key) library_failed("loading an Ed25519 private key");
  return key;
}

std::string raw_public_key(EVP_PKEY* key) {
  std::string out(ed25519_key_bytes, '\0');
  std::size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key, bytes(out), &len) != 1 || len != out.size())
    library_failed("reading an Ed25519 public key");
  return out;
}

}  // namespace

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(bytes(out), static_cast<int>(n)) != 1) library_failed("RAND_bytes");
  return out;
}

std::string sha256(std::string_view data) {
  std::string out(sha256_bytes, '\0');
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), bytes(out), &len, EVP_sha256(), nullptr) != 1)
    library_failed("SHA-256");
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::string out(sha256_bytes, '\0');
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes(data), data.size(),
            bytes(out), &len))
    library_failed("HMAC-SHA-256");
  return out;
}

bool equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void wipe(std::string& s) noexcept {
  // resize() within the capacity never reallocates, so this reaches the bytes
  // past size() too (a shorter value written over a longer one leaves them).
  s.resize(s.capacity());
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

signing_key generate_signing_key() {
  signing_key k;
  k.private_key = random_bytes(ed25519_key_bytes);
  k.public_key = raw_public_key(private_key(k.private_key).get());
  return k;
}

result<std::string> public_key_of(std::string_view seed) {
  return capture([&] { return raw_public_key(private_key(seed).get()); });
}

std::string sign(std::string_view seed, std::string_view message) {
  const pkey_ptr key = private_key(seed);
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::string out(ed25519_signature_bytes, '\0');
  std::size_t len = out.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), bytes(out), &len, bytes(message), message.size()) != 1 ||
      len != out.size())
    library_failed("Ed25519 signing");
  return out;
}

bool verify(std::string_view public_key, std::string_view message, std::string_view signature) {
  if (public_key.size() != ed25519_key_bytes || signature.size() != ed25519_signature_bytes)
    return false;
  pkey_ptr key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(public_key), public_key.size()));
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  if (!key || !ctx) {
    ERR_clear_error();
    return false;
  }
  const bool ok = EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
                  EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(message),
                                   message.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace haven::crypto

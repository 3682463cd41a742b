#pragma once
// The few cryptographic primitives Haven uses, over OpenSSL 3: secure random
// bytes, SHA-256, HMAC-SHA-256, Ed25519 signatures, constant-time comparison
// and hex. Keys, digests and signatures are raw byte strings. All functions
// are thread-safe; failures of the library itself throw haven::failure
// (errc::internal).

#include <haven/core/result.hpp>
#include <string>
#include <string_view>

namespace haven::crypto {

inline constexpr std::size_t ed25519_key_bytes = 32;
inline constexpr std::size_t ed25519_signature_bytes = 64;
inline constexpr std::size_t sha256_bytes = 32;

// n bytes from the operating system's secure generator.
std::string random_bytes(std::size_t n);

std::string sha256(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);

// True if a and b are equal, in time that depends only on their lengths.
bool equal(std::string_view a, std::string_view b);

// Overwrites every byte s holds (its whole capacity) in a way the compiler
// cannot optimise away (OPENSSL_cleanse), then empties it. Best effort:
// copies made earlier, e.g. by a reallocation, are not reached.
void wipe(std::string& s) noexcept;

// An Ed25519 key pair: the 32-byte private seed and the 32-byte public key.
struct signing_key {
  std::string private_key;
  std::string public_key;
};

signing_key generate_signing_key();
// The public key of a private seed; errc::invalid_input if it is not 32 bytes.
result<std::string> public_key_of(std::string_view private_key);
// The 64-byte signature of message. Requires: a 32-byte private seed
// (errc::invalid_input otherwise, thrown).
std::string sign(std::string_view private_key, std::string_view message);
// True only for a valid signature of message by public_key; false for a key
// or signature of the wrong length. Never throws for bad input.
bool verify(std::string_view public_key, std::string_view message, std::string_view signature);

}  // namespace haven::crypto

#include <algorithm>
#include <catch2/catch.hpp>
#include <haven/core/hex.hpp>
#include <haven/crypto/crypto.hpp>

using namespace haven;

namespace {
std::string unhex(std::string_view h) {
  return from_hex(h).value();
}
}  // namespace

TEST_CASE("SHA-256 and HMAC-SHA-256 match the published vectors", "[crypto]") {
  CHECK(to_hex(crypto::sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231, test case 2.
  CHECK(to_hex(crypto::hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("Ed25519 signs like RFC 8032 test 1 and verifies only what was signed", "[crypto]") {
  const std::string seed =
      unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  CHECK(to_hex(crypto::public_key_of(seed).value()) ==
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const std::string sig = crypto::sign(seed, "");
  CHECK(to_hex(sig) ==
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701c"
        "f9b46bd25bf5f0595bbe24655141438e7a100b");
  const std::string pub = crypto::public_key_of(seed).value();
  CHECK(crypto::verify(pub, "", sig));
  CHECK_FALSE(crypto::verify(pub, "x", sig));

  const auto other = crypto::generate_signing_key();
  CHECK_FALSE(crypto::verify(other.public_key, "", sig));
  std::string tampered = sig;
  tampered[10] ^= 1;
  CHECK_FALSE(crypto::verify(pub, "", tampered));
  CHECK_FALSE(crypto::verify(pub, "", sig.substr(1)));
  CHECK_FALSE(crypto::verify("short", "", sig));
  CHECK_THROWS(crypto::sign("short", "m"));
  CHECK_FALSE(crypto::public_key_of("short"));
}

TEST_CASE("generated keys and random bytes differ every time", "[crypto]") {
  const auto a = crypto::generate_signing_key(), b = crypto::generate_signing_key();
  CHECK(a.private_key.size() == 32);
  CHECK(a.public_key.size() == 32);
  CHECK(a.private_key != b.private_key);
  CHECK(crypto::verify(a.public_key, "nonce", crypto::sign(a.private_key, "nonce")));
  CHECK(crypto::random_bytes(32) != crypto::random_bytes(32));
}

TEST_CASE("hex round-trips and rejects what is not hex", "[crypto]") {
  CHECK(to_hex(std::string("\x00\xff\x10", 3)) == "00ff10");
  CHECK(from_hex("00FF10").value() == std::string("\x00\xff\x10", 3));
  CHECK_FALSE(from_hex("abc"));
  CHECK_FALSE(from_hex("zz"));
  CHECK(crypto::equal("abc", "abc"));
  CHECK_FALSE(crypto::equal("abc", "abd"));
  CHECK_FALSE(crypto::equal("abc", "ab"));
}

TEST_CASE("wipe zeroes every byte a string holds and empties it", "[crypto]") {
  std::string s(40, 'n');
  s = "Olena";  // shorter: bytes of the old value stay past size()
  const std::size_t capacity = s.capacity();
  crypto::wipe(s);
  CHECK(s.empty());
  CHECK(s.capacity() == capacity);
  // The buffer is still the string's own, so reading it up to its capacity is fine.
  CHECK(std::all_of(s.data(), s.data() + capacity, [](char c) { return c == '\0'; }));
}

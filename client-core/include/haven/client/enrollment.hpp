#pragma once
// Enrolling a device with havend: the device makes its Ed25519 key pair,
// trades a one-time enrollment code and its public key for a device id, a
// team, a role and the team's pseudonym key, and keeps them in its store.

#include <haven/client/store.hpp>
#include <string>
#include <string_view>

namespace haven::client {

struct enrollment_result {
  credentials device;             // as kept in the store (the private key included)
  std::string coordinator_token;  // coordinators only: shown once, never stored
};

// Enrolls `db` with the server at `server_url`: wss://HOST:PORT or
// https://HOST:PORT (any path is ignored), or ws:// / http:// to a loopback
// address only. Over TLS the server's certificate is verified against
// `ca_pem` (PEM; empty: the system's trusted authorities), which the store
// keeps for later syncs. The store then syncs with wss://HOST:PORT/sync.
// Errors: errc::already_exists if db is enrolled (the server is not asked);
// errc::invalid_input for a bad URL or ws:// to another host, or a code the
// server calls malformed; errc::unauthorized for a code the server refuses
// or an untrusted certificate; errc::unavailable when the server cannot be
// reached or is busy (try again later); each with the server's message.
result<enrollment_result> enroll(store& db, std::string_view server_url, std::string_view code,
                                 std::string ca_pem);

// The team's pseudonym key `db` was enrolled with (see pseudonym.hpp), for
// person_code(). errc::not_found if the store is not enrolled or was wiped.
result<std::string> pseudonym_key(store& db);

}  // namespace haven::client

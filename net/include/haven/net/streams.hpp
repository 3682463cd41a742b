#pragma once
// The two streams a Haven connection runs on, for havend's sessions and the
// client's connections alike: plain TCP (loopback only) or TLS over TCP, and
// which hosts count as loopback. Includes Beast: for the private network code
// of the components, never for their public headers.

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <haven/net/loopback.hpp>
#include <string>
#include <string_view>
#include <type_traits>

namespace haven::streams {

using plain_stream = boost::beast::tcp_stream;
using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

template <class Stream>
inline constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

// The TLS 1.2 cipher suites both ends allow: ECDHE key exchange with AEAD
// only (Mozilla's "intermediate"); TLS 1.3 keeps OpenSSL's defaults (all AEAD).
inline constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// The channel binding of a TLS connection whose handshake is done: 32 bytes
// of keying material exported under Haven's label (RFC 5705). Both ends of
// one connection compute the same bytes; a relay that terminates TLS has two
// connections, and two different bindings. Only TLS 1.3, or TLS 1.2 with the
// extended master secret (RFC 7627, which OpenSSL negotiates by default),
// makes that so: without it a relay can give its two connections one master
// secret (the triple handshake), so such a connection throws haven::failure
// (errc::protocol), as does one with no keying material.
std::string channel_binding(tls_stream& stream);

}  // namespace haven::streams

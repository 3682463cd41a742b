#pragma once
// The two streams a Haven connection runs on, for havend's sessions and the
// client's connections alike: plain TCP (loopback only) or TLS over TCP, and
// which hosts count as loopback. Includes Beast: for the private network code
// of the components, never for their public headers.

#include <string>
#include <string_view>
#include <type_traits>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <haven/net/loopback.hpp>

namespace haven::streams {

using plain_stream = boost::beast::tcp_stream;
using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

template <class Stream>
inline constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

// The channel binding of a TLS connection whose handshake is done: 32 bytes
// of keying material exported under Haven's label (RFC 5705; TLS 1.3, or 1.2
// with the extended master secret OpenSSL negotiates). Both ends of one
// connection compute the same bytes; a relay that terminates TLS has two
// connections, and two different bindings. Throws haven::failure
// (errc::protocol) if there is none to export.
std::string channel_binding(tls_stream& stream);

}  // namespace haven::streams

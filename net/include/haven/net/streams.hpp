#pragma once
// The two streams a Haven connection runs on, for havend's sessions and the
// client's connections alike: plain TCP (loopback only) or TLS over TCP, and
// which hosts count as loopback. Includes Beast: for the private network code
// of the components, never for their public headers.

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

}  // namespace haven::streams

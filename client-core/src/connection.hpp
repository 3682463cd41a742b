#pragma once
// How a device reaches a server, shared by sync and enrollment: the server's
// URL, the TLS rules (verify the certificate against the system's store or
// only a pinned PEM, check the host name, send SNI; plain only to loopback),
// and opening a plain or TLS stream with errors a field worker can act on.
// Private to client-core. Nothing here is thread-safe; each connection runs
// on its caller's io_context.

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <functional>
#include <haven/core/result.hpp>
#include <haven/net/streams.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace haven::client::link {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

using streams::channel_binding;
using streams::is_loopback_host;
using streams::is_tls;
using streams::plain_stream;
using streams::tls_stream;

// A parsed ws://, wss://, http:// or https:// URL.
struct server_url {
  bool tls = false;
  std::string host, port, target;
  std::string authority() const;  // HOST:PORT, [::1]:PORT for IPv6
};

// Parses `url` with one of `schemes` (e.g. {"wss", "ws"}); a missing path
// becomes `default_target`. errc::invalid_input naming what is wrong and
// `expected` (e.g. "wss://HOST:PORT/sync").
result<server_url> parse_server_url(std::string_view url,
                                    std::initializer_list<std::string_view> schemes,
                                    std::string_view default_target, std::string_view expected);

// errc::invalid_input "refusing to send WHAT unencrypted to HOST; use SCHEME"
// for a plain URL to a host other than loopback.
result<void> require_encryption(const server_url& url, std::string_view what,
                                std::string_view secure_scheme);

// A client TLS context that trusts only the certificates in `ca_pem`, or the
// system's store when it is empty. errc::invalid_input if ca_pem holds no
// PEM certificate.
result<ssl::context> client_tls_context(const std::string& ca_pem);

// What a failed TLS handshake means: errc::unauthorized "the server's
// certificate is not trusted (REASON): check the address, or pin ..." when
// the certificate failed verification, else errc::unavailable.
error handshake_error(tls_stream& stream, const beast::error_code& ec, const server_url& url);
// errc::unavailable "WHAT (REASON)".
error network_error(const beast::error_code& ec, const std::string& what);

// Makes the TLS stream verify the peer for url.host and send it as SNI.
void prepare_tls(tls_stream& stream, const server_url& url);

// Resolves url.host, connects `stream` within `timeout` and, over TLS,
// handshakes with verification. Then calls done(nullopt), or done(error)
// with the error to report. `stream`, `resolver` and `url` must outlive it.
template <class Stream>
void async_open(Stream& stream, tcp::resolver& resolver, const server_url& url,
                std::chrono::milliseconds timeout, std::function<void(std::optional<error>)> done) {
  resolver.async_resolve(
      url.host, url.port, [&, timeout, done](beast::error_code ec, tcp::resolver::results_type r) {
        if (ec) return done(network_error(ec, "cannot find the server " + url.host));
        beast::get_lowest_layer(stream).expires_after(timeout);
        beast::get_lowest_layer(stream).async_connect(
            r, [&, done](beast::error_code ec, const tcp::endpoint&) {
              if (ec) return done(network_error(ec, "server unreachable at " + url.authority()));
              // The protocol takes turns; Nagle's algorithm would hold a message's
              // last segment until the server's delayed ACK (about 40 ms a turn).
              beast::error_code ignored;
              beast::get_lowest_layer(stream).socket().set_option(tcp::no_delay(true), ignored);
              if constexpr (is_tls<Stream>) {
                prepare_tls(stream, url);
                stream.async_handshake(ssl::stream_base::client, [&, done](beast::error_code ec) {
                  if (ec) return done(handshake_error(stream, ec, url));
                  beast::get_lowest_layer(stream).expires_never();
                  done(std::nullopt);
                });
              } else {
                beast::get_lowest_layer(stream).expires_never();
                done(std::nullopt);
              }
            });
      });
}

// One JSON POST over HTTP(S): the reply's status, body and Retry-After.
struct http_reply {
  unsigned status = 0;
  std::string body;
  std::string retry_after;
};

// POSTs `json` to url.target and reads the reply, within `timeout` per step.
// errc::unavailable when the server cannot be reached or the exchange breaks;
// handshake_error's errors over TLS.
result<http_reply> post_json(const server_url& url, const std::string& ca_pem,
                             const std::string& json, std::chrono::milliseconds timeout);

}  // namespace haven::client::link

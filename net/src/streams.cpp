#include <openssl/ssl.h>

#include <boost/asio/ip/address.hpp>
#include <haven/core/result.hpp>
#include <haven/net/streams.hpp>
#include <string>

namespace haven::streams {

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

std::string channel_binding(tls_stream& stream) {
  static constexpr std::string_view label = "EXPORTER-haven-sync-hello";
  SSL* ssl = stream.native_handle();
  if (SSL_version(ssl) < TLS1_3_VERSION && SSL_get_extms_support(ssl) != 1)
    throw failure(errc::protocol,
                  "the TLS 1.2 connection has no extended master secret (RFC 7627), so the sign-in "
                  "cannot be bound "
                  "to it; use a TLS library that supports it, or TLS 1.3");
  unsigned char out[32];
  if (SSL_export_keying_material(ssl, out, sizeof out, label.data(), label.size(), nullptr, 0, 0) !=
      1)
    throw failure(errc::protocol,
                  "the TLS connection has no keying material to bind the sign-in to");
  return {reinterpret_cast<const char*>(out), sizeof out};
}

}  // namespace haven::streams

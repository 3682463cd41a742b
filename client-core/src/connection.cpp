#include "connection.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <charconv>

namespace haven::client::link {

namespace http = beast::http;

std::string server_url::authority() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
}

result<server_url> parse_server_url(std::string_view url,
                                    std::initializer_list<std::string_view> schemes,
                                    std::string_view default_target, std::string_view expected) {
  auto bad = [&](const std::string& why) {
    return error{errc::invalid_input,
                 "bad server address \"" + std::string(url) + "\": " + why + " (expected " +
                     std::string(expected) + ")",
                 {}};
  };
  const auto parsed = boost::urls::parse_uri(url);
  const std::string_view scheme = parsed ? std::string_view(parsed->scheme()) : std::string_view();
  if (!parsed || std::find(schemes.begin(), schemes.end(), scheme) == schemes.end()) {
    std::string names;
    for (auto s : schemes) names += (names.empty() ? "" : " or ") + std::string(s) + "://";
    return bad(parsed ? "it must start with " + names
                      : "it is not a URL that starts with " + names);
  }
  if (parsed->has_userinfo()) return bad("a user name or password has no place in it");
  if (parsed->has_fragment()) return bad("a #fragment has no place in it");
  // (Boost.URL 1.81 reads "ws://host:80x/sync" as port 80 and the path "x/sync".)
  if (!parsed->encoded_path().empty() && parsed->encoded_path().front() != '/')
    return bad("bad port");
  const auto type = parsed->host_type();
  if (type != boost::urls::host_type::name && type != boost::urls::host_type::ipv4 &&
      type != boost::urls::host_type::ipv6)
    return bad("no host");
  server_url out;
  out.tls = scheme == "wss" || scheme == "https";
  out.host = parsed->host_address();  // percent-decoded; an IPv6 address without its brackets
  if (out.host.empty()) return bad("no host");
  std::string_view port = parsed->has_port() ? std::string_view(parsed->port())
                          : out.tls          ? "443"
                                             : "80";
  unsigned n = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (ec != std::errc{} || end != port.data() + port.size() || n == 0 || n > 65535)
    return bad("bad port");
  out.port = port;
  // The target as sent: the path and query as written (still encoded).
  out.target = parsed->encoded_path().empty() ? std::string(default_target)
                                              : std::string(parsed->encoded_resource());
  return out;
}

result<void> require_encryption(const server_url& url, std::string_view what,
                                std::string_view secure_scheme) {
  if (url.tls || is_loopback_host(url.host)) return {};
  return error{errc::invalid_input,
               "refusing to send " + std::string(what) + " unencrypted to " + url.host + "; use " +
                   std::string(secure_scheme) + "://",
               {}};
}

result<ssl::context> client_tls_context(const std::string& ca_pem) {
  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  if (SSL_CTX_set_cipher_list(ctx.native_handle(), streams::tls12_ciphers) != 1)
    return error{errc::internal, "OpenSSL refused the TLS 1.2 cipher list", {}};
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  beast::error_code ec;
  if (ca_pem.empty()) {
    ctx.set_default_verify_paths(ec);
    if (ec)
      return error{
          errc::internal, "cannot read the system's trusted certificates: " + ec.message(), {}};
  } else {
    ctx.add_certificate_authority(net::buffer(ca_pem), ec);
    if (ec)
      return error{errc::invalid_input,
                   "the pinned server certificate is not a PEM certificate (" + ec.message() + ")",
                   {}};
  }
  ctx.set_verify_mode(ssl::verify_peer);
  return ctx;
}

void prepare_tls(tls_stream& stream, const server_url& url) {
  stream.set_verify_mode(ssl::verify_peer);
  // The certificate must name url.host; a mismatch is recorded as the
  // verification error, so that handshake_error can name it.
  stream.set_verify_callback([check = ssl::host_name_verification(url.host)](
                                 bool preverified, ssl::verify_context& ctx) mutable {
    if (!preverified) return false;
    if (check(preverified, ctx)) return true;
    X509_STORE_CTX_set_error(ctx.native_handle(), X509_V_ERR_HOSTNAME_MISMATCH);
    return false;
  });
  // SNI takes a name, not an address.
  beast::error_code ec;
  net::ip::make_address(url.host, ec);
  if (ec) SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str());
}

error handshake_error(tls_stream& stream, const beast::error_code& ec, const server_url& url) {
  const long verdict = SSL_get_verify_result(stream.native_handle());
  if (verdict != X509_V_OK)
    return error{errc::unauthorized,
                 "the server's certificate is not trusted (" +
                     std::string(X509_verify_cert_error_string(verdict)) +
                     (verdict == X509_V_ERR_HOSTNAME_MISMATCH ? ": it is not for " + url.host
                                                              : std::string()) +
                     "): check the address, or pin the server's certificate with --ca FILE",
                 {}};
  return network_error(
      ec, "no TLS connection with " + url.authority() + " (is it a havend with --tls-cert?)");
}

error network_error(const beast::error_code& ec, const std::string& what) {
  return error{errc::unavailable, what + " (" + ec.message() + ")", {}};
}

namespace {

// One POST on an open stream, run to its end on `ioc`.
template <class Stream>
result<http_reply> exchange(net::io_context& ioc, Stream& stream, const server_url& url,
                            const std::string& json, std::chrono::milliseconds timeout) {
  tcp::resolver resolver(ioc);
  std::optional<error> failed;
  http::request<http::string_body> request{http::verb::post, url.target, 11};
  request.set(http::field::host, url.authority());
  request.set(http::field::user_agent, "haven");
  request.set(http::field::content_type, "application/json");
  request.body() = json;
  request.prepare_payload();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);
  auto broken = [&](beast::error_code ec) {
    failed = network_error(ec, "the exchange with " + url.authority() + " broke off");
  };
  async_open(stream, resolver, url, timeout, [&](std::optional<error> e) {
    if (e) return void(failed = std::move(e));
    beast::get_lowest_layer(stream).expires_after(timeout);
    http::async_write(stream, request, [&](beast::error_code ec, std::size_t) {
      if (ec) return broken(ec);
      http::async_read(stream, buffer, parser, [&](beast::error_code ec, std::size_t) {
        if (ec) return broken(ec);
        beast::error_code ignored;
        beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
      });
    });
  });
  ioc.run();
  if (failed) return *failed;
  const auto& response = parser.get();
  return http_reply{response.result_int(), response.body(),
                    std::string(response[http::field::retry_after])};
}

}  // namespace

result<http_reply> post_json(const server_url& url, const std::string& ca_pem,
                             const std::string& json, std::chrono::milliseconds timeout) {
  net::io_context ioc;
  if (!url.tls) {
    plain_stream stream(ioc);
    return exchange(ioc, stream, url, json, timeout);
  }
  auto ctx = client_tls_context(ca_pem);
  if (!ctx) return ctx.err();
  tls_stream stream(ioc, ctx.value());
  return exchange(ioc, stream, url, json, timeout);
}

}  // namespace haven::client::link

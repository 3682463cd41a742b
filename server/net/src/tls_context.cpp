#include "tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <haven/core/result.hpp>
#include <sstream>

namespace haven::server {
namespace {

[[noreturn]] void cannot_load(const char* flag, const std::filesystem::path& file,
                              const std::string& why) {
  throw failure(errc::invalid_input,
                std::string("cannot load ") + flag + " " + file.string() + ": " + why);
}

std::string read_pem(const char* flag, const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) cannot_load(flag, file, std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) cannot_load(flag, file, std::strerror(errno));
  return text.str();
}

}  // namespace

std::unique_ptr<ssl::context> make_server_tls_context(const std::filesystem::path& cert,
                                                      const std::filesystem::path& key) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::no_compression | ssl::context::single_dh_use);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(native, streams::tls12_ciphers) != 1)
    throw failure(errc::internal, "OpenSSL refused the TLS 1.2 cipher list");

  const std::string cert_pem = read_pem("--tls-cert", cert);
  const std::string key_pem = read_pem("--tls-key", key);
  beast::error_code ec;
  ctx->use_certificate_chain(net::buffer(cert_pem), ec);
  if (ec) cannot_load("--tls-cert", cert, "not a PEM certificate (" + ec.message() + ")");
  ERR_clear_error();
  ctx->use_private_key(net::buffer(key_pem), ssl::context::pem, ec);
  const bool mismatch =
      ec && ec.category() == net::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH;
  if (mismatch || (!ec && SSL_CTX_check_private_key(native) != 1))
    cannot_load("--tls-key", key,
                "it is not the private key of the certificate in " + cert.string());
  if (ec) cannot_load("--tls-key", key, "not a PEM private key (" + ec.message() + ")");
  return ctx;
}

}  // namespace haven::server

#pragma once
// havend's TLS settings: the server context (certificate, key, protocol
// floor, ciphers).

#include <filesystem>
#include <memory>
#include <string>

#include "net.hpp"

namespace haven::server {

// A TLS server context with the certificate chain and key from the PEM
// files: TLS 1.2 or later, no compression or renegotiation, the server's
// cipher preference (forward-secret AEAD suites only). Throws haven::failure
// (errc::invalid_input) "cannot load --tls-key FILE: ..." when a file cannot
// be read or parsed, or the key is not the certificate's.
std::unique_ptr<ssl::context> make_server_tls_context(const std::filesystem::path& cert,
                                                      const std::filesystem::path& key);

}  // namespace haven::server

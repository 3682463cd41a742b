#pragma once
// A one-request HTTPS client for end-to-end tests of havend's TLS: it
// trusts only the given PEM certificate and checks the host name.

#include <string>

#include "havend_process.hpp"

namespace haven::test {

// GET https://address/path, verifying the server against `ca_pem`. Throws
// std::runtime_error (with OpenSSL's reason) if the connection, the TLS
// handshake or the exchange fails; every step is bounded by a timeout.
http_response https_get(const std::string& address, const std::string& path,
                        const std::string& ca_pem);

}  // namespace haven::test

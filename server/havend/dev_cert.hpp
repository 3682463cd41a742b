#pragma once
// `havend dev-cert`: a self-signed certificate and key for testing TLS.

#include <filesystem>
#include <string>
#include <vector>

#include <haven/core/result.hpp>

namespace haven::server {

struct dev_cert_request {
  std::filesystem::path cert, key;
  std::vector<std::string> hosts;  // besides localhost, 127.0.0.1 and ::1: names or IP addresses
  int days = 30;
};

// Reads "--cert FILE --key FILE [--host NAME]... [--days N]";
// errc::invalid_input with what is missing or wrong.
result<dev_cert_request> parse_dev_cert_args(const std::vector<std::string>& args);

// Writes an ECDSA P-256 key (file mode 0600) and a self-signed certificate
// for localhost, 127.0.0.1, ::1 and the request's hosts, valid for `days`.
// errc::already_exists if either file exists (neither is then written);
// errc::store if a file cannot be written.
result<void> write_dev_cert(const dev_cert_request& request);

}  // namespace haven::server

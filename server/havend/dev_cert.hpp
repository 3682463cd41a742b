#pragma once
// `havend dev-cert`: a self-signed certificate and key for testing TLS.

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>
#include <filesystem>
#include <haven/core/result.hpp>
#include <string>
#include <vector>

namespace haven::server {

struct dev_cert_request {
  std::filesystem::path cert, key;
  std::vector<std::string> hosts;  // besides localhost, 127.0.0.1 and ::1: names or IP addresses
  int days = 30;
};

// The options of dev-cert: --cert FILE --key FILE [--host NAME]... [--days N],
// each with its default; --days is checked (1-3650) when they are notified.
boost::program_options::options_description dev_cert_options();

// The request that options parsed with dev_cert_options() make;
// errc::invalid_input when --cert and --key name the same file.
result<dev_cert_request> dev_cert_request_of(const boost::program_options::variables_map& options);

// Writes an ECDSA P-256 key (file mode 0600) and a self-signed certificate
// for localhost, 127.0.0.1, ::1 and the request's hosts, valid for `days`.
// errc::already_exists if either file exists (neither is then written);
// errc::store if a file cannot be written.
result<void> write_dev_cert(const dev_cert_request& request);

}  // namespace haven::server

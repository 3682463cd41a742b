#pragma once
// A relay that terminates TLS, on 127.0.0.1, for security tests: the network
// attacker who holds a certificate the device trusts (mis-issued, or stolen
// with its key). It completes TLS with the device using that certificate,
// opens a TLS connection of its own to the upstream server (verifying
// nothing), and forwards the decrypted bytes both ways, unchanged.
//
// It runs in its own thread; the destructor stops and joins it.

#include <memory>
#include <string>

namespace haven::test {

class tls_relay {
 public:
  // Listens on 127.0.0.1:0 and relays to `upstream` ("HOST:PORT") with the
  // PEM certificate and key files. Throws std::runtime_error if it cannot.
  tls_relay(const std::string& upstream, const std::string& cert_file, const std::string& key_file);
  ~tls_relay();
  tls_relay(const tls_relay&) = delete;
  tls_relay& operator=(const tls_relay&) = delete;

  const std::string& address() const;  // HOST:PORT
  std::string sync_url() const { return "wss://" + address() + "/sync"; }
  // Connections relayed so far: TLS established with both the device and the server.
  int relayed() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace haven::test

#pragma once
// The kiosk's HTTP server on a loopback address: serves the embedded app
// (index.html with the per-start secret in it) and hands /api/ requests that
// pass local_guard to the local API. One thread runs everything (run()), so
// the local API is only ever called from it.

#include <cstdint>
#include <memory>
#include <string>

#include "local_api.hpp"
#include "local_guard.hpp"

namespace haven::kiosk {

class http_listener {
 public:
  // Binds `host`:`port` (port 0: a free one). errc::invalid_input if the
  // host is not a loopback address; errc::unavailable if it cannot bind.
  static result<std::unique_ptr<http_listener>> bind(const std::string& host, std::uint16_t port,
                                                     local_api& api);
  ~http_listener();

  // The bound address, "127.0.0.1:PORT".
  const std::string& authority() const;
  const local_guard& guard() const;
  // Serves until stop() (from any thread) or SIGINT / SIGTERM.
  void run();
  void stop();

  struct impl;  // the io_context, acceptor and sessions' shared state (http_listener.cpp)

 private:
  explicit http_listener(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace haven::kiosk

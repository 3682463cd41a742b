#pragma once
// A TCP proxy on 127.0.0.1 for fault tests: it accepts connections one at a
// time, forwards each to an upstream address both ways, and drops both
// sockets (a cut network, not a clean close) once its cut rule is met. Every
// connection is measured from its first byte, so each one is cut alike.
//
// It runs in its own thread, polling with short timeouts; the destructor
// stops and joins it. The accessors are thread-safe.

#include <atomic>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace haven::test {

class cutting_proxy {
 public:
  enum class direction { up, down, both };  // up: client to server

  // Cut inside a WebSocket data message (after the HTTP upgrade): the
  // `nth` (0-based) message of the direction whose first payload byte is
  // `tag` (a sync message tag), after `offset` bytes of its payload, or
  // before its last byte if it is shorter, so the message never arrives whole.
  struct message_cut {
    unsigned char tag = 0;
    unsigned nth = 0;
    std::uint64_t offset = 1;
  };

  struct cut_rule {
    direction dir = direction::both;
    std::uint64_t after_bytes = std::numeric_limits<std::uint64_t>::max();  // max: never by count
    std::optional<message_cut> inside;  // requires dir up or down
  };

  // Listens on 127.0.0.1:0 and forwards to `upstream` ("HOST:PORT"),
  // cutting by `rule` (or never). Throws std::runtime_error if it cannot listen.
  cutting_proxy(std::string upstream, cut_rule rule);
  explicit cutting_proxy(std::string upstream);
  ~cutting_proxy();
  cutting_proxy(const cutting_proxy&) = delete;
  cutting_proxy& operator=(const cutting_proxy&) = delete;

  const std::string& address() const { return address_; }  // HOST:PORT
  std::string sync_url() const { return "ws://" + address_ + "/sync"; }

  // Whether a connection was cut, and where (for failure messages).
  bool cut() const { return cut_; }
  std::string cut_description() const;
  // Bytes forwarded in a direction, over all connections.
  std::uint64_t bytes(direction d) const;

 private:
  void serve();
  void relay(int client, int server);

  std::string upstream_;
  cut_rule rule_;
  std::string address_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> cut_{false};
  std::atomic<std::uint64_t> up_{0}, down_{0};
  mutable std::mutex mutex_;
  std::string where_;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace haven::test

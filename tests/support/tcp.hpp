#pragma once
// Plain IPv4 TCP for the test helpers that speak to havend below HTTP.

#include <netinet/in.h>

#include <string>
#include <string_view>

namespace haven::test {

// "HOST:PORT" (an IPv4 address) as a socket address.
sockaddr_in ipv4_address(const std::string& address);
// A socket connected to "HOST:PORT", from local address `source` (an IPv4
// address, e.g. another loopback address such as 127.0.0.2) when given, or -1
// if it cannot connect. The caller closes it.
int connect_tcp(const std::string& address, const std::string& source = "");

// A TCP connection to "HOST:PORT" (from local address `source` when given,
// as connect_tcp) whose reads wait at most 10 s; closed when destroyed.
// Throws std::runtime_error if it cannot connect.
class tcp_connection {
 public:
  explicit tcp_connection(const std::string& address, const std::string& source = "");
  ~tcp_connection();
  tcp_connection(const tcp_connection&) = delete;
  tcp_connection& operator=(const tcp_connection&) = delete;

  int fd() const { return fd_; }
  // Writes all of `bytes`; false if the connection is gone (no SIGPIPE).
  bool send(std::string_view bytes);
  // Everything until the server closes (or a read waits 10 s); "" if it
  // closed without a word.
  std::string receive_all();
  // Whether the server has closed the connection (a read would end), without waiting.
  bool ended_by_peer();

 private:
  int fd_;
};

}  // namespace haven::test

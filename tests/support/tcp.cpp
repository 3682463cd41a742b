#include "tcp.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

namespace haven::test {

sockaddr_in ipv4_address(const std::string& address) {
  const auto colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
  return addr;
}

int connect_tcp(const std::string& address, const std::string& source) {
  const sockaddr_in addr = ipv4_address(address);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  const bool bound =
      source.empty() || (inet_pton(AF_INET, source.c_str(), &local.sin_addr) == 1 &&
                         bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) == 0);
  if (fd >= 0 && bound && connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0)
    return fd;
  if (fd >= 0) close(fd);
  return -1;
}

tcp_connection::tcp_connection(const std::string& address, const std::string& source)
    : fd_(connect_tcp(address, source)) {
  if (fd_ < 0) throw std::runtime_error("cannot connect to " + address);
  timeval timeout{10, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
}

tcp_connection::~tcp_connection() {
  close(fd_);
}

bool tcp_connection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string tcp_connection::receive_all() {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd_, buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  return out;
}

bool tcp_connection::ended_by_peer() {
  pollfd p{fd_, POLLIN, 0};
  char byte = 0;
  return poll(&p, 1, 0) == 1 && recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

}  // namespace haven::test

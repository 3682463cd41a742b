#pragma once
// Plain IPv4 TCP for the test helpers that speak to havend below HTTP.

#include <netinet/in.h>

#include <string>

namespace haven::test {

// "HOST:PORT" (an IPv4 address) as a socket address.
sockaddr_in ipv4_address(const std::string& address);
// A socket connected to "HOST:PORT", or -1 if it cannot connect. The caller closes it.
int connect_tcp(const std::string& address);

}  // namespace haven::test

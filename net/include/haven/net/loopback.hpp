#pragma once
// Which hosts count as loopback, without Beast: for code that only needs
// this answer (havend's command line) as well as the streams.

#include <string_view>

namespace haven::streams {

// True for "localhost" and the loopback addresses (127.0.0.0/8, ::1): the
// only hosts a plain connection may reach.
bool is_loopback_host(std::string_view host);

}  // namespace haven::streams

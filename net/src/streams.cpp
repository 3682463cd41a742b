#include <haven/net/streams.hpp>

#include <string>

#include <boost/asio/ip/address.hpp>

namespace haven::streams {

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

}  // namespace haven::streams

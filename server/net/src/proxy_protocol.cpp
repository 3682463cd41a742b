#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <haven/server/proxy_protocol.hpp>

namespace haven::server {
namespace {
namespace ip = boost::asio::ip;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

std::optional<std::string> canonical_address(std::string_view text) {
  boost::system::error_code ec;
  const auto address = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  // An IPv4 client seen through an IPv6 socket counts as its IPv4 address.
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return ip::make_address_v4(ip::v4_mapped, address.to_v6()).to_string();
  return address.to_string();
}

proxy_v2_result parse_proxy_v2(std::string_view bytes) {
  using status = proxy_v2_result::status;
  proxy_v2_result r;
  const std::size_t prefix = std::min(bytes.size(), proxy_v2_signature.size());
  if (bytes.substr(0, prefix) != proxy_v2_signature.substr(0, prefix)) {
    r.outcome = status::not_proxy;
    return r;
  }
  if (bytes.size() < proxy_v2_fixed_bytes) return r;  // need_more
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
  auto invalid = [&](std::string why) {
    r.outcome = status::invalid;
    r.error = std::move(why);
    return r;
  };
  const unsigned version = byte(12) >> 4, command = byte(12) & 0x0f;
  if (version != 2)
    return invalid("PROXY protocol version " + std::to_string(version) + " (havend takes 2)");
  if (command > 1)
    return invalid("PROXY command " + std::to_string(command) + " is neither LOCAL nor PROXY");
  const std::size_t payload = (std::size_t{byte(14)} << 8) | byte(15);
  if (payload > proxy_v2_max_payload)
    return invalid("PROXY header of " + std::to_string(payload) + " bytes (at most " +
                   std::to_string(proxy_v2_max_payload) + ")");
  r.needed = proxy_v2_fixed_bytes + payload;
  if (bytes.size() < r.needed) return r;  // need_more
  r.length = r.needed;
  r.outcome = status::ok;
  if (command == 0) return r;  // LOCAL: the proxy's own connection (a health check)
  const unsigned family = byte(13) >> 4, transport = byte(13) & 0x0f;
  if (family == 0) return r;  // UNSPEC: no address given
  if (transport != 1 && transport != 2)
    return invalid("PROXY transport " + std::to_string(transport));
  if (family == 1) {  // AF_INET: source, destination (4 bytes each), ports
    if (payload < 12)
      return invalid("PROXY IPv4 addresses in " + std::to_string(payload) + " bytes");
    ip::address_v4::bytes_type a;
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = byte(16 + i);
    r.source = ip::address_v4(a).to_string();
    return r;
  }
  if (family == 2) {  // AF_INET6
    if (payload < 36)
      return invalid("PROXY IPv6 addresses in " + std::to_string(payload) + " bytes");
    ip::address_v6::bytes_type a;
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = byte(16 + i);
    r.source = *canonical_address(ip::address_v6(a).to_string());
    return r;
  }
  return invalid("PROXY address family " + std::to_string(family) +
                 " (havend takes IPv4 and IPv6)");
}

std::optional<std::string> forwarded_client(std::string_view header,
                                            const std::vector<std::string>& trusted) {
  if (header.size() > 1024) return std::nullopt;
  std::vector<std::string> entries;
  while (true) {
    const auto comma = header.rfind(',');
    const std::string_view entry =
        trim(comma == std::string_view::npos ? header : header.substr(comma + 1));
    if (entries.size() == 32) return std::nullopt;
    const auto address = canonical_address(entry);
    if (!address) return std::nullopt;
    if (std::find(trusted.begin(), trusted.end(), *address) == trusted.end()) return address;
    entries.push_back(*address);
    if (comma == std::string_view::npos) return std::nullopt;
    header = header.substr(0, comma);
  }
}

}  // namespace haven::server

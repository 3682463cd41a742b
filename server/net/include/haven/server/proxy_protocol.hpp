#pragma once
// The client address a trusted reverse proxy passes on: the PROXY protocol
// version 2 header (HAProxy's binary preamble, sent before TLS or HTTP) and
// the X-Forwarded-For header. Pure functions over bytes and text; the
// server decides whom to believe (only the --trusted-proxy peers).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace haven::server {

// The 12 bytes every PROXY v2 header starts with.
inline constexpr std::string_view proxy_v2_signature{"\r\n\r\n\0\r\nQUIT\n", 12};
// The fixed part (signature, version and command, family, length) and the
// most address and TLV bytes havend takes after it; a longer header is refused.
inline constexpr std::size_t proxy_v2_fixed_bytes = 16;
inline constexpr std::size_t proxy_v2_max_payload = 512;

struct proxy_v2_result {
  enum class status {
    need_more,  // `bytes` is a prefix of a header: read `needed` bytes in all
    not_proxy,  // `bytes` does not start with the signature
    invalid,    // a malformed or oversized header: close the connection (`error` says why)
    ok,         // `length` bytes are the header; `source` is the client (empty for LOCAL)
  };
  status outcome = status::need_more;
  std::size_t needed = proxy_v2_fixed_bytes;
  std::size_t length = 0;
  std::string source;  // the client's IP address as text ("" for a LOCAL command or UNSPEC family)
  std::string error;
};

// Parses the start of a connection's bytes as a PROXY v2 header.
proxy_v2_result parse_proxy_v2(std::string_view bytes);

// The client an X-Forwarded-For value names: its entries from the right,
// skipping those that are `trusted` proxies themselves, the first one that
// is not; nullopt when an entry is not an IP address (then nothing in it
// can be believed), when every entry is trusted, or when the value is
// longer than 1024 bytes or has more than 32 entries. Addresses are returned
// as make_address prints them.
std::optional<std::string> forwarded_client(std::string_view header,
                                            const std::vector<std::string>& trusted);

// `text` as an IP address, printed canonically; nullopt if it is not one.
std::optional<std::string> canonical_address(std::string_view text);

}  // namespace haven::server

// The PROXY protocol v2 parser and the X-Forwarded-For reading: what a
// trusted proxy says about the client, and what is refused as malformed.
#include <catch2/catch.hpp>
#include <haven/server/proxy_protocol.hpp>

namespace haven {
namespace {

using status = server::proxy_v2_result::status;

// A PROXY v2 header: command (0 LOCAL, 1 PROXY), family/transport byte, payload.
std::string header(unsigned command, unsigned char family, const std::string& payload) {
  std::string h(server::proxy_v2_signature);
  h.push_back(static_cast<char>(0x20 | command));
  h.push_back(static_cast<char>(family));
  h.push_back(static_cast<char>(payload.size() >> 8));
  h.push_back(static_cast<char>(payload.size() & 0xff));
  return h + payload;
}

std::string ipv4_payload() {
  return std::string(
      "\xc6\x33\x64\x07"  // 198.51.100.7
      "\x7f\x00\x00\x01"  // 127.0.0.1
      "\x30\x39\x1f\x90",
      12);
}

TEST_CASE("proxy v2: an IPv4 and an IPv6 client, LOCAL, and TLVs after the addresses",
          "[server][proxy]") {
  const auto v4 = server::parse_proxy_v2(header(1, 0x11, ipv4_payload()) + "GET / HTTP/1.1\r\n");
  REQUIRE(v4.outcome == status::ok);
  CHECK(v4.source == "198.51.100.7");
  CHECK(v4.length == 16 + 12);

  std::string v6_payload(36, '\0');
  v6_payload[0] = '\x20';
  v6_payload[1] = '\x01';
  v6_payload[2] = '\x0d';
  v6_payload[3] = '\xb8';
  v6_payload[15] = '\x05';  // 2001:db8::5
  const auto v6 = server::parse_proxy_v2(header(1, 0x21, v6_payload + std::string(20, 'T')));
  REQUIRE(v6.outcome == status::ok);
  CHECK(v6.source == "2001:db8::5");
  CHECK(v6.length == 16 + 56);

  const auto local = server::parse_proxy_v2(header(0, 0x00, ""));
  REQUIRE(local.outcome == status::ok);
  CHECK(local.source.empty());  // the proxy's own connection
}

TEST_CASE("proxy v2: prefixes need more, other bytes are not a header", "[server][proxy]") {
  const std::string full = header(1, 0x11, ipv4_payload());
  for (std::size_t n = 0; n < full.size(); ++n) {
    const auto r = server::parse_proxy_v2(full.substr(0, n));
    CAPTURE(n);
    CHECK(r.outcome == status::need_more);
    if (n >= 16) CHECK(r.needed == full.size());
  }
  CHECK(server::parse_proxy_v2("GET / HTTP/1.1\r\n").outcome == status::not_proxy);
  CHECK(server::parse_proxy_v2("\x16\x03\x01").outcome == status::not_proxy);  // a TLS ClientHello
  CHECK(server::parse_proxy_v2("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n").outcome ==
        status::not_proxy);  // v1
}

TEST_CASE("proxy v2: malformed and oversized headers are refused", "[server][proxy]") {
  std::string v1 = header(1, 0x11, ipv4_payload());
  v1[12] = '\x11';  // version 1 in the binary form
  CHECK(server::parse_proxy_v2(v1).outcome == status::invalid);
  CHECK(server::parse_proxy_v2(header(2, 0x11, ipv4_payload())).outcome ==
        status::invalid);  // command 2
  CHECK(server::parse_proxy_v2(header(1, 0x11, std::string(8, '\0'))).outcome ==
        status::invalid);  // short
  CHECK(server::parse_proxy_v2(header(1, 0x31, std::string(216, '\0'))).outcome ==
        status::invalid);  // AF_UNIX
  const auto big = server::parse_proxy_v2(header(1, 0x11, std::string(600, '\0')).substr(0, 16));
  CHECK(big.outcome == status::invalid);  // refused from its length alone, before reading it
  CHECK(big.error.find("600 bytes") != std::string::npos);
}

TEST_CASE("x-forwarded-for: the rightmost entry that is not a trusted proxy", "[server][proxy]") {
  const std::vector<std::string> trusted{"10.0.0.1", "10.0.0.2"};
  CHECK(server::forwarded_client("203.0.113.5", trusted) == "203.0.113.5");
  CHECK(server::forwarded_client("198.51.100.9, 203.0.113.5", trusted) ==
        "203.0.113.5");  // the left is the client's word
  CHECK(server::forwarded_client("203.0.113.5, 10.0.0.2", trusted) ==
        "203.0.113.5");  // through two proxies
  CHECK(server::forwarded_client(" 2001:db8::7 ", trusted) == "2001:db8::7");
  CHECK(server::forwarded_client("::ffff:192.0.2.1", trusted) == "192.0.2.1");
  CHECK(server::forwarded_client("10.0.0.1, 10.0.0.2", trusted) == std::nullopt);  // no client
  CHECK(server::forwarded_client("nonsense, 10.0.0.2", trusted) == std::nullopt);
  CHECK(server::forwarded_client("203.0.113.5:4711", trusted) == std::nullopt);  // not an address
  CHECK(server::forwarded_client("", trusted) == std::nullopt);
  std::string many = "203.0.113.5, ";
  for (int i = 0; i < 40; ++i) many += "10.0.0.1, ";
  CHECK(server::forwarded_client(many + "10.0.0.2", trusted) ==
        std::nullopt);  // too many entries to reach the client
  CHECK(server::forwarded_client(std::string(2000, ' ') + "203.0.113.5", trusted) ==
        std::nullopt);  // too long
}

}  // namespace
}  // namespace haven

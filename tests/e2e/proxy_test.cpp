// havend behind a reverse proxy: from a --trusted-proxy peer the client's
// address comes from a PROXY protocol v2 header or X-Forwarded-For, and the
// audit log, back-off and per-address connection pool count that client;
// from any other peer both are ignored (a PROXY header is refused).
// Loopback only: the trusted proxy is 127.0.0.2, other peers 127.0.0.1.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "../support/havend_process.hpp"
#include "../support/tcp.hpp"

namespace haven::test {
namespace {

constexpr const char* proxy_address = "127.0.0.2";

// A PROXY v2 header for a TCP/IPv4 client `client` (dotted quad) to 127.0.0.1.
std::string proxy_header(const std::string& client) {
  in_addr source{};
  REQUIRE(inet_pton(AF_INET, client.c_str(), &source) == 1);
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  h += "\x21\x11";
  h += std::string("\x00\x0c", 2);
  h.append(reinterpret_cast<const char*>(&source), 4);
  h += std::string("\x7f\x00\x00\x01\x30\x39\x1f\x90", 8);
  return h;
}

std::string request(const std::string& path, const std::vector<std::string>& headers = {}) {
  std::string r = "GET " + path + " HTTP/1.1\r\nHost: havend\r\nConnection: close\r\n";
  for (const auto& h : headers) r += h + "\r\n";
  return r + "\r\n";
}

int status_of(const std::string& response) {
  return response.size() > 12 ? std::stoi(response.substr(9, 3)) : 0;
}

const std::string bad_token = "Authorization: Bearer " + std::string(64, 'b');

struct proxied_server {
  temp_dir dir;
  std::string db = dir.file("central.db");
  havend_process server{db,
                        {"--trusted-proxy", proxy_address, "--trusted-proxy", "10.0.0.9",
                         "--max-connections-per-address", "2",
                         // A back-off outlasts the test, however slowly it runs.
                         "--login-backoff-first", "3600"},
                        havend_process::authentication::on};

  // GET `path` on a new connection from `source`, after `preamble`.
  int get(const std::string& source, const std::string& preamble, const std::string& path,
          const std::vector<std::string>& headers = {}) {
    tcp_connection c(server.address(), source);
    REQUIRE(c.send(preamble + request(path, headers)));
    return status_of(c.receive_all());
  }
  // Gauge or counter `name` of /metrics, asked through the proxy for `client`.
  std::uint64_t gauge(const std::string& name, const std::string& client) {
    tcp_connection c(server.address(), proxy_address);
    REQUIRE(c.send(proxy_header(client) + request("/metrics")));
    const std::string text = c.receive_all();
    const auto at = text.find("\n" + name + " ");
    return at == std::string::npos ? 0 : std::stoull(text.substr(at + name.size() + 2));
  }
  std::string audit() const {
    return run({HAVEND_PATH, "--db", db, "audit", "--limit", "1000"}).out;
  }
};

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("proxy: a trusted proxy's PROXY v2 header and X-Forwarded-For name the client",
          "[e2e][proxy]") {
  proxied_server s;
  CHECK(s.get(proxy_address, proxy_header("198.51.100.7"), "/api/tallies", {bad_token}) == 401);
  CHECK(s.get(proxy_address, "", "/api/tallies",
              {bad_token, "X-Forwarded-For: 192.0.2.1, 203.0.113.5, 10.0.0.9"}) == 401);
  CHECK(s.get(proxy_address, "", "/healthz") == 200);  // no header: the proxy itself
  const std::string audit = s.audit();
  INFO(audit);
  CHECK(has(audit, "token_refused  token:"));
  CHECK(has(audit, "from 198.51.100.7"));
  CHECK(has(audit, "from 203.0.113.5"));  // the rightmost entry that is not a trusted proxy
  CHECK_FALSE(has(audit, "from 192.0.2.1"));
  CHECK_FALSE(has(audit, "from 127.0.0.2"));
}

TEST_CASE("proxy: from any other peer X-Forwarded-For is ignored and a PROXY header refused",
          "[e2e][proxy]") {
  proxied_server s;
  CHECK(s.get("127.0.0.1", "", "/api/tallies", {bad_token, "X-Forwarded-For: 192.0.2.44"}) == 401);
  CHECK(s.get("127.0.0.1", proxy_header("198.51.100.8"), "/healthz") != 200);
  const std::string audit = s.audit();
  INFO(audit);
  CHECK(has(audit, "from 127.0.0.1"));
  CHECK_FALSE(has(audit, "192.0.2.44"));
  CHECK_FALSE(has(audit, "198.51.100.8"));
}

TEST_CASE("proxy: back-off and the connection pool count each forwarded client, not the proxy",
          "[e2e][proxy]") {
  proxied_server s;
  const std::string a = "X-Forwarded-For: 203.0.113.10", b = "X-Forwarded-For: 203.0.113.11";
  for (int i = 0; i < 6; ++i) s.get(proxy_address, "", "/api/tallies", {bad_token, a});
  CHECK(s.get(proxy_address, "", "/api/tallies", {bad_token, a}) == 429);  // client a is backed off
  // Client b behind the same proxy is not (with a token of its own: the one
  // a sent is backed off wherever it comes from).
  CHECK(s.get(proxy_address, "", "/api/tallies",
              {"Authorization: Bearer " + std::string(64, 'c'), b}) == 401);
  // A connection havend has closed frees its room before the client sees it
  // end: client a's seven connections, one after another, evicted none.
  CHECK(s.gauge("haven_evicted_connections_total", "198.51.100.99") == 0);

  // Two stalled connections of one client fill its pool (the limit is 2).
  // Each is admitted before the next connects, so that `first` is the
  // oldest: havend has read its header when /metrics, asked through the
  // proxy for another client (whose request is one more connection waiting;
  // at most 100 looks), counts it.
  const auto await_waiting = [&s](std::uint64_t expected) {
    std::uint64_t waiting = 0;
    for (int look = 0; look < 100 && waiting != expected; ++look) {
      if (look > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      waiting = s.gauge("haven_waiting_connections", "198.51.100.99");
    }
    return waiting;
  };
  tcp_connection first(s.server.address(), proxy_address),
      second(s.server.address(), proxy_address);
  REQUIRE(first.send(proxy_header("198.51.100.20") + "GET /healthz HTTP/1.1\r\n"));
  REQUIRE(await_waiting(2) == 2);
  REQUIRE(second.send(proxy_header("198.51.100.20") + "GET /healthz HTTP/1.1\r\n"));
  REQUIRE(await_waiting(3) == 3);
  // A third connection of the client is served in the place of its oldest,
  // which is closed without a word, and the second is still served.
  CHECK(s.get(proxy_address, proxy_header("198.51.100.20"), "/healthz") == 200);
  CHECK(first.receive_all().empty());
  REQUIRE(second.send("Connection: close\r\n\r\n"));
  CHECK(status_of(second.receive_all()) == 200);
  CHECK(s.get(proxy_address, proxy_header("198.51.100.21"), "/healthz") == 200);
  CHECK(s.gauge("haven_evicted_connections_total", "198.51.100.99") == 1);
}

TEST_CASE("proxy: --trusted-proxy takes an IP address, and a wrong one leaves no store",
          "[e2e][proxy]") {
  temp_dir dir;
  const auto r = run({HAVEND_PATH, "--db", dir.file("central.db"), "--listen", "127.0.0.1:0",
                      "--trusted-proxy", "proxy.example"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--trusted-proxy takes the proxy's IP address (got \"proxy.example\")") !=
        std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.file("central.db")));
}

}  // namespace haven::test

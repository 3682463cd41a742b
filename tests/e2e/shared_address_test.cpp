// Many devices behind one address (an asylum centre's NAT, a proxy that
// names no client), against a real havend with authentication on: stalled
// connections that never sign in cannot keep an enrolled device of the same
// address from syncing, connections that signed in (a device's hello, a
// coordinator's token) leave the address's pool, one device holds at most
// its share of sessions, a request trickled in line by line is closed by the
// handshake timeout, and a storm of bad enrollment codes writes a bounded
// number of audit rows. The tests watch havend from 127.0.0.2, which it
// counts apart from the clients on 127.0.0.1.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <haven/schema/pseudonym.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../support/havend_process.hpp"
#include "../support/raw_ws_client.hpp"
#include "../support/tcp.hpp"
#include "fair_share.hpp"
#include "secured_fixture.hpp"

namespace haven::test {
namespace {

using Catch::Matchers::Contains;

constexpr const char* observer = "127.0.0.2";

// Connections from 127.0.0.1 that never sign in, of three kinds in turn: a
// TCP connection that says nothing, one that sent half an HTTP request, and a
// WebSocket that read its challenge and never says hello.
class stalled {
 public:
  explicit stalled(const std::string& address) : address_(address) {}

  // Opens `n` more; returns how many of them havend refused at once.
  int open(int n) {
    int refused = 0;
    for (int i = 0; i < n; ++i, ++opened_) {
      if (opened_ % 3 == 2) {
        try {
          sessions_.push_back(std::make_unique<raw_ws_client>(address_));
          sessions_.back()->read_challenge();
        } catch (const std::exception&) {
          ++refused;
        }
        continue;
      }
      sockets_.push_back(std::make_unique<tcp_connection>(address_));
      if (opened_ % 3 == 1)
        REQUIRE(sockets_.back()->send("GET /healthz HTTP/1.1\r\nHost: havend\r\n"));
    }
    return refused;
  }

 private:
  std::string address_;
  int opened_ = 0;
  std::vector<std::unique_ptr<tcp_connection>> sockets_;
  std::vector<std::unique_ptr<raw_ws_client>> sessions_;
};

// A keep-alive HTTP connection from 127.0.0.1, one request at a time.
class keep_alive {
 public:
  explicit keep_alive(const std::string& address) : connection_(address) {}

  // GET `path` with `authorization`; the reply's status, or 0 if the
  // connection ended first.
  int get(const std::string& path, const std::string& authorization) {
    const std::string request =
        "GET " + path + " HTTP/1.1\r\nHost: havend\r\nAuthorization: " + authorization + "\r\n\r\n";
    if (!connection_.send(request)) return 0;
    std::string in;
    std::size_t end = std::string::npos, length = 0;
    char buf[8192];
    for (;;) {
      if (end == std::string::npos && (end = in.find("\r\n\r\n")) != std::string::npos) {
        const auto at = in.find("Content-Length: ");
        length = at < end ? std::stoul(in.substr(at + 16)) : 0;
      }
      if (end != std::string::npos && in.size() >= end + 4 + length) break;
      const ssize_t n = read(connection_.fd(), buf, sizeof buf);
      if (n <= 0) return 0;
      in.append(buf, static_cast<std::size_t>(n));
    }
    return std::stoi(in.substr(9, 3));
  }

 private:
  tcp_connection connection_;
};

// Connections not signed in that havend holds, besides the observer's own.
std::uint64_t waiting(const havend_process& server) {
  return metric(server.address(), "haven_waiting_connections", observer) - 1;
}
std::uint64_t evicted(const havend_process& server) {
  return metric(server.address(), "haven_evicted_connections_total", observer);
}

// Waits (at most 200 looks) until havend holds `held` connections not signed
// in and has closed `closed` to make room.
bool settled(const havend_process& server, std::uint64_t held, std::uint64_t closed) {
  for (int look = 0; look < 200; ++look) {
    if (look > 0) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    if (waiting(server) == held && evicted(server) == closed) return true;
  }
  return false;
}

// A raw session of the enrolled device `d`, past its welcome.
std::unique_ptr<raw_ws_client> signed_in(const secured_server& s, const enrolled_device& d) {
  auto ws = std::make_unique<raw_ws_client>(s.server.address());
  const auto c = d.credentials();
  REQUIRE(ws->send_binary(sync::encode(signed_hello(c, c.private_key, ws->read_challenge()))) ==
          "");
  REQUIRE(std::holds_alternative<sync::welcome>(next_message(*ws)));
  return ws;
}

// True if the session still answers: a pull is answered with a batch.
bool answers(raw_ws_client& ws) {
  if (ws.send_binary(sync::encode(sync::pull_request{0, 100})) != "") return false;
  const auto reply = ws.read();
  if (reply.closed) return false;
  const auto m = sync::decode(reply.frame);
  return m.ok() && std::holds_alternative<sync::change_batch>(m.value());
}

std::uint64_t records(const secured_server& s) {
  const auto health = http_get_from(observer, s.server.address(), "/healthz");
  return boost::json::parse(health.body).as_object().at("records").to_number<std::uint64_t>();
}

}  // namespace

TEST_CASE(
    "nat: 40 stalled connections from one address do not keep an enrolled device of it from "
    "syncing",
    "[e2e][nat]") {
  // Nothing times out during the test: the stalled connections stay.
  secured_server s({"--handshake-timeout", "300"});
  enrolled_device honest;
  s.enroll(honest, "team-a");
  honest.record(with_check_symbol("P-NATTED-0001"));

  stalled hostile(s.server.address());
  CHECK(hostile.open(40) == 0);
  // havend holds 32 of them (the address's pool) and closed the 8 oldest.
  CHECK(settled(s.server, 32, 8));

  const auto synced = honest.sync();
  INFO(synced.out << synced.err);
  CHECK(synced.exit_code == 0);
  CHECK(records(s) == 1);
  // The device took the place of one stalled connection, then left the
  // address's pool when its hello verified: 31 are still held.
  CHECK(settled(s.server, 31, 9));
}

TEST_CASE("nat: devices that signed in leave their address's pool to those that have not",
          "[e2e][nat]") {
  secured_server s({"--max-connections-per-address", "2", "--handshake-timeout", "300"});
  std::vector<enrolled_device> devices(3);
  std::vector<std::unique_ptr<raw_ws_client>> sessions;
  for (auto& d : devices) {
    s.enroll(d, "team-a");
    REQUIRE(settled(s.server, 0, 0));  // havend saw enroll's connection close
    sessions.push_back(signed_in(s, d));
  }
  // At once: the last session left the pool before its welcome came.
  stalled hostile(s.server.address());
  CHECK(hostile.open(2) == 0);  // the pool is full now
  CHECK(settled(s.server, 2, 0));
  for (auto& ws : sessions) CHECK(answers(*ws));  // none was counted in it, none was closed
}

TEST_CASE("nat: a coordinator's connection leaves its address's pool once its token is valid",
          "[e2e][nat]") {
  secured_server s({"--max-connections-per-address", "2", "--handshake-timeout", "300"});
  const std::string bearer = "Bearer " + coordinator_token(s.db);
  keep_alive coordinator(s.server.address());
  REQUIRE(coordinator.get("/api/tallies", bearer) == 200);
  stalled hostile(s.server.address());
  CHECK(hostile.open(2) == 0);
  CHECK(settled(s.server, 2, 0));  // the pool is full, and nothing was closed to make room
  CHECK(coordinator.get("/api/tallies", bearer) == 200);  // on the same connection
}

TEST_CASE("nat: a device holds at most its share of sessions, its newest replacing its oldest",
          "[e2e][nat]") {
  constexpr int opened = 6, share = 4;  // havend's default --max-connections-per-device
  secured_server s;
  enrolled_device d;
  s.enroll(d, "team-a");
  std::vector<std::unique_ptr<raw_ws_client>> sessions;
  for (int i = 0; i < opened; ++i) sessions.push_back(signed_in(s, d));
  for (int i = 0; i < opened - share; ++i) {
    INFO("session " << i);
    const auto m = next_message(*sessions[static_cast<std::size_t>(i)]);
    const auto* e = std::get_if<sync::error_frame>(&m);
    REQUIRE(e != nullptr);
    CHECK(e->code == static_cast<std::uint16_t>(errc::unavailable));
    CHECK_THAT(e->message, Contains("this device opened a newer session (4 at most at once)"));
    CHECK(sessions[static_cast<std::size_t>(i)]->read().closed);
  }
  for (int i = opened - share; i < opened; ++i)
    CHECK(answers(*sessions[static_cast<std::size_t>(i)]));
  CHECK(metric(s.server.address(), "haven_replaced_connections_total") == opened - share);
  // The device's own sync gets in, in the place of its oldest session.
  d.record(with_check_symbol("P-NEWEST-0001"));
  CHECK(d.sync().exit_code == 0);
  CHECK(records(s) == 1);
  CHECK(metric(s.server.address(), "haven_replaced_connections_total") == opened - share + 1);
}

TEST_CASE("nat: a request trickled in line by line is closed by the handshake timeout",
          "[e2e][nat]") {
  temp_dir dir;
  havend_process server(dir.file("central.db"), {"--handshake-timeout", "1"});
  tcp_connection slow(server.address());
  REQUIRE(slow.send("GET /healthz HTTP/1.1\r\nHost: havend\r\n"));
  // A header line every 100 ms, for at most 10 s (a request of a connection
  // not signed in had 30 s): havend ends the connection first.
  bool ended = false;
  for (int i = 0; i < 100 && !ended; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ended = !slow.send("X-Slow: 1\r\n") || slow.ended_by_peer();
  }
  CHECK(ended);
  CHECK(http_get(server.address(), "/healthz").status == 200);
}

TEST_CASE(
    "nat: a storm of bad enrollment codes from one address writes a few audit rows and a count",
    "[e2e][nat][audit]") {
  constexpr int attempts = 60;
  // Many devices share the address, so it has many free failures: every
  // code is checked, and refused.
  secured_server s({"--max-failed-logins", "1000"});
  for (int i = 0; i < attempts; ++i) {
    const std::string body = boost::json::serialize(boost::json::object{
        {"code", "0000-0000-" + std::to_string(1000 + i)}, {"public_key", std::string(64, '1')}});
    CHECK(http_send(s.server.address(), "POST", "/api/enroll", body,
                    {{"Content-Type", "application/json"}})
              .status == 401);
  }
  REQUIRE(s.server.stop() == 0);  // the count still held back is written at shutdown
  const auto audit = s.havend({"audit", "--limit", "1000"});
  REQUIRE(audit.exit_code == 0);
  const auto rows = audit_rows(audit.out, "enrollment_refused");
  INFO(audit.out);
  CHECK(rows.all == 6);  // the first five, then one row with the count of the other 55
  REQUIRE(rows.summaries.size() == 1);
  CHECK_THAT(rows.summaries.front(),
             Contains(std::to_string(attempts - 5) + " more enrollment_refused"));
}

}  // namespace haven::test

// havend's abuse limits: a connection that never says hello is closed after
// the handshake timeout, and one address cannot hold more than its share of
// connections. Each limit is a setting; the server keeps serving others.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <haven/sync/protocol.hpp>
#include <memory>
#include <thread>
#include <vector>

#include "../support/havend_process.hpp"
#include "../support/raw_ws_client.hpp"
#include "../support/tcp.hpp"
#include "secured_fixture.hpp"
#include "shell_fixture.hpp"

namespace haven::test {
namespace {

TEST_CASE("a connection that never says hello is closed after the handshake timeout",
          "[e2e][limits]") {
  temp_dir dir;
  havend_process server(dir.file("central.db"), {"--handshake-timeout", "1"});
  raw_ws_client silent(server.address());
  silent.read_challenge();
  expect_refusal(silent, errc::protocol, "no hello within 1 s");
  CHECK(http_get(server.address(), "/healthz").status == 200);
}

TEST_CASE("a connection from a full address takes the place of its oldest not signed in",
          "[e2e][limits]") {
  temp_dir dir;
  havend_process server(dir.file("central.db"), {"--max-connections-per-address", "3"});
  std::vector<std::unique_ptr<raw_ws_client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<raw_ws_client>(server.address()));
    held.back()->read_challenge();  // havend holds it: its slot is taken
  }
  // A fourth is served; the oldest of the three, which never said hello,
  // is told why and closed.
  CHECK(http_get(server.address(), "/healthz").status == 200);
  expect_refusal(*held.front(), errc::unavailable,
                 "too many connections from your address had not signed in");
  // The others are still held (the healthz above went in the first one's place).
  CHECK(http_get_from("127.0.0.2", server.address(), "/metrics")
            .body.find("\nhaven_evicted_connections_total 1\n") != std::string::npos);
}

// A plain TCP connection to havend that has sent half an HTTP request, so the
// server waits for the rest. Closed when destroyed.
class half_request {
 public:
  explicit half_request(const std::string& address) : fd_(connect_tcp(address)) {
    REQUIRE(fd_ >= 0);
    const std::string start = "GET /healthz HTTP/1.1\r\nHost: " + address + "\r\n";
    REQUIRE(write(fd_, start.data(), start.size()) == static_cast<ssize_t>(start.size()));
  }
  ~half_request() { close(fd_); }
  half_request(const half_request&) = delete;
  half_request& operator=(const half_request&) = delete;

 private:
  int fd_;
};

TEST_CASE("havend stops cleanly while connections it cannot finish are still open",
          "[e2e][limits]") {
  // Neither client answers: the WebSocket one never says hello nor answers
  // the close, the HTTP one never ends its request. Both outlive the grace
  // period, so their sessions are still there when havend's threads stop;
  // tearing those down must touch nothing already gone (the sanitizer build
  // checks that).
  temp_dir dir;
  havend_process server(dir.file("central.db"));
  raw_ws_client silent(server.address());
  silent.read_challenge();
  half_request waiting(server.address());
  CHECK(http_get(server.address(), "/healthz").status ==
        200);  // both connections are accepted by now
  CHECK(server.stop() == 0);
}

}  // namespace
TEST_CASE("a device pushes and pulls in batches no larger than havend's --max-batch-records",
          "[e2e][limits]") {
  shell haven;
  havend_process server(haven.dir().file("central.db"), {"--max-batch-records", "2"});
  haven.ok({"init", "--team", "outreach"});
  for (int i = 0; i < 5; ++i)
    haven.ok({"add", "--quiet", "prevention_workshop", "date=2026-03-10",
              "audience=secondary-school", "region=podravska",
              "participants=" + std::to_string(20 + i)});
  const std::string out = haven.ok({"sync", "--server", server.sync_url()});
  CHECK(out.find("in 3 batches") != std::string::npos);  // 2 + 2 + 1 records
  CHECK(out.find("0 pending") != std::string::npos);
  CHECK(http_get(server.address(), "/healthz").body.find("\"records\":5") != std::string::npos);

  // Another device pulls them in batches no larger either: they must fit the same limit.
  shell other;
  other.ok({"init", "--team", "outreach"});
  const std::string pulled = other.ok({"sync", "--server", server.sync_url()});
  CHECK(pulled.find("in 3 batches; 0 pending") != std::string::npos);  // pulled 2 + 2 + 1 records
  CHECK(other.ok({"status"}).find("records         5\n") != std::string::npos);
}

}  // namespace haven::test

namespace haven::test {
namespace {

TEST_CASE("havend refuses a --max-batch-records larger than a device takes in one batch",
          "[e2e][limits]") {
  temp_dir dir;
  const run_result r = run({HAVEND_PATH, "--db", dir.file("central.db"), "--listen", "127.0.0.1:0",
                            "--dev-no-auth", "--max-batch-records", "2001"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--max-batch-records must be at most 2000, the most records a device takes in "
                   "one batch") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.file("central.db")));
}

}  // namespace
}  // namespace haven::test

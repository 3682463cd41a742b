// Security end to end, against the real havend with authentication on and
// real `haven` devices enrolled with codes from `havend enroll`: team A never
// receives team B's cells (pull and live), forged and replayed hellos and
// pushes into another team are refused on the wire with the store unchanged,
// a coordinator token is refused on /sync, codes work once, and retired and
// revoked devices erase their stores down to the bytes of the files.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <haven/client/store.hpp>
#include <haven/core/hex.hpp>
#include <haven/crypto/crypto.hpp>
#include <haven/sync/protocol.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../support/file_bytes.hpp"
#include "../support/havend_process.hpp"
#include "../support/raw_ws_client.hpp"
#include "secured_fixture.hpp"
#include "shell_fixture.hpp"

namespace haven::test {
namespace {

using Catch::Matchers::Contains;

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The devices of these tests are enrolled ones (secured_fixture.hpp).
using device = enrolled_device;

// The outbox of a scratch store of `team` holding one record of `person`.
std::vector<sync::record_change> changes_of(const temp_dir& dir, const std::string& team,
                                            const std::string& person) {
  auto db = client::store::create(dir.file(team + "-" + person + ".db"), team).value();
  REQUIRE(db->add({"pats_session",
                   "",
                   {{"date", "2026-03-02"},
                    {"site", "vic"},
                    {"format", "individual"},
                    {"person", person}}})
              .ok());
  return db->outbox().value().changes;
}

// A device of team-a that synced one record and then recorded another;
// returns its private key in hex, to look for in its files after a wipe.
std::string synced_then_pending(secured_server& s, device& d, const std::string& pending) {
  s.enroll(d, "team-a");
  const std::string key = to_hex(d.credentials().private_key);
  d.record("P-SYNCED-00016");
  REQUIRE(d.sync().exit_code == 0);
  d.record(pending);
  return key;
}

}  // namespace

TEST_CASE("security: a device of team A never receives a cell of team B, pulled or live",
          "[e2e][security]") {
  secured_server s;
  device a1, a2, b1;
  s.enroll(a1, "team-a");
  s.enroll(a2, "team-a");
  s.enroll(b1, "team-b");
  a1.record("P-A1PHA-00011");
  b1.record("P-BRAV0-0001B");
  REQUIRE(a1.sync().exit_code == 0);
  REQUIRE(b1.sync().exit_code == 0);
  REQUIRE(a2.sync().exit_code == 0);
  CHECK(has(a2.list(), "P-A1PHA-00011"));
  CHECK_FALSE(has(a2.list(), "P-BRAV0"));

  // Live: a2 watches while both teams record more.
  child watcher({HAVEN_SHELL_PATH, "--db", a2.haven.db(), "sync", "--watch"});
  b1.record("P-BRAV0-00029");
  REQUIRE(b1.sync().exit_code == 0);
  a1.record("P-A1PHA-0002Z");
  REQUIRE(a1.sync().exit_code == 0);
  bool arrived = false;
  for (int i = 0; i < 200 && !arrived; ++i) {  // at most 20 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    arrived = has(a2.list(), "P-A1PHA-0002Z");
  }
  watcher.kill_group(SIGINT);
  CHECK(watcher.wait() == 0);
  CHECK(arrived);
  CHECK_FALSE(has(a2.list(), "P-BRAV0"));
  CHECK_FALSE(store_files_contain(a2.haven.db(), "P-BRAV0"));
  CHECK(store_files_contain(s.db, "P-BRAV0-00029"));  // it did reach the server
}

TEST_CASE(
    "security: forged, replayed and unknown hellos are refused on the wire, and nothing moves",
    "[e2e][security]") {
  secured_server s;
  device d;
  s.enroll(d, "team-a");
  d.record("P-A1PHA-00011");
  REQUIRE(d.sync().exit_code == 0);
  const client::credentials c = d.credentials();
  const std::string before = s.head();

  SECTION("a hello signed by another key") {
    raw_ws_client ws(s.server.address());
    const std::string nonce = ws.read_challenge();
    REQUIRE(ws.send_binary(sync::encode(
                signed_hello(c, crypto::generate_signing_key().private_key, nonce))) == "");
    expect_refusal(ws, errc::unauthorized, "signature does not verify");
  }
  SECTION("a hello captured on one connection and replayed on another") {
    raw_ws_client first(s.server.address());
    const auto captured = sync::encode(signed_hello(c, c.private_key, first.read_challenge()));
    raw_ws_client replay(s.server.address());
    replay.read_challenge();
    REQUIRE(replay.send_binary(captured) == "");
    expect_refusal(replay, errc::unauthorized, "signature does not verify");
  }
  SECTION("a device nobody enrolled") {
    raw_ws_client ws(s.server.address());
    auto stranger = c;
    stranger.device_id = "d0123456789abcdef";
    REQUIRE(ws.send_binary(
                sync::encode(signed_hello(stranger, c.private_key, ws.read_challenge()))) == "");
    expect_refusal(ws, errc::unauthorized, "not enrolled");
  }
  CHECK(s.head() == before);
  CHECK(has(s.audit(), "login_failed"));

  // The same hello, rightly signed on its own connection, is welcome.
  raw_ws_client ws(s.server.address());
  REQUIRE(ws.send_binary(sync::encode(signed_hello(c, c.private_key, ws.read_challenge()))) == "");
  CHECK(std::holds_alternative<sync::welcome>(next_message(ws)));
}

TEST_CASE("security: a push into another team is refused whole over the wire and changes nothing",
          "[e2e][security]") {
  secured_server s;
  device a, b;
  s.enroll(a, "team-a");
  s.enroll(b, "team-b");
  b.record("P-BRAV0-0001B");
  REQUIRE(b.sync().exit_code == 0);
  const std::string before = s.head();

  raw_ws_client ws(s.server.address());
  const client::credentials c = a.credentials();
  REQUIRE(ws.send_binary(sync::encode(signed_hello(c, c.private_key, ws.read_challenge()))) == "");
  REQUIRE(std::holds_alternative<sync::welcome>(next_message(ws)));
  auto changes = changes_of(s.dir, "team-a", "P-A1PHA-0009H");
  const auto smuggled = changes_of(s.dir, "team-b", "P-SMVG-G1ED-1F");
  changes.insert(changes.end(), smuggled.begin(), smuggled.end());
  REQUIRE(ws.send_binary(sync::encode(sync::push_batch{100, changes})) == "");
  expect_refusal(ws, errc::forbidden, "is of team team-b");

  CHECK(s.head() == before);
  CHECK_FALSE(store_files_contain(s.db, "P-SMVG-G1ED-1F"));
  CHECK_FALSE(store_files_contain(s.db, "P-A1PHA-0009H"));
  CHECK(has(s.audit(), "push_refused"));
  // And the shell will not even record for another team once enrolled.
  CHECK(a.haven({"add", "--quiet", "pats_session", "date=2026-03-02", "site=vic", "format=group",
                 "participants=3", "--team", "team-b"})
            .exit_code != 0);
}

TEST_CASE("security: a coordinator token opens the tallies but is refused on /sync",
          "[e2e][security]") {
  secured_server s;
  const auto issued = s.havend({"token", "--name", "coordinator"});
  REQUIRE(issued.exit_code == 0);
  std::string token;
  for (std::size_t i = 0; i + 64 <= issued.out.size() && token.empty(); ++i)
    if (issued.out.find_first_not_of("0123456789abcdef", i) >= i + 64)
      token = issued.out.substr(i, 64);
  REQUIRE(token.size() == 64);
  const std::vector<std::pair<std::string, std::string>> bearer{
      {"Authorization", "Bearer " + token}};
  CHECK(http_send(s.server.address(), "GET", "/api/tallies", "", bearer).status == 200);

  auto upgrade = bearer;
  upgrade.insert(upgrade.end(), {{"Connection", "Upgrade"},
                                 {"Upgrade", "websocket"},
                                 {"Sec-WebSocket-Version", "13"},
                                 {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}});
  const auto refused = http_send(s.server.address(), "GET", "/sync", "", upgrade);
  CHECK(refused.status == 403);
  CHECK_THAT(refused.body, Contains("enrolled devices"));
  CHECK(s.records() == 0);
}

TEST_CASE("security: an enrollment code works once, and a reused or expired one leaves no store",
          "[e2e][security]") {
  secured_server s;
  const std::string code = s.code("tablet", "team-a");
  device first, second, late;
  REQUIRE(first.haven({"enroll", "--server", s.url(), "--code", code}).exit_code == 0);
  const auto reused = second.haven({"enroll", "--server", s.url(), "--code", code});
  CHECK(reused.exit_code != 0);
  CHECK_THAT(reused.err, Contains("already used"));
  CHECK_FALSE(std::filesystem::exists(second.haven.db()));

  // Issued on a havend clock two hours back, for one hour: it expired an hour ago.
  const std::string stale = s.code("tablet 2", "team-a", {"--expires", "1h"}, -2 * 3600 * 1000);
  const auto expired = late.haven({"enroll", "--server", s.url(), "--code", stale});
  CHECK(expired.exit_code != 0);
  CHECK_THAT(expired.err, Contains("expired"));
  CHECK_FALSE(std::filesystem::exists(late.haven.db()));
}

TEST_CASE("security: a retired device pushes its pending changes, then erases its store",
          "[e2e][security][wipe]") {
  secured_server s;
  device d;
  const std::string key = synced_then_pending(s, d, "P-PEND1NG-0002V");

  const auto retired = s.havend({"retire", d.id});
  INFO(retired.err);
  REQUIRE(retired.exit_code == 0);
  const auto synced = d.sync();
  INFO(synced.out << synced.err);
  CHECK(synced.exit_code == 0);
  CHECK_THAT(synced.out, Contains("retired") && Contains("erased"));

  CHECK(s.records() == 2);  // the pending change arrived before the wipe
  CHECK(store_files_contain(s.db, "P-PEND1NG-0002V"));
  for (const std::string& secret :
       std::vector<std::string>{"P-SYNCED-00016", "P-PEND1NG-0002V", key}) {
    INFO(secret);
    CHECK_FALSE(store_files_contain(d.haven.db(), secret));
  }
  CHECK_THAT(d.haven.ok({"status"}), Contains("erased") || Contains("wiped"));
  CHECK(d.haven({"add", "--quiet", "pats_session", "date=2026-03-02", "site=vic", "format=group",
                 "participants=3"})
            .exit_code != 0);
  CHECK(has(s.audit(), "wiped"));

  // The wiped device cannot come back with a copy of its old store, and the server serves on.
  device other;
  s.enroll(other, "team-a");
  CHECK(other.sync().exit_code == 0);
  CHECK(has(other.list(), "P-PEND1NG-0002V"));
}

TEST_CASE("security: a revoked device pushes nothing and erases its store",
          "[e2e][security][wipe]") {
  secured_server s;
  device d;
  const std::string key = synced_then_pending(s, d, "P-10ST-00020");  // never reaches the server

  const auto revoked = s.havend({"revoke", d.id});
  INFO(revoked.err);
  REQUIRE(revoked.exit_code == 0);
  CHECK_THAT(revoked.out, Contains("last sync"));
  const auto synced = d.sync();
  INFO(synced.out << synced.err);
  CHECK(synced.exit_code != 0);
  CHECK_THAT(synced.out, Contains("revoked") && Contains("erased"));

  CHECK(s.records() == 1);
  CHECK_FALSE(store_files_contain(s.db, "P-10ST-00020"));
  for (const std::string& secret :
       std::vector<std::string>{"P-SYNCED-00016", "P-10ST-00020", key}) {
    INFO(secret);
    CHECK_FALSE(store_files_contain(d.haven.db(), secret));
  }
  // A second try is refused by the device itself: nothing left to sign with.
  const auto again = d.sync();
  CHECK(again.exit_code != 0);
  CHECK_THAT(again.err, Contains("enroll it again"));
  CHECK(has(s.audit(), "wipe"));
}

TEST_CASE(
    "security: a device revoked while it watches is told to wipe at once, and the others sync on",
    "[e2e][security][wipe]") {
  secured_server s;
  device watching, other;
  s.enroll(watching, "team-a");
  s.enroll(other, "team-a");
  watching.record("P-WATCHED-0001S");
  REQUIRE(watching.sync().exit_code == 0);
  child watcher({HAVEN_SHELL_PATH, "--db", watching.haven.db(), "sync", "--watch"});
  REQUIRE(s.havend({"revoke", watching.id}).exit_code == 0);

  bool erased = false;
  for (int i = 0; i < 80 && !erased;
       ++i) {  // at most 20 s; havend looks at standings when the store is written
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    erased = has(watching.haven.ok({"status"}), "erased");
  }
  CHECK(erased);
  if (!erased) watcher.kill_group(SIGTERM);  // failed already: no waiting for a watch that goes on
  CHECK(watcher.wait() != 0);  // the watch ended by itself, saying the device was revoked
  CHECK_FALSE(store_files_contain(watching.haven.db(), "P-WATCHED-0001S"));

  // havend goes on serving the team's other devices, with the wiped device's work kept.
  other.record("P-0THER-0002A");
  const auto synced = other.sync();
  INFO(synced.err);
  CHECK(synced.exit_code == 0);
  CHECK(has(other.list(), "P-WATCHED-0001S"));
  CHECK(s.records() == 2);
}

}  // namespace haven::test

// `haven enroll` against a stand-in for havend's /api/enroll: what the
// device sends, what it keeps, and how refusals read.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <haven/client/store.hpp>

#include "../support/fake_http_server.hpp"
#include "shell_fixture.hpp"

namespace haven::test {
namespace {

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const std::string pseudonym_key(64, 'a');

std::string accepted(const std::string& role, const std::string& token = "") {
  boost::json::object o{{"device_id", "dev-7f3a"},
                        {"team", "outreach"},
                        {"role", role},
                        {"pseudonym_key", pseudonym_key}};
  if (!token.empty()) o["token"] = token;
  return boost::json::serialize(o);
}

TEST_CASE(
    "haven enroll sends the code and a new public key, and later syncs go to the enrolled server",
    "[e2e][enroll]") {
  fake_http_server server(200, accepted("worker"));
  shell device;
  const std::string out =
      device.ok({"enroll", "--server", "http://" + server.address(), "--code", "K7-Q2M-19"});
  CHECK(has(out, "enrolled as device dev-7f3a in team outreach (worker); syncs with ws://" +
                     server.address() + "/sync"));
  CHECK_FALSE(has(out, "token"));

  CHECK(server.last_target() == "/api/enroll");
  const auto request = boost::json::parse(server.last_body()).as_object();
  CHECK(request.at("code").as_string() == "K7-Q2M-19");
  const std::string public_key(request.at("public_key").as_string());
  CHECK(public_key.size() == 64);
  CHECK(public_key.find_first_not_of("0123456789abcdef") == std::string::npos);

  // No --server: the enrolled one (a stand-in that speaks no sync, so this fails, naming it).
  const run_result sync = device({"sync"});
  CHECK(sync.exit_code == 1);
  CHECK(has(sync.err, server.address()));

  const run_result again =
      device({"enroll", "--server", "http://" + server.address(), "--code", "K7-Q2M-20"});
  CHECK(again.exit_code == 1);
  CHECK(has(again.err, "enrolled already"));
}

TEST_CASE("haven status shows the device it is enrolled as, and a wipe", "[e2e][enroll]") {
  shell device;
  device.ok({"init", "--team", "outreach"});
  CHECK(has(device.ok({"status"}), "device          not enrolled"));
  CHECK(has(device.ok({"status", "--json"}), R"("device_id":null,"wiped":null)"));

  fake_http_server server(200, accepted("worker"));
  device.ok({"enroll", "--server", "http://" + server.address(), "--code", "K7-Q2M-19"});
  CHECK(has(device.ok({"status"}), "device          dev-7f3a (enrolled)"));
  CHECK(has(device.ok({"status", "--json"}), R"("device_id":"dev-7f3a","wiped":null)"));

  {
    auto db = client::store::open(device.db());
    REQUIRE(db.ok());
    REQUIRE(db.value()->wipe(haven::sync::standing::revoked, 1'772'323'200'000).ok());
  }
  const std::string status = device.ok({"status"});
  CHECK(has(status, "device          not enrolled"));
  CHECK(has(status, "on the server's order: the device was revoked"));
  CHECK_FALSE(has(status, "pushed up to"));  // the erased cursors are not shown
  CHECK(has(device.ok({"status", "--json"}),
            R"("device_id":null,"wiped":{"reason":"revoked","at_ms":1772323200000})"));
}

TEST_CASE("a coordinator's token is printed once", "[e2e][enroll]") {
  fake_http_server server(200, accepted("coordinator", "tok-123456"));
  shell device;
  const std::string out =
      device.ok({"enroll", "--server", "ws://" + server.address(), "--code", "C0-ORD"});
  CHECK(has(out, "coordinator token (shown only now; keep it safe): tok-123456"));
}

TEST_CASE("a store enrolled as a coordinator refuses to record, and says why", "[e2e][enroll]") {
  fake_http_server server(200, accepted("coordinator", "tok-123456"));
  shell device;
  device.ok({"init", "--team", "outreach"});
  const std::string before = device.ok({"add", "--quiet", "pats_session", "date=2026-03-02",
                                        "site=vic", "format=group", "participants=3"});
  device.ok({"enroll", "--server", "ws://" + server.address(), "--code", "C0-ORD"});
  std::ofstream(device.dir().file("one.jsonl"))
      << "{\"type\":\"pats_session\",\"fields\":{\"date\":\"2026-03-02\",\"site\":\"vic\","
         "\"format\":\"group\","
         "\"participants\":3}}\n";
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"add", "--quiet", "pats_session", "date=2026-03-02",
                                              "site=vic", "format=group", "participants=4"},
                                             {"edit", before, "participants=5"},
                                             {"delete", before},
                                             {"import", device.dir().file("one.jsonl")}}) {
    const run_result r = device(args);
    INFO(args.front() << ": " << r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(has(r.err, "enrolled as a coordinator of team outreach"));
    CHECK(has(r.err, "record on a worker's device"));
  }
  const std::string records = device.ok({"list"});
  CHECK(has(records, "participants=3"));
  CHECK_FALSE(has(records, "participants=4"));
  CHECK_FALSE(has(records, "participants=5"));
}

TEST_CASE("a refused enrollment reports the server's message and leaves no store",
          "[e2e][enroll]") {
  shell device;
  SECTION("an unknown code") {
    fake_http_server server(401, R"({"error":"unknown or expired enrollment code"})");
    const run_result r =
        device({"enroll", "--server", "http://" + server.address(), "--code", "NOPE"});
    CHECK(r.exit_code == 1);
    CHECK(has(r.err, "enrollment failed: the server at " + server.address() +
                         " refused the enrollment: unknown or expired enrollment code"));
  }
  SECTION("too many attempts") {
    fake_http_server server(429, R"({"error":"too many attempts"})", "30");
    const run_result r =
        device({"enroll", "--server", "http://" + server.address(), "--code", "NOPE"});
    CHECK(r.exit_code == 1);
    CHECK(has(r.err, "too many attempts; try again in 30 s"));
  }
  SECTION("unencrypted to another host") {
    const run_result r = device({"enroll", "--server", "http://192.0.2.7:8080", "--code", "NOPE"});
    CHECK(r.exit_code == 1);
    CHECK(has(r.err, "refusing to send the enrollment code unencrypted to 192.0.2.7; use wss://"));
  }
  CHECK_FALSE(std::filesystem::exists(device.db()));
}

}  // namespace
}  // namespace haven::test

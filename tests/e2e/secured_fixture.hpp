#pragma once
// End-to-end tests with authentication on: a havend that enrolls devices,
// `haven` devices enrolled through its codes, raw connections that sign
// their hellos with an enrolled device's key, and coordinator tokens.

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <haven/client/store.hpp>
#include <haven/crypto/crypto.hpp>
#include <haven/sync/protocol.hpp>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "../support/havend_process.hpp"
#include "../support/raw_ws_client.hpp"
#include "shell_fixture.hpp"

namespace haven::test {

// An enrolled `haven` device: its shell and the id the server gave it.
struct enrolled_device {
  shell haven;
  std::string id;

  // Records a PATS interview of the person with this pseudonym.
  void record(const std::string& person) {
    haven.ok({"add", "--quiet", "pats_session", "date=2026-03-02", "site=vic", "format=individual",
              "person=" + person, "nationality=UA", "topics=thb"});
  }
  run_result sync() const { return haven({"sync"}); }
  std::string list() const { return haven.ok({"list"}); }
  // The device's credentials, read from its store (closed again at once).
  client::credentials credentials() const {
    auto db = client::store::open(haven.db());
    REQUIRE(db.ok());
    auto c = db.value()->enrollment();
    REQUIRE(c.ok());
    REQUIRE(c.value().has_value());
    return *c.value();
  }
};

// A coordinator token from `havend token` on the store `db`.
inline std::string coordinator_token(const std::string& db) {
  const auto issued = run({HAVEND_PATH, "--db", db, "token", "--name", "coordinator"});
  REQUIRE(issued.exit_code == 0);
  for (std::size_t i = 0; i + 64 <= issued.out.size(); ++i)
    if (issued.out.find_first_not_of("0123456789abcdef", i) >= i + 64)
      return issued.out.substr(i, 64);
  FAIL("no token in: " << issued.out);
  return {};
}

// havend with authentication on, and its administration commands.
struct secured_server {
  // `options` as havend_process takes them, e.g. {"--max-connections-per-device", "2"}.
  explicit secured_server(std::vector<std::string> options = {})
      : server{db, std::move(options), havend_process::authentication::on} {}

  temp_dir dir;
  std::string db = dir.file("central.db");
  havend_process server;

  // A havend command on the store; its clock shifted by `clock_offset_ms`
  // (HAVEN_TEST_CLOCK_OFFSET_MS) when not 0.
  run_result havend(std::vector<std::string> args, std::int64_t clock_offset_ms = 0) const {
    args.insert(args.begin(), {HAVEND_PATH, "--db", db});
    if (clock_offset_ms != 0)
      args.insert(args.begin(), {"/usr/bin/env",
                                 "HAVEN_TEST_CLOCK_OFFSET_MS=" + std::to_string(clock_offset_ms)});
    return run(args);
  }
  std::string code(const std::string& name, const std::string& team,
                   std::vector<std::string> extra = {}, std::int64_t clock_offset_ms = 0) const {
    std::vector<std::string> args{"enroll", "--name", name, "--team", team, "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = havend(args, clock_offset_ms);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return std::string(boost::json::parse(r.out).as_object().at("code").as_string());
  }
  std::string url() const { return "ws://" + server.address(); }

  // A device enrolled in `team` through a fresh code.
  void enroll(enrolled_device& d, const std::string& team) const {
    const std::string out =
        d.haven.ok({"enroll", "--server", url(), "--code", code("device " + team, team)});
    const std::string prefix = "enrolled as device ";
    const auto at = out.find(prefix);
    REQUIRE(at != std::string::npos);
    const auto start = at + prefix.size();
    d.id = out.substr(start, out.find(' ', start) - start);
    REQUIRE(d.id.size() == 17);
  }

  std::uint64_t records() const {
    const auto health = http_get(server.address(), "/healthz");
    return boost::json::parse(health.body).as_object().at("records").to_number<std::uint64_t>();
  }
  std::string head() const { return http_get(server.address(), "/healthz").body; }
  std::string audit() const { return havend({"audit"}).out; }
};

// The server's next message on a raw connection; REQUIREs one.
inline sync::message next_message(raw_ws_client& ws) {
  const auto reply = ws.read();
  INFO(reply.error);
  REQUIRE_FALSE(reply.closed);
  auto m = sync::decode(reply.frame);
  REQUIRE(m.ok());
  return std::move(m).value();
}

// REQUIREs an error frame with `code` as the server's answer.
inline void expect_refusal(raw_ws_client& ws, errc code, const std::string& says) {
  const auto m = next_message(ws);
  const auto* e = std::get_if<sync::error_frame>(&m);
  REQUIRE(e != nullptr);
  INFO(e->message);
  CHECK(e->code == static_cast<std::uint16_t>(code));
  CHECK_THAT(e->message, Catch::Matchers::Contains(says));
  CHECK(ws.read().closed);
}

// A hello of the enrolled device `c`, signed with `key` over `nonce`.
inline sync::hello signed_hello(const client::credentials& c, const std::string& key,
                                const std::string& nonce) {
  sync::hello h{sync::protocol_version, c.device_id, c.team, 0x5ec, 1, 0, 0, {}};
  h.proof = crypto::sign(key, sync::proof_message(h, nonce));
  return h;
}

}  // namespace haven::test

// Output that cannot be turned against its reader, with the real programs:
// control characters that came from a server, a device or a pulled record
// are shown escaped by `haven list/show/status/enroll` and `havend audit/
// devices`, and an identifier that is not valid is never stored raw in the
// audit log.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <haven/client/store.hpp>
#include <haven/sqlite/cell_table.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <haven/sync/protocol.hpp>
#include <string>
#include <vector>

#include "../support/fake_http_server.hpp"
#include "../support/havend_process.hpp"
#include "../support/raw_ws_client.hpp"
#include "shell_fixture.hpp"

namespace haven::test {
namespace {

using Catch::Matchers::Contains;

// What a terminal would obey: ESC, BEL, a C1 CSI (U+009B), a bidi override.
const std::string hostile =
    "\x1b]0;owned\x07\x1b[2J\xc2\x9b"
    "31m\xe2\x80\xae";
const std::string shown = "\\x1b]0;owned\\x07\\x1b[2J\\u009b31m\\u202e";

// REQUIREs that `text` holds no byte a terminal would take as a control.
void check_inert(const std::string& text) {
  INFO(text);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find('\x07') == std::string::npos);
  CHECK(text.find("\xc2\x9b") == std::string::npos);
  CHECK(text.find("\xe2\x80\xae") == std::string::npos);
}

}  // namespace

TEST_CASE(
    "output: a device refuses free text a hostile server sends, and haven list and show escape "
    "what a store holds",
    "[e2e][output]") {
  shell device;
  device.ok({"init", "--team", "team-a"});
  const sync::record_id id = sync::record_id::random();
  const sync::stamp at{sync::hlc::make(1'780'000'000'000, 0), 0x77};
  sync::record_change change{id,
                             "pats_session",
                             "team-a",
                             {{"date", from_civil(2026, 3, 2), at},
                              {"format", std::string("group"), at},
                              {"site", std::string("vic"), at},
                              {"participants", std::int64_t{3}, at}}};
  {
    auto db = client::store::open(device.db()).value();
    // A hostile server's "field of a newer schema" holding escapes and free text is refused whole.
    sync::record_change smuggled = change;
    smuggled.cells.push_back({"notes", hostile, at});
    const auto refused = db->apply_remote({smuggled}, 1);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.err().message,
               Contains("(unknown, 5 bytes): is not a field of pats_session"));
    CHECK(db->list({}).value().empty());
    REQUIRE(db->apply_remote({change}, 1).ok());
  }
  // What an older release let in stays in its store: written there directly.
  {
    sqlite::database file(device.db(), sqlite::database::mode::open_existing);
    file.exec("INSERT INTO names(name) VALUES ('notes')");
    sqlite::statement get(file,
                          "SELECT cells, (SELECT id FROM names WHERE name = 'notes') FROM records "
                          "WHERE id = ?");
    get.bind(1, sqlite::bytes(id));
    REQUIRE(get.step());
    auto cells = sqlite::unpack_cells(sqlite::as_chars(get.blob(0)));
    // The newest name: its key is the largest, and goes last.
    cells.push_back({get.integer(1), value{hostile}, {at.time, 119}, std::nullopt});
    sqlite::cell_packer packer(cells.size());
    for (const auto& c : cells) packer.add(c.key, c.val, c.at, c.seq);
    const std::string repacked = packer.take();
    sqlite::statement put(file, "UPDATE records SET cells = ?2 WHERE id = ?1");
    put.bind(1, sqlite::bytes(id)).bind(2, sqlite::as_blob(repacked));
    put.run();
  }
  const std::string list = device.ok({"list"});
  check_inert(list);
  CHECK_THAT(list, Contains("notes=" + shown));
  const std::string show = device.ok({"show", id.hex()});
  check_inert(show);
  CHECK_THAT(show, Contains(shown + "  (field of a newer schema)"));
}

TEST_CASE("output: haven enroll and status escape a device id a hostile server gave",
          "[e2e][output][enroll]") {
  fake_http_server server(
      200, boost::json::serialize(boost::json::object{{"device_id", "dev" + hostile},
                                                      {"team", "team-a"},
                                                      {"role", "worker"},
                                                      {"pseudonym_key", std::string(64, 'a')}}));
  shell device;
  const std::string enrolled =
      device.ok({"enroll", "--server", "http://" + server.address(), "--code", "K7-Q2M-19"});
  check_inert(enrolled);
  CHECK_THAT(enrolled, Contains("enrolled as device dev" + shown));
  const std::string status = device.ok({"status"});
  check_inert(status);
  CHECK_THAT(status, Contains("device          dev" + shown + " (enrolled)"));
}

TEST_CASE(
    "output: havend's audit log keeps a hostile device id as its length and hex, and prints no "
    "control",
    "[e2e][output][audit]") {
  temp_dir dir;
  const std::string db = dir.file("central.db");
  havend_process server(db, {}, havend_process::authentication::on);
  {
    raw_ws_client ws(server.address());
    ws.read_challenge();
    sync::hello h{sync::protocol_version, hostile, "team-a", 0x5ec, 1, 0, 0, {}};
    REQUIRE(ws.send_binary(sync::encode(h)) == "");
    ws.read();  // the refusal (not enrolled): audited before it is sent
  }
  const run_result audit = run({HAVEND_PATH, "--db", db, "audit"});
  INFO(audit.err);
  REQUIRE(audit.exit_code == 0);
  check_inert(audit.out);
  CHECK_THAT(audit.out, Contains("login_failed  (invalid: " + std::to_string(hostile.size()) +
                                 " bytes, 1b5d303b"));

  const run_result devices = run({HAVEND_PATH, "--db", db, "devices"});
  check_inert(devices.out);
}

}  // namespace haven::test

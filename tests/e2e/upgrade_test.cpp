// Stores written by a release of store format 1 (tests/fixtures/format1,
// written by make_fixtures.sh with the haven and havend of main's build, and
// the oracles that release printed for them) are opened by this build's real `haven` and
// `havend`: migrated (to format 3 on a device, 4 in havend), they print exactly what the old
// release printed, hold every cell with its stamp and seq and every meta value, and sync on top. A
// migration that fails leaves the format-1 store as it was; a store of a newer format is refused
// and left alone.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <haven/sqlite/sqlite.hpp>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/havend_process.hpp"
#include "../support/packed_layout.hpp"
#include "../support/process.hpp"

namespace haven::test {
namespace {

using Catch::Matchers::Contains;

const std::string fixtures = HAVEN_FORMAT1_FIXTURES;

std::string oracle(const std::string& name) {
  std::ifstream in(fixtures + "/" + name);
  REQUIRE(in);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A copy of a fixture store in `dir`.
std::string copy_store(const temp_dir& dir, const std::string& name) {
  const std::string to = dir.file(name + ".db");
  std::filesystem::copy_file(fixtures + "/" + name + ".db", to);
  return to;
}

run_result haven(const std::string& db, std::vector<std::string> args) {
  args.insert(args.begin(), {HAVEN_SHELL_PATH, "--db", db});
  return run(args);
}
run_result havend(const std::string& db, std::vector<std::string> args) {
  args.insert(args.begin(), {HAVEND_PATH, "--db", db});
  return run(args);
}
std::string ok(const run_result& r) {
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

// Every row `sql` gives, its columns joined by spaces, one line a row (as
// the sqlite3 shell printed the oracles).
std::string rows(const std::string& file, const std::string& sql) {
  sqlite::database db(file, sqlite::database::mode::open_existing);
  sqlite::statement st(db, sql);
  std::string out;
  while (st.step()) out += st.text(0) + "\n";
  return out;
}

std::int64_t store_format(const std::string& file) {
  sqlite::database db(file, sqlite::database::mode::open_existing);
  sqlite::statement st(db, "SELECT value FROM meta WHERE key = 'store_format'");
  REQUIRE(st.step());
  return st.integer(0);
}

std::string records_v2(const std::string& file) {
  return rows(file,
              "SELECT hex(r.id) || ' ' || t.name || ' ' || m.name || ' ' || r.deleted FROM "
              "records r JOIN names t ON t.id = r.type JOIN names m ON m.id = r.team ORDER BY "
              "hex(r.id)");
}
// The same from format 1's, for a store that must still be format 1.
std::string cells_v1(const std::string& file) {
  return rows(file,
              "SELECT hex(c.record_id) || ' ' || r.type || ' ' || r.team || ' ' || r.deleted || "
              "' ' || c.key || ' ' || c.kind || ' ' || quote(c.value) || ' ' || c.hlc || ' ' || "
              "c.node || ' ' || quote(c.seq) FROM cells c JOIN records r ON r.id = c.record_id "
              "ORDER BY hex(c.record_id), c.key");
}
// The meta table but the lines the migration writes: store_format, and the
// device's sent_seq (its outbox's cursor of cells, the acknowledged seq).
std::string meta(const std::string& file) {
  return rows(file,
              "SELECT key || ' ' || quote(value) FROM meta WHERE key NOT IN ('store_format', "
              "'sent_seq') ORDER BY key");
}
std::string without_format(const std::string& meta_lines) {
  std::istringstream in(meta_lines);
  std::string line, out;
  while (std::getline(in, line))
    if (line.rfind("store_format ", 0) != 0) out += line + "\n";
  return out;
}

void check_migrated(const std::string& file, const std::string& name) {
  INFO(name);
  // A device store's format is 3; havend's is 4 (both with a record's cells packed in its row).
  CHECK(store_format(file) == (name == "central" ? 4 : 3));
  CHECK(cell_lines(file) == oracle(name + ".cells.txt"));
  CHECK(records_v2(file) == oracle(name + ".records.txt"));
  CHECK(meta(file) == without_format(oracle(name + ".meta.txt")));
  if (name != "central")  // the device's cells were sent in seq order up to acked_seq
    CHECK(rows(file, "SELECT value FROM meta WHERE key = 'sent_seq'") ==
          rows(file, "SELECT value FROM meta WHERE key = 'acked_seq'"));
}

// A tally's figures as `havend tally --format json` prints them: its cells
// and total (the rest, titles and labels, is presentation that releases change).
boost::json::value figures(const std::string& json) {
  const boost::json::value v = boost::json::parse(json);
  boost::json::object out;
  out["cells"] = v.at("cells");
  out["total"] = v.at("total");
  return out;
}

// `haven list --json`'s records by id (each store lists in its own order).
std::map<std::string, boost::json::value> by_id(const std::string& json) {
  std::map<std::string, boost::json::value> out;
  const boost::json::value records = boost::json::parse(json);
  for (const auto& r : records.as_array())
    out.emplace(boost::json::value_to<std::string>(r.at("id")), r);
  return out;
}

const std::vector<std::string> tally_ids{
    "assisted-by-exploitation-sex", "assisted-by-nationality-sex", "care-days-by-nationality",
    "on-call-by-outcome",           "pats-group-by-site",          "pats-individual-by-site",
    "workshops-by-audience-region"};

}  // namespace

TEST_CASE("upgrade: format-1 device stores are migrated to format 3 and lose nothing",
          "[e2e][upgrade]") {
  for (const std::string name : {"device", "peer", "crisis"}) {
    INFO(name);
    temp_dir dir;
    const std::string db = copy_store(dir, name);
    CHECK(ok(haven(db, {"list", "--json"})) == oracle(name + ".list.json"));
    CHECK(ok(haven(db, {"status", "--json"})) == oracle(name + ".status.json"));
    check_migrated(db, name);
  }
}

TEST_CASE("upgrade: a migrated device store records on top, its seq counting on",
          "[e2e][upgrade]") {
  temp_dir dir;
  const std::string db = copy_store(dir, "device");
  const std::string id = ok(haven(db, {"add", "--quiet", "on_call_event", "date=2026-09-01",
                                       "caller=police", "outcome=admitted"}));
  const std::string status = ok(haven(db, {"status", "--json"}));
  CHECK_THAT(status, Contains("\"records\":8,\"pending_records\":3,\"pending_changes\":9,"
                              "\"local_seq\":49,\"acked_seq\":40"));
  CHECK_THAT(ok(haven(db, {"show", id.substr(0, 32)})), Contains("police"));
}

TEST_CASE("upgrade: a migrated central store serves what it served, and migrated devices sync",
          "[e2e][upgrade]") {
  temp_dir dir;
  const std::string central = copy_store(dir, "central");
  CHECK(ok(havend(central, {"devices"})) == oracle("central.devices.txt"));
  for (const auto& id : tally_ids)
    CHECK(figures(ok(havend(central, {"tally", id, "--year", "2026", "--format", "json"}))) ==
          figures(oracle("central.tally." + id + ".json")));
  check_migrated(central, "central");

  // device.db holds an edit and a record that were never sent: after both
  // devices of the team sync, each holds what the other does.
  const std::string device = copy_store(dir, "device"), peer = copy_store(dir, "peer");
  {
    havend_process server(central, {}, havend_process::authentication::on);
    // The server's port is new: the enrolled URL names the old one.
    ok(haven(device, {"sync", "--server", server.sync_url(), "--trust-new-server"}));
    ok(haven(peer, {"sync", "--server", server.sync_url(), "--trust-new-server"}));
  }
  CHECK_THAT(ok(haven(device, {"status", "--json"})), Contains("\"pending_changes\":0"));
  const std::string records = ok(haven(device, {"list", "--json"}));
  CHECK(records != oracle("device.list.json"));
  CHECK(by_id(ok(haven(peer, {"list", "--json"}))) == by_id(records));
  // The new on-call event is counted.
  CHECK_THAT(
      ok(havend(central, {"tally", "on-call-by-outcome", "--year", "2026", "--format", "json"})),
      Contains("advice-only"));
}

TEST_CASE(
    "upgrade: havend counts a tally kept by an earlier engine again while it serves, and says so",
    "[e2e][upgrade]") {
  temp_dir dir;
  const std::string central = copy_store(dir, "central");
  ok(havend(central, {"devices"}));  // migrated, its tally counted by this engine
  sqlite::database(central, sqlite::database::mode::open_existing)
      .exec(
          "UPDATE tally_meta SET value = replace(value, 'tally engine 5', 'tally engine 4') WHERE "
          "key = 'declarations'");
  {
    havend_process server(central, {}, havend_process::authentication::on);
    const auto log = [&] {
      std::ifstream in(server.log_file());
      std::ostringstream text;
      text << in.rdbuf();
      return text.str();
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (log().find("tally recounted") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK_THAT(log(), Contains("tally recounted: every record counted"));
  }
  for (const auto& id : tally_ids)
    CHECK(figures(ok(havend(central, {"tally", id, "--year", "2026", "--format", "json"}))) ==
          figures(oracle("central.tally." + id + ".json")));
}

TEST_CASE("upgrade: a migration that fails leaves the format-1 store as it was", "[e2e][upgrade]") {
  temp_dir dir;
  const std::string db = copy_store(dir, "device");
  {
    // A table in the way of format 2's: the migration fails part way.
    sqlite::database raw(db, sqlite::database::mode::open_existing);
    raw.exec("CREATE TABLE names(x)");
  }
  const run_result r = haven(db, {"list"});
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Contains("names"));
  CHECK(store_format(db) == 1);
  CHECK(cells_v1(db) == oracle("device.cells.txt"));
}

TEST_CASE("upgrade: a store of a newer format is refused and left alone", "[e2e][upgrade]") {
  temp_dir dir;
  const std::string device = copy_store(dir, "device"), central = copy_store(dir, "central");
  for (const auto& [file, newer] : {std::pair{device, 4}, std::pair{central, 5}}) {
    sqlite::database raw(file, sqlite::database::mode::open_existing);
    raw.exec("UPDATE meta SET value = " + std::to_string(newer) + " WHERE key = 'store_format'");
  }
  const run_result d = haven(device, {"list"});
  CHECK(d.exit_code != 0);
  CHECK_THAT(d.err, Contains("format 4 was written by a newer version of haven"));
  const run_result c = havend(central, {"devices"});
  CHECK(c.exit_code != 0);
  CHECK_THAT(c.err, Contains("format 5 was written by a newer havend"));
  CHECK(store_format(device) == 4);
  CHECK(cells_v1(device) == oracle("device.cells.txt"));
  CHECK(cells_v1(central) == oracle("central.cells.txt"));
}

}  // namespace haven::test

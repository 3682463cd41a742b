// Stores that know what they are, with the real `haven` and `havend`: each
// program refuses the other's store, another program's SQLite database and a
// file that is no database, saying what the file is and changing none of its
// bytes; stores made before the application ids are recognised and stamped.
#include <catch2/catch.hpp>
#include <fstream>
#include <haven/sqlite/sqlite.hpp>
#include <haven/sqlite/store_identity.hpp>
#include <string>
#include <vector>

#include "../support/file_bytes.hpp"
#include "../support/havend_process.hpp"
#include "shell_fixture.hpp"

namespace haven::test {
namespace {

using Catch::Matchers::Contains;

run_result havend(const std::string& db, std::vector<std::string> args) {
  args.insert(args.begin(), {HAVEND_PATH, "--db", db});
  return run(args);
}

// A central store as havend leaves it: created by serving it once.
void make_central_store(const std::string& db) {
  havend_process server(db);
}

std::int64_t application_id(const std::string& file) {
  sqlite::database db(file, sqlite::database::mode::open_existing);
  sqlite::statement st(db, "PRAGMA application_id");
  REQUIRE(st.step());
  return st.integer(0);
}

// Makes a store look as releases before the ids left it: no application_id.
void forget_application_id(const std::string& file) {
  sqlite::database db(file, sqlite::database::mode::open_existing);
  db.exec("PRAGMA application_id = 0");
}

// Every command of each program that opens a store, as (program, args).
const std::vector<std::vector<std::string>> havend_commands{
    {"devices"},
    {"audit"},
    {"tallies"},
    {"tally", "pats-individual-by-site", "--year", "2026"},
    {"enroll", "--name", "tablet", "--team", "team-a"},
    {"token", "--name", "maja"}};
const std::vector<std::vector<std::string>> haven_commands{
    {"list"},
    {"status"},
    {"add", "--quiet", "--team", "team-a", "pats_session", "date=2026-03-02", "site=vic",
     "format=group", "participants=3"}};

}  // namespace

TEST_CASE("stores: haven refuses havend's central store, and writes nothing into it",
          "[e2e][stores]") {
  shell device;
  const std::string central = device.dir().file("central.db");
  make_central_store(central);
  const std::string before = file_bytes(central) + file_bytes(central + "-wal");
  for (const auto& args : haven_commands) {
    std::vector<std::string> argv{HAVEN_SHELL_PATH, "--db", central};
    argv.insert(argv.end(), args.begin(), args.end());
    const run_result r = run(argv);
    INFO(args.front() << ": " << r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err,
               Contains(central +
                        " is havend's central store, not a device store: haven works on a device "
                        "store; give --db a device store or a new path"));
  }
  CHECK(file_bytes(central) + file_bytes(central + "-wal") == before);
  CHECK(application_id(central) == sqlite::central_application_id);
}

TEST_CASE("stores: havend refuses a device store, and writes nothing into it", "[e2e][stores]") {
  shell device;
  device.ok({"init", "--team", "team-a"});
  device.ok({"add", "--quiet", "pats_session", "date=2026-03-02", "site=vic", "format=group",
             "participants=3"});
  const std::string before = file_bytes(device.db()) + file_bytes(device.db() + "-wal");
  for (const auto& args : havend_commands) {
    const run_result r = havend(device.db(), args);
    INFO(args.front() << ": " << r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err,
               Contains(device.db() + " is a device store of haven, not havend's central store"));
  }
  // Serving it is refused too.
  CHECK_THROWS(havend_process(device.db()));
  CHECK(file_bytes(device.db()) + file_bytes(device.db() + "-wal") == before);
  CHECK(application_id(device.db()) == sqlite::device_application_id);
}

TEST_CASE("stores: both programs refuse another program's database and a file that is no database",
          "[e2e][stores]") {
  shell device;
  const std::string text = device.dir().file("notes.txt");
  std::ofstream(text)
      << "not a database at all, but long enough to have a header of a hundred bytes .........\n";
  const std::string other = device.dir().file("other.db");
  {
    sqlite::database db(other, sqlite::database::mode::create);  // WAL mode, as Haven's stores are
    db.exec("CREATE TABLE contacts(name TEXT); INSERT INTO contacts VALUES ('someone')");
  }
  const std::string foreign_id = device.dir().file("foreign.db");
  {
    sqlite::database db(foreign_id, sqlite::database::mode::create);
    db.exec("PRAGMA application_id = 1234; CREATE TABLE t(x)");
  }
  struct expectation {
    std::string file, says;
  };
  for (const auto& [file, says] : std::vector<expectation>{
           {text, "is not a SQLite database"},
           {other, "is a SQLite database whose tables are not a Haven store's"},
           {foreign_id, "is a SQLite database of another program (application_id 0x000004d2)"}}) {
    const std::string before = file_bytes(file) + file_bytes(file + "-wal");
    const run_result as_device = run({HAVEN_SHELL_PATH, "--db", file, "list"});
    INFO(as_device.err);
    CHECK(as_device.exit_code == 1);
    CHECK_THAT(as_device.err,
               Contains(file + " " + says) && Contains("not a device store; nothing was changed"));
    for (const auto& args : havend_commands) {
      const run_result as_server = havend(file, args);
      INFO(args.front() << ": " << as_server.err);
      CHECK(as_server.exit_code == 1);
      CHECK_THAT(as_server.err,
                 Contains(file + " " + says) && Contains("not havend's central store"));
    }
    CHECK(file_bytes(file) + file_bytes(file + "-wal") == before);
  }
  // A directory is no store either.
  const run_result dir = run({HAVEN_SHELL_PATH, "--db", device.dir().path(), "list"});
  CHECK(dir.exit_code == 1);
  CHECK_THAT(dir.err, Contains("is a directory"));
}

TEST_CASE(
    "stores: stores made before the application ids are recognised by their tables and stamped",
    "[e2e][stores]") {
  shell device;
  device.ok({"init", "--team", "team-a"});
  device.ok({"add", "--quiet", "pats_session", "date=2026-03-02", "site=vic", "format=group",
             "participants=3"});
  forget_application_id(device.db());
  REQUIRE(application_id(device.db()) == 0);
  CHECK_THAT(device.ok({"list"}), Contains("participants=3"));
  CHECK(application_id(device.db()) == sqlite::device_application_id);

  const std::string central = device.dir().file("central.db");
  make_central_store(central);
  forget_application_id(central);
  REQUIRE(application_id(central) == 0);
  // Unstamped, the other program still knows it for what it is, and leaves it unstamped.
  CHECK_THAT(run({HAVEN_SHELL_PATH, "--db", central, "list"}).err,
             Contains("is havend's central store"));
  CHECK(application_id(central) == 0);
  const run_result devices = havend(central, {"devices"});
  INFO(devices.err);
  CHECK(devices.exit_code == 0);
  CHECK(application_id(central) == sqlite::central_application_id);
}

}  // namespace haven::test

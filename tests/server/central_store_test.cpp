// What only the SQLite central store does: it refuses a file that is not
// havend's store, stamps its own, and migrates stores of formats 2 and 3 to 4. The contracts every
// backend keeps are in the conformance suite (store_conformance.hpp).

#include <algorithm>
#include <catch2/catch.hpp>
#include <haven/server/access_registry.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <haven/sqlite/store_identity.hpp>
#include <string>

#include "../support/packed_layout.hpp"
#include "central_fixture.hpp"

namespace haven::test {

using Catch::Matchers::Contains;

TEST_CASE("open_sqlite_store refuses a file that is not a havend store",
          "[server][central_store]") {
  temp_dir dir;
  const std::string other = dir.file("device.db");
  {
    sqlite::database db(other, sqlite::database::mode::create);
    db.exec(
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value ANY); INSERT INTO meta VALUES ('role', "
        "'device');");
  }
  try {
    server::open_sqlite_store(other, shipped_schema());
    FAIL("a device store was opened as a central store");
  } catch (const failure& e) {
    CHECK(e.err().code == errc::store);
    CHECK_THAT(e.err().message, Contains("not havend's central store; nothing was changed"));
  }
}

TEST_CASE("open_sqlite_store stamps a new store as havend's and refuses one stamped as a device's",
          "[server][central_store][stores]") {
  temp_dir dir;
  const std::string central = dir.file("central.db");
  server::open_sqlite_store(central, shipped_schema());
  {
    sqlite::database db(central, sqlite::database::mode::open_existing);
    sqlite::statement id(db, "PRAGMA application_id");
    REQUIRE(id.step());
    CHECK(id.integer(0) == sqlite::central_application_id);
  }
  const std::string device = dir.file("device.db");
  {
    sqlite::database db(device, sqlite::database::mode::create);
    db.exec("PRAGMA application_id = " + std::to_string(sqlite::device_application_id) +
            "; CREATE TABLE meta(key TEXT PRIMARY KEY, value ANY)");
  }
  for (int attempt = 0; attempt < 2; ++attempt) {  // the central store, then the registry
    try {
      if (attempt == 0)
        server::open_sqlite_store(device, shipped_schema());
      else
        server::open_sqlite_registry(device);
      FAIL("a device store was opened as the central store");
    } catch (const failure& e) {
      CHECK(e.err().code == errc::store);
      CHECK_THAT(e.err().message,
                 Contains("is a device store of haven, not havend's central store"));
    }
  }
}

}  // namespace haven::test

namespace haven::test {

TEST_CASE(
    "central stores of formats 2 and 3 are migrated to 4: every cell packed with its stamp and "
    "seq, each record's log position, and pulls",
    "[server][central_store][upgrade]") {
  const int format = GENERATE(2, 3);
  INFO("format " << format);
  central_fixture f;
  auto a = f.enroll("dev-a", "team-a", 0xa), b = f.enroll("dev-b", "team-b", 0xb);
  // Records of two teams, one edited later, and one deleted.
  for (int n = 0; n < 12; ++n) {
    field_device& d = n % 3 == 2 ? b : a;
    f.push(d, {d.record(test_id(n + 1), "on_call_event",
                        {{"date", "2026-02-0" + std::to_string(n % 9 + 1)},
                         {"caller", "police"},
                         {"outcome", "admitted"}})});
  }
  f.push(a, {a.record(test_id(1), "on_call_event", {{"outcome", "referred-elsewhere"}})});
  f.push(a, {a.deletion(test_id(4), "on_call_event")});
  const auto pulls = [&] {
    std::vector<sync::change_batch> out;
    for (const char* team : {"team-a", "team-b"})
      for (const std::uint64_t since : {0, 5, 20})
        for (const std::uint32_t max : {2u, 1000u})
          out.push_back(f.store().pull(team, 0, since, max));
    return out;
  };
  const auto before = pulls();
  const auto positions = [&] {
    sqlite::database db(f.file(), sqlite::database::mode::open_existing);
    sqlite::statement st(db, "SELECT rid, last_seq FROM records ORDER BY rid");
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    while (st.step()) out.emplace_back(st.integer(0), st.integer(1));
    return out;
  };
  const auto written = positions();
  const std::string cells = cell_lines(f.file());
  f.close();
  unpack_to_format_2(f.file());
  {
    sqlite::database db(f.file(), sqlite::database::mode::open_existing);
    if (format == 3)  // as format 3 kept them: records in log order by team, no seq index
      db.exec(
          "ALTER TABLE records ADD COLUMN last_seq INTEGER; UPDATE records SET last_seq = "
          "(SELECT max(seq) FROM cells WHERE record = rid); CREATE INDEX records_by_team_log ON "
          "records(team, last_seq) WHERE last_seq IS NOT NULL; DROP INDEX cells_by_seq; INSERT "
          "INTO meta(key, value) SELECT 'log_head', value FROM meta WHERE key = 'head'");
    db.exec("UPDATE meta SET value = " + std::to_string(format) + " WHERE key = 'store_format'");
  }
  f.reopen();
  CHECK(positions() == written);
  CHECK(cell_lines(f.file()) == cells);
  CHECK(pulls() == before);
  sqlite::database db(f.file(), sqlite::database::mode::open_existing);
  sqlite::statement meta(db, "SELECT value FROM meta WHERE key = 'store_format'");
  REQUIRE(meta.step());
  CHECK(meta.integer(0) == 4);
  for (const char* gone : {"cells", "cells_by_seq"})
    CHECK_FALSE(sqlite::statement(
                    db, std::string("SELECT 1 FROM sqlite_master WHERE name = '") + gone + "'")
                    .step());
  CHECK_FALSE(sqlite::statement(db, "SELECT 1 FROM meta WHERE key = 'log_head'").step());
  // And it takes pushes on top.
  f.push(a, {a.record(test_id(2), "on_call_event", {{"outcome", "referred-elsewhere"}})});
  const auto edit = f.store().pull("team-a", 0, f.store().counts().head - 1, 1000);
  REQUIRE(edit.changes.size() == 1);
  CHECK(edit.changes[0].id == test_id(2));
}

}  // namespace haven::test

namespace haven::test {

TEST_CASE(
    "a tally kept by an earlier engine is counted again when havend opens the store: the same "
    "figures, a packed row per person",
    "[server][central_store][upgrade]") {
  central_fixture f;
  auto a = f.enroll("dev-a", "team-a", 0xa);
  const char* persons[] = {"P-0001H", "P-0002F", "P-0003D"};
  const char* nationalities[] = {"UA", "RO", "SI"};
  for (int n = 0; n < 9; ++n)
    f.push(a, {a.record(test_id(n + 1), "assistance_case",
                        {{"programme", n % 2 ? "reintegration" : "crisis-accommodation"},
                         {"person", persons[n % 3]},
                         {"sex", n % 2 ? "female" : "male"},
                         {"nationality", nationalities[n % 3]},
                         {"admitted", "2026-0" + std::to_string(n % 4 + 1) + "-02"},
                         {"discharged", "2026-0" + std::to_string(n % 4 + 1) + "-20"}})});
  const auto figures = [&] {
    std::vector<std::tuple<int, std::string, std::string, std::uint32_t, std::int64_t>> out;
    for (const int month : {0, 1, 2, 3}) {
      const auto amounts = f.store().amounts("assisted-by-nationality-sex", {2026, month});
      REQUIRE(amounts.ok());
      for (const auto& x : amounts.value())
        out.emplace_back(month, x.path, x.column, x.measure, x.value);
    }
    std::sort(out.begin(), out.end());  // a row's amounts come in the order first counted
    return out;
  };
  const auto counted = figures();
  REQUIRE(counted.size() > 10);
  f.close();
  // The persons' table of engine 2 (a row per leaf, paths and columns as
  // text) or engine 3 (a row per leaf, by label), with a row of its layout:
  // the recount drops it and counts every record again.
  const int engine = GENERATE(2, 3);
  INFO("engine " << engine);
  const auto as_older_engine = [&] {
    sqlite::database db(f.file(), sqlite::database::mode::open_existing);
    const std::string label_type = engine == 2 ? "TEXT" : "INTEGER";
    db.exec(
        "DROP TABLE tally_person; CREATE TABLE tally_person(tally INTEGER NOT NULL, measure "
        "INTEGER NOT NULL, person TEXT NOT NULL, period INTEGER NOT NULL, path " +
        label_type + " NOT NULL, col " + label_type +
        " NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (tally, measure, person, period, path, col)) "
        "WITHOUT ROWID; INSERT INTO tally_person VALUES (1, 0, 'P-0001H', 202601, 1, 1, 1); "
        "UPDATE tally_meta SET value = replace(value, 'tally engine 4', 'tally engine " +
        std::to_string(engine) + "') WHERE key = 'declarations'");
  };
  as_older_engine();
  f.reopen();
  CHECK(figures() == counted);
  // Kept on from the rows the recount wrote: a person moves to another row of
  // cells, as a count from scratch (a second recount) has it.
  f.push(a, {a.record(test_id(1), "assistance_case", {{"nationality", "RO"}})});
  const auto edited = figures();
  CHECK(edited != counted);
  f.close();
  as_older_engine();
  f.reopen();
  CHECK(figures() == edited);
  sqlite::database db(f.file(), sqlite::database::mode::open_existing);
  sqlite::statement rows(db, "SELECT count(*), sum(typeof(leaves) = 'blob') FROM tally_person");
  REQUIRE(rows.step());
  CHECK(rows.integer(0) > 0);
  CHECK(rows.integer(1) == rows.integer(0));
  sqlite::statement columns(db, "SELECT group_concat(name) FROM pragma_table_info('tally_person')");
  REQUIRE(columns.step());
  CHECK(columns.text(0) == "tally,measure,person,leaves");
}

}  // namespace haven::test

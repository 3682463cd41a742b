// What only the SQLite central store does: it refuses a file that is not
// havend's store, stamps its own, and migrates stores of formats 2 and 3 to 4. The contracts every
// backend keeps are in the conformance suite (store_conformance.hpp).

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <haven/server/access_registry.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <haven/sqlite/store_identity.hpp>
#include <mutex>
#include <random>
#include <string>
#include <thread>

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

// Assistance cases 1 to n of three persons, in the first months of 2026.
std::vector<sync::record_change> assistance_cases(field_device& d, int n, int first = 1) {
  const char* persons[] = {"P-0001H", "P-0002F", "P-0003D"};
  const char* nationalities[] = {"UA", "RO", "SI"};
  std::vector<sync::record_change> out;
  for (int i = first - 1; i < first - 1 + n; ++i)
    out.push_back(d.record(test_id(i + 1), "assistance_case",
                           {{"programme", i % 2 ? "reintegration" : "crisis-accommodation"},
                            {"person", persons[i % 3]},
                            {"sex", i % 2 ? "female" : "male"},
                            {"nationality", nationalities[i % 3]},
                            {"admitted", "2026-0" + std::to_string(i % 4 + 1) + "-02"},
                            {"discharged", "2026-0" + std::to_string(i % 4 + 1) + "-20"}}));
  return out;
}

// Every amount of a tally in 2026 and its first months, sorted (a row's
// amounts come in the order first counted).
using figure_list =
    std::vector<std::tuple<int, std::string, std::string, std::uint32_t, std::int64_t>>;
figure_list figures_of(server::central_store& store) {
  figure_list out;
  for (const int month : {0, 1, 2, 3}) {
    const auto amounts = store.amounts("assisted-by-nationality-sex", {2026, month});
    REQUIRE(amounts.ok());
    for (const auto& x : amounts.value())
      out.emplace_back(month, x.path, x.column, x.measure, x.value);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE(
    "a tally kept by an earlier engine is counted again when havend opens the store: the same "
    "figures, a packed row per person",
    "[server][central_store][upgrade]") {
  central_fixture f;
  auto a = f.enroll("dev-a", "team-a", 0xa);
  for (auto& c : assistance_cases(a, 9)) f.push(a, {c});
  const auto figures = [&] { return figures_of(f.store()); };
  const auto counted = figures();
  REQUIRE(counted.size() > 10);
  f.close();
  const int engine = GENERATE(2, 3, 4);
  INFO("engine " << engine);
  as_older_engine(f.file(), engine);
  f.reopen();
  CHECK(figures() == counted);
  // Kept on from the rows the recount wrote: a person moves to another row of
  // cells, as a count from scratch (a second recount) has it.
  f.push(a, {a.record(test_id(1), "assistance_case", {{"nationality", "RO"}})});
  const auto edited = figures();
  CHECK(edited != counted);
  f.close();
  as_older_engine(f.file(), engine);
  f.reopen();
  CHECK(figures() == edited);
  sqlite::database db(f.file(), sqlite::database::mode::open_existing);
  sqlite::statement rows(db, "SELECT count(*), sum(typeof(leaves) = 'blob') FROM tally_person");
  REQUIRE(rows.step());
  CHECK(rows.integer(0) > 0);
  CHECK(rows.integer(1) == rows.integer(0));
  sqlite::statement columns(db, "SELECT group_concat(name) FROM pragma_table_info('tally_person')");
  REQUIRE(columns.step());
  CHECK(columns.text(0) == "person,leaves");
}

TEST_CASE(
    "havend counts an earlier engine's tally again while it takes pushes: the figures of a "
    "recount from scratch",
    "[server][central_store][upgrade]") {
  recount_gate gate;
  bool while_serving = false;
  central_fixture f(recounting_opener(gate, while_serving, 4));
  auto a = f.enroll("dev-a", "team-a", 0xa);
  f.push(a, assistance_cases(a, 30));  // records 1-30 by the store's ids
  const auto before = figures_of(f.store());
  f.close();
  as_older_engine(f.file(), 3);
  while_serving = true;
  f.reopen();  // returns while the recount counts records 1-4
  const auto first = gate.parts(1);
  CHECK(first[0].counted_to == 4);
  CHECK(first[0].last == 30);
  CHECK_FALSE(first[0].done);
  // Pushes meanwhile: records the recount has passed and records it has
  // not, edited and deleted, and a new one.
  f.push(a, {a.record(test_id(2), "assistance_case", {{"nationality", "NG"}})});
  f.push(a, {a.record(test_id(20), "assistance_case", {{"nationality", "NG"}})});
  f.push(a, {a.deletion(test_id(3), "assistance_case")});
  f.push(a, {a.deletion(test_id(25), "assistance_case")});
  f.push(a, assistance_cases(a, 1, 31));
  const auto waiting = f.store().amounts("assisted-by-nationality-sex", {2026, 0});
  REQUIRE_FALSE(waiting.ok());
  CHECK(waiting.err().code == errc::unavailable);
  CHECK_THAT(waiting.err().message, Contains("try again"));
  CHECK(gate.parts(1).size() == 1);  // the pushes came while the recount waited
  gate.let_go();
  const auto parts = gate.until_done();
  CHECK(parts.back().counted_to == 31);
  const auto counted = figures_of(f.store());
  CHECK(counted != before);
  f.close();
  // A recount from scratch of the same records, before the store opens.
  as_older_engine(f.file(), 3);
  while_serving = false;
  f.reopen();
  CHECK(figures_of(f.store()) == counted);
  // And both match the figures of the records counted as they came.
  central_fixture fresh;
  auto b = fresh.enroll("dev-b", "team-a", 0xb);
  auto same = assistance_cases(b, 31);
  same.erase(same.begin() + 24);  // 25 and 3 deleted
  same.erase(same.begin() + 2);
  fresh.push(b, same);
  fresh.push(b, {b.record(test_id(2), "assistance_case", {{"nationality", "NG"}})});
  fresh.push(b, {b.record(test_id(20), "assistance_case", {{"nationality", "NG"}})});
  CHECK(figures_of(fresh.store()) == counted);
}

TEST_CASE("a recount that a havend command ends meanwhile counts each record once",
          "[server][central_store][upgrade]") {
  recount_gate gate;
  bool while_serving = false;
  central_fixture f(recounting_opener(gate, while_serving, 4));
  auto a = f.enroll("dev-a", "team-a", 0xa);
  f.push(a, assistance_cases(a, 30));
  const auto counted = figures_of(f.store());
  f.close();
  as_older_engine(f.file(), 3);
  while_serving = true;
  f.reopen();
  gate.parts(1);  // havend has counted records 1-4 and waits
  {
    // A havend command opens the store meanwhile: it counts the rest before it opens.
    const auto command = server::open_sqlite_store(f.file(), shipped_schema());
    CHECK(figures_of(*command) == counted);
  }
  gate.let_go();
  const auto parts = gate.until_done();
  CHECK(parts.size() == 2);  // havend's next part found the recount ended
  CHECK(figures_of(f.store()) == counted);
}

TEST_CASE(
    "the store's counts follow its pushes: the records, deleted records and cells of the same "
    "changes merged in memory, kept or counted again on opening",
    "[server][central_store][property]") {
  const std::uint64_t seed = GENERATE(1, 2, 3);
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const auto chance = [&](unsigned percent) { return rng() % 100 < percent; };
  const auto some = [&](std::uint64_t n) { return rng() % n; };
  central_fixture f;
  // Two devices, and one whose clock is behind: its edits of a cell lose.
  std::vector<field_device> devices{f.enroll("dev-a", "team-a", 0xa),
                                    f.enroll("dev-b", "team-a", 0xb),
                                    f.enroll("dev-c", "team-a", 0xc)};
  devices[2].ms() -= 60'000;
  sync::memory_replica oracle;
  const auto expected = [&] {
    server::log_counts c;
    for (const auto& [id, r] : oracle.records()) {
      ++c.records;
      c.deleted_records += r.deleted;
      c.cells += r.cells.size();
    }
    return std::tuple(c.records, c.deleted_records, c.cells);
  };
  const auto counted = [&] {
    const auto c = f.store().counts();
    return std::tuple(c.records, c.deleted_records, c.cells);
  };
  const auto session = [&]() {
    typed_fields fields = group_session("2026-05-02", chance(50) ? "vic" : "logatec",
                                        std::to_string(1 + some(30)).c_str());
    std::string topics;
    for (const char* code : {"thb", "gbv", "sexual-violence"})
      if (chance(40)) topics += (topics.empty() ? "" : ",") + std::string(code);
    if (!topics.empty()) fields.emplace_back("topics", topics);
    return fields;
  };
  CHECK(counted() == expected());  // none yet, counted once from here on
  std::uint64_t made = 0;
  int refused = 0;
  for (int batch = 0; batch < 80; ++batch) {
    INFO("batch " << batch);
    field_device& d = devices[some(devices.size())];
    const std::uint64_t stored = made;  // the ids before this batch are all in the store
    std::vector<sync::record_change> changes;
    for (std::uint64_t n = 1 + some(6); n > 0; --n) {
      const unsigned what = static_cast<unsigned>(some(10));
      if (made == 0 || what < 4) {
        changes.push_back(d.record(test_id(++made), "pats_session", session()));
      } else {
        const sync::record_id id = test_id(1 + some(made));
        if (what < 8)
          changes.push_back(d.record(id, "pats_session", session()));
        else if (what < 9)
          changes.push_back(d.record(id, "pats_session", {{"participants", "3"}}));
        else
          changes.push_back(d.deletion(id, "pats_session"));
      }
    }
    if (stored > 0 && chance(10)) {  // another type under a stored id: all of it is refused
      changes.push_back(d.record(test_id(1 + some(stored)), "on_call_event",
                                 {{"date", "2026-05-02"}, {"caller", "police"}}));
      const auto before = counted();
      const auto e = error_of([&] { f.push(d, changes); });
      CHECK(e.code == errc::forbidden);
      CHECK(counted() == before);
      made = stored;
      ++refused;
      continue;
    }
    for (const auto& c : changes) oracle.apply(c);
    f.push(d, changes);
    if (chance(10)) f.push(d, changes);  // sent again: it changes nothing
    REQUIRE(counted() == expected());
    if (batch % 20 == 19) {  // counted again from the file
      f.reopen();
      REQUIRE(counted() == expected());
    }
  }
  CHECK(refused > 0);
  CHECK(std::get<1>(expected()) > 0);  // deletions were among the changes
}

}  // namespace haven::test

namespace haven::test {

// Pushes from several devices at once: those that wait while a group commits
// commit together in the next one, each in a savepoint of its own. The store
// they leave must equal one fed the same batches one at a time: the same
// pushes refused, records, cells, log head and tally. Some refused batches
// are the first to name a record type and its fields: names they added roll
// back with them, and a later batch naming them again must not use the ids
// they had.
TEST_CASE(
    "pushes waiting for a commit commit together and a refused one rolls back alone, leaving "
    "the store one fed the same batches one at a time would be",
    "[server][central_store]") {
  constexpr int devices = 6, batches = 10, per_batch = 30;
  central_fixture grouped, serial;
  std::vector<field_device> ds;
  for (int i = 0; i < devices; ++i) {
    ds.push_back(grouped.enroll("dev-" + std::to_string(i), "team-a", 0x10 + i));
    serial.store().admit(ds.back().peer(), 1000);
  }
  const char* persons[] = {"P-0001H", "P-0002F", "P-0003D", "P-0004B"};
  std::vector<std::vector<sync::push_batch>> plan(devices);
  std::vector<std::vector<bool>> to_refuse(devices);
  int made = 0;
  for (int b = 0; b < batches; ++b)
    for (int i = 0; i < devices; ++i) {
      field_device& d = ds[static_cast<std::size_t>(i)];
      std::vector<sync::record_change> changes;
      for (int r = 0; r < per_batch; ++r) {
        ++made;
        if (b >= batches / 2 && r % 3 == 0)  // sessions only once some refused ones named them
          changes.push_back(
              d.record(test_id(made), "pats_session", group_session("2026-05-02", "vic", "12")));
        else
          changes.push_back(d.record(test_id(made), "assistance_case",
                                     {{"programme", "crisis-accommodation"},
                                      {"person", persons[made % 4]},
                                      {"sex", made % 2 ? "female" : "male"},
                                      {"nationality", made % 3 ? "UA" : "SI"},
                                      {"admitted", "2026-02-02"}}));
      }
      const bool refuse = (b + i) % 4 == 1;
      if (refuse)  // an individual session of 3 participants: a rule of its type refuses it
        changes.push_back(d.record(test_id(++made), "pats_session",
                                   {{"date", "2026-05-02"},
                                    {"site", "vic"},
                                    {"format", "individual"},
                                    {"participants", "3"}}));
      plan[static_cast<std::size_t>(i)].push_back(d.batch(std::move(changes)));
      to_refuse[static_cast<std::size_t>(i)].push_back(refuse);
    }

  // Each device pushes its batches in turn, all devices at once.
  std::vector<std::vector<std::optional<errc>>> refused(devices);
  std::vector<std::vector<server::push_result>> results(devices);  // of those not refused
  std::vector<std::size_t> largest_group(devices, 0);
  {
    std::mutex m;
    std::condition_variable go;
    bool started = false;
    std::vector<std::thread> threads;
    for (int i = 0; i < devices; ++i)
      threads.emplace_back([&, i] {
        const auto u = static_cast<std::size_t>(i);
        {
          std::unique_lock lock(m);
          go.wait(lock, [&] { return started; });
        }
        for (const auto& batch : plan[u]) {
          const auto r = capture([&] { return grouped.store().push(ds[u].peer(), batch, 2000); });
          refused[u].push_back(r.ok() ? std::nullopt : std::optional(r.err().code));
          results[u].push_back(r.ok() ? r.value() : server::push_result{});
          if (r.ok()) largest_group[u] = std::max(largest_group[u], r.value().group);
        }
      });
    {
      std::lock_guard lock(m);
      started = true;
    }
    go.notify_all();
    for (auto& t : threads) t.join();
  }
  CHECK(*std::max_element(largest_group.begin(), largest_group.end()) > 1);  // they grouped

  for (std::size_t i = 0; i < devices; ++i)
    for (std::size_t b = 0; b < batches; ++b) {
      INFO("device " << i << ", batch " << b);
      CHECK(refused[i][b] == (to_refuse[i][b] ? std::optional(errc::invalid_input) : std::nullopt));
      const auto r = capture([&] { return serial.store().push(ds[i].peer(), plan[i][b], 2000); });
      REQUIRE(r.ok() == !to_refuse[i][b]);
      if (!r.ok()) continue;
      CHECK(results[i][b].acked_seq == r.value().acked_seq);  // each caller had its own result
      CHECK(results[i][b].stats.applied == r.value().stats.applied);
    }

  const auto counted = [](server::central_store& s) {
    const auto c = s.counts();
    return std::tuple(c.records, c.deleted_records, c.cells, c.head);
  };
  CHECK(counted(grouped.store()) == counted(serial.store()));
  // Every change made a record: a log position a cell, none lost to a refused batch.
  CHECK(grouped.store().counts().head == grouped.store().counts().cells);
  std::size_t accepted = 0;
  for (const auto& device : to_refuse) accepted += std::count(device.begin(), device.end(), false);
  CHECK(grouped.store().counts().records == accepted * per_batch);
  CHECK(figures_of(grouped.store()) == figures_of(serial.store()));
  CHECK_FALSE(figures_of(grouped.store()).empty());
  // Each record as pushed: every cell a device sent in a batch not refused.
  const auto in_order = [](std::vector<sync::record_change> changes) {
    std::sort(changes.begin(), changes.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });
    for (auto& c : changes)
      std::sort(c.cells.begin(), c.cells.end(),
                [](const auto& a, const auto& b) { return a.key < b.key; });
    return changes;
  };
  std::vector<sync::record_change> pushed;
  for (std::size_t i = 0; i < devices; ++i)
    for (std::size_t b = 0; b < batches; ++b)
      if (!to_refuse[i][b])
        pushed.insert(pushed.end(), plan[i][b].changes.begin(), plan[i][b].changes.end());
  const auto everything = [&](server::central_store& s) {
    std::vector<sync::record_change> changes;
    sync::change_batch b;
    do {
      b = s.pull("team-a", 0, b.up_to, 100'000);
      std::move(b.changes.begin(), b.changes.end(), std::back_inserter(changes));
    } while (b.more);
    return in_order(std::move(changes));
  };
  CHECK(everything(grouped.store()) == in_order(pushed));
  // And each device's cursor is where it is in the store fed one batch at a time.
  for (const auto& d : ds)
    CHECK(grouped.store().device(d.peer().device_id)->acked_seq ==
          serial.store().device(d.peer().device_id)->acked_seq);
}

}  // namespace haven::test

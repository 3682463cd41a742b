// The cell table's merge is the reference merge: random changes - colliding
// stamps, repeated keys within a change, a record in several changes of a
// transaction, deletions, cells for deleted records - applied through two
// connections to one file, some transactions rolled back, leave the table
// exactly as sync::memory_replica fed the committed changes, with the same
// stats, and each merge reports the record's state as the replica has it.
#include <algorithm>
#include <catch2/catch.hpp>
#include <haven/sqlite/cell_table.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <map>
#include <memory>

#include "../support/dice.hpp"
#include "../support/process.hpp"

using namespace haven;
using haven::test::dice;

namespace {

struct record_shape {
  sync::record_id id;
  std::string type, team;
};

std::vector<record_shape> some_records(dice& d, std::size_t n) {
  const std::vector<std::string> types{"pats_session", "assistance_case", "on_call_event"};
  const std::vector<std::string> teams{"outreach", "crisis"};
  std::vector<record_shape> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back({sync::record_id::random(), d.pick(types), d.pick(teams)});
  return out;
}

// A change of 1-4 cells drawn from small pools, so that keys, stamps and
// values collide often; one cell in twenty deletes the record.
sync::record_change some_change(dice& d, const record_shape& r) {
  const std::vector<std::string> keys{"site", "format", "participants", "date", "topics/thb"};
  const std::vector<value> values{value{},
                                  value{std::int64_t{3}},
                                  value{std::int64_t{40}},
                                  value{std::string("vic")},
                                  value{date{20000}},
                                  value{true},
                                  value{false}};
  sync::record_change change{r.id, r.type, r.team, {}};
  const std::size_t n = 1 + d.below(4);
  for (std::size_t i = 0; i < n; ++i) {
    const sync::stamp at{sync::hlc{(1 + d.below(6)) << 16 | d.below(2)},
                         static_cast<sync::node_id>(1 + d.below(3))};
    if (d.below(20) == 0)
      change.cells.push_back({std::string(sync::deleted_key), true, at});
    else
      change.cells.push_back({d.pick(keys), d.pick(values), at});
  }
  return change;
}

std::vector<sync::cell> by_key(std::vector<sync::cell> cells) {
  std::sort(cells.begin(), cells.end(),
            [](const sync::cell& a, const sync::cell& b) { return a.key < b.key; });
  return cells;
}
std::vector<sync::cell> cells_of(const sync::memory_replica::record_state& r) {
  std::vector<sync::cell> out;
  for (const auto& [_, c] : r.cells) out.push_back(c);
  return out;
}

// A new file `name` in `dir` with the cell tables, and a connection to it.
std::unique_ptr<sqlite::database> new_table_file(const test::temp_dir& dir, const char* name) {
  auto db = std::make_unique<sqlite::database>(dir.file(name), sqlite::database::mode::create);
  sqlite::transaction tx(*db);
  sqlite::cell_table::create(*db);
  tx.commit();
  return db;
}

// Merges `change` into `table` and `replica`: the same stats, and the
// record's state after the merge as the replica has it.
void merge_both(sqlite::cell_table& table, sync::memory_replica& replica,
                const sync::record_change& change, const sqlite::cell_table::stamper& stamp) {
  sqlite::cell_table::merged_record after;
  const auto stats = table.merge(change, stamp, &after);
  const auto expected = replica.apply(change);
  CHECK(stats.applied == expected.applied);
  CHECK(stats.superseded == expected.superseded);
  CHECK(stats.discarded == expected.discarded);
  CHECK(stats.record_created == expected.record_created);
  CHECK(stats.record_deleted == expected.record_deleted);
  const auto& state = replica.records().at(change.id);
  CHECK(after.deleted == state.deleted);
  CHECK(by_key(after.cells) == cells_of(state));
}

// A cell table in a new file beside the reference: merge() merges a change
// into both (merge_both) and checks that the record's stored cells agree.
struct beside_reference {
  test::temp_dir dir;
  std::unique_ptr<sqlite::database> file = new_table_file(dir, "cells.db");
  sqlite::database& db = *file;
  sqlite::cell_table table{db};
  sync::memory_replica replica;

  void merge(const sync::record_change& change, const sqlite::cell_table::stamper& stamp) {
    merge_both(table, replica, change, stamp);
    CHECK(table.cells(change.id) == cells_of(replica.records().at(change.id)));
  }
};

// A cell table in a new file, inside a write transaction.
struct table_in_transaction {
  test::temp_dir dir;
  std::unique_ptr<sqlite::database> file = new_table_file(dir, "cells.db");
  sqlite::transaction tx{*file};
  sqlite::cell_table table{*file};
};

}  // namespace

TEST_CASE("cell_table merges as memory_replica does, across connections and rollbacks",
          "[sqlite][cell_table][property]") {
  for (std::uint64_t seed : {1u, 2u, 3u, 4u}) {
    INFO("seed " << seed);
    dice d(seed);
    test::temp_dir dir;
    const auto file = new_table_file(dir, "cells.db");
    sqlite::database& one = *file;
    sqlite::database two(dir.file("cells.db"), sqlite::database::mode::open_existing);
    sqlite::cell_table table_one(one), table_two(two);
    sync::memory_replica replica;
    const auto records = some_records(d, 12);
    std::int64_t seq = 0;
    for (int round = 0; round < 60; ++round) {
      const bool first = d.below(2) == 0;
      sqlite::database& db = first ? one : two;
      sqlite::cell_table& table = first ? table_one : table_two;
      const bool keep = d.below(5) != 0;
      sync::memory_replica next = replica;
      sqlite::transaction tx(db);
      for (std::size_t i = 1 + d.below(5); i > 0; --i) {
        merge_both(table, next, some_change(d, d.pick(records)), [&] { return ++seq; });
      }
      if (keep) {
        tx.commit();
        replica = std::move(next);
      }
    }
    // The whole table, read through the other connection too.
    sqlite::transaction snapshot(two, sqlite::transaction::kind::read);
    for (const auto& r : records) {
      const auto row = table_two.row(r.id);
      const auto it = replica.records().find(r.id);
      REQUIRE(row.has_value() == (it != replica.records().end()));
      if (!row) continue;
      CHECK(row->type == it->second.type);
      CHECK(row->team == it->second.team);
      CHECK(row->deleted == it->second.deleted);
      CHECK(table_two.cells(r.id) == cells_of(it->second));
    }
  }
}

TEST_CASE("cell_table refuses a change that gives a record another type or team",
          "[sqlite][cell_table]") {
  table_in_transaction f;
  sqlite::cell_table& table = f.table;
  const auto id = sync::record_id::random();
  const sync::stamp at{sync::hlc{1 << 16}, 1};
  table.merge({id, "pats_session", "outreach", {{"site", std::string("vic"), at}}},
              [] { return std::nullopt; });
  for (const auto& [type, team] :
       {std::pair{"on_call_event", "outreach"}, std::pair{"pats_session", "crisis"}}) {
    try {
      table.merge({id, type, team, {{"site", std::string("logatec"), at}}},
                  [] { return std::nullopt; });
      FAIL("merged");
    } catch (const failure& f) {
      CHECK(f.err().code == errc::forbidden);
    }
  }
  CHECK(table.cells(id) == std::vector<sync::cell>{{"site", std::string("vic"), at}});
}

TEST_CASE("cell_table::merge_new writes a new record as merge does, and refuses an id it holds",
          "[sqlite][cell_table]") {
  table_in_transaction f;
  sqlite::cell_table& table = f.table;
  const sync::stamp at{sync::hlc{1 << 16}, 1};
  std::int64_t seq = 0;
  const auto stamp = [&]() -> std::optional<std::int64_t> { return ++seq; };
  const auto fresh = sync::record_id::random(), merged = sync::record_id::random();
  const std::vector<sync::cell> cells{{"participants", std::int64_t{3}, at},
                                      {"site", std::string("vic"), at}};
  const auto stats = table.merge_new({fresh, "pats_session", "outreach", cells}, stamp);
  CHECK(stats.record_created);
  table.merge({merged, "pats_session", "outreach", cells}, stamp);
  CHECK(table.cells(fresh) == table.cells(merged));
  CHECK(seq == 4);  // each cell stamped once
  try {
    table.merge_new({fresh, "pats_session", "outreach", {{"site", std::string("logatec"), at}}},
                    stamp);
    FAIL("merged");
  } catch (const failure& f) {
    CHECK(f.err().code == errc::store);
  }
  CHECK(table.cells(fresh) == cells);
}

TEST_CASE("cell_table adds a record it has never seen as memory_replica does, in one batch or two",
          "[sqlite][cell_table]") {
  // A new record takes the path that adds it without reading its cells: its
  // first change, a second change of it in the same transaction (a batch
  // holding it twice), and one in the next transaction (a record that
  // arrives in two batches) merge as the reference does.
  beside_reference f;
  sqlite::database& db = f.db;
  const auto id = sync::record_id::random(), other = sync::record_id::random();
  auto at = [](std::uint64_t t, sync::node_id node) {
    return sync::stamp{sync::hlc{t << 16}, node};
  };
  auto merge = [&](const sync::record_change& change) {
    f.merge(change, [] { return std::nullopt; });
  };
  {
    sqlite::transaction batch(db);
    // New, with one key twice: the later stamp wins whichever comes first.
    merge({id,
           "pats_session",
           "outreach",
           {{"site", std::string("vic"), at(2, 1)},
            {"participants", std::int64_t{3}, at(2, 1)},
            {"site", std::string("logatec"), at(1, 2)}}});
    merge({other, "assistance_case", "crisis", {{"date", date{20000}, at(1, 1)}}});
    // The same record again in the same batch: now known, read and merged.
    merge({id,
           "pats_session",
           "outreach",
           {{"participants", std::int64_t{40}, at(3, 1)}, {"site", std::string("x"), at(1, 1)}}});
    batch.commit();
  }
  {
    sqlite::transaction batch(db);
    // Its rest in the next batch.
    merge({id, "pats_session", "outreach", {{"format", std::string("group"), at(4, 1)}}});
    merge({other, "assistance_case", "crisis", {{std::string(sync::deleted_key), true, at(2, 1)}}});
    batch.commit();
  }
  {
    sqlite::transaction batch(db);
    // A cell for a deleted record is discarded; a new record after it is added.
    merge({other, "assistance_case", "crisis", {{"date", date{20001}, at(9, 1)}}});
    merge({sync::record_id::random(), "pats_session", "crisis", {{"site", value{}, at(1, 3)}}});
    batch.commit();
  }
  CHECK(f.table.row(id)->type == "pats_session");
  CHECK(f.table.row(other)->deleted);
}

TEST_CASE("cell_table sees names another connection added, in its next transaction",
          "[sqlite][cell_table]") {
  // Names are checked against the file once a transaction: a key, type and
  // team that another connection interned and committed are known after it.
  test::temp_dir dir;
  const auto file = new_table_file(dir, "cells.db");
  sqlite::database& one = *file;
  sqlite::database two(dir.file("cells.db"), sqlite::database::mode::open_existing);
  sqlite::cell_table table_one(one), table_two(two);
  const sync::stamp at{sync::hlc{1 << 16}, 1};
  const auto first = sync::record_id::random(), second = sync::record_id::random();
  {
    sqlite::transaction tx(one);
    table_one.merge({first, "pats_session", "outreach", {{"site", std::string("vic"), at}}},
                    [] { return std::nullopt; });
    tx.commit();
  }
  {
    sqlite::transaction tx(two);
    table_two.merge({second, "assistance_case", "crisis", {{"date", date{20000}, at}}},
                    [] { return std::nullopt; });
    tx.commit();
  }
  {
    sqlite::transaction tx(one);
    table_one.merge({second, "assistance_case", "crisis", {{"format", std::string("group"), at}}},
                    [] { return std::nullopt; });
    tx.commit();
  }
  sqlite::transaction snapshot(two, sqlite::transaction::kind::read);
  CHECK(table_two.cells(second) ==
        std::vector<sync::cell>{{"date", date{20000}, at}, {"format", std::string("group"), at}});
  CHECK(table_two.row(first)->team == "outreach");
}

TEST_CASE("cell_table writes a record of many cells whole, each with the seq it was stamped with",
          "[sqlite][cell_table]") {
  // The cells a change brings are written once its merge is decided, in the
  // record's one row: a record of many cells, new and then known, with keys
  // repeated within a change and a deletion at the end, merges as the
  // reference does, and each cell the change applied is stamped with a fresh
  // seq once (a key applied twice too), in the order of the keys' ids.
  beside_reference f;
  sqlite::database& db = f.db;
  const auto id = sync::record_id::random();
  auto at = [](std::uint64_t t) { return sync::stamp{sync::hlc{t << 16}, 1}; };
  std::int64_t seq = 0;
  auto merge = [&](const sync::record_change& change) { f.merge(change, [&] { return ++seq; }); };
  auto seqs = [&] {
    std::map<std::int64_t, std::string> names;
    sqlite::statement name(db, "SELECT id, name FROM names");
    while (name.step()) names[name.integer(0)] = name.text(1);
    std::map<std::string, std::int64_t> out;
    sqlite::statement st(db, "SELECT cells FROM records WHERE id = ?");
    st.bind(1, sqlite::bytes(id));
    REQUIRE(st.step());
    for (const auto& c : sqlite::unpack_cells(sqlite::as_chars(st.blob(0))))
      out[names.at(c.key)] = c.seq.value_or(-1);
    return out;
  };
  sync::record_change change{id, "pats_session", "outreach", {}};
  for (int i = 0; i < 40; ++i)
    change.cells.push_back({"key" + std::to_string(i), std::int64_t{i}, at(2)});
  {
    sqlite::transaction tx(db);
    merge(change);  // new: 40 cells
    tx.commit();
  }
  CHECK(seqs().size() == 40);
  CHECK(seqs().at("key0") == 1);
  CHECK(seqs().at("key39") == 40);
  change.cells.clear();
  for (int i = 0; i < 40; i += 2)  // every second key newer, each twice
    for (std::uint64_t t : {3u, 4u})
      change.cells.push_back({"key" + std::to_string(i), std::int64_t{100 + i}, at(t)});
  for (int i = 40; i < 60; ++i)  // and 20 keys more
    change.cells.push_back({"key" + std::to_string(i), std::int64_t{i}, at(1)});
  {
    sqlite::transaction tx(db);
    merge(change);  // known: 40 cells read, 60 written
    tx.commit();
  }
  const auto stored = seqs();
  CHECK(stored.size() == 60);
  CHECK(stored.at("key1") == 2);       // untouched
  CHECK(stored.at("key0") == 40 + 1);  // applied twice, stamped once
  CHECK(stored.at("key38") == 40 + 20);
  CHECK(stored.at("key59") == 40 + 20 + 20);
  CHECK(seq == 80);
  change.cells.push_back({std::string(sync::deleted_key), true, at(5)});
  {
    sqlite::transaction tx(db);
    merge(change);  // the same cells again, then a deletion: only it is left
    tx.commit();
  }
  CHECK(seqs() == std::map<std::string, std::int64_t>{{"_deleted", seq}});
  CHECK(f.table.row(id)->deleted);
}

TEST_CASE("read_log keeps a batch within max_records when a record takes several changes",
          "[sqlite][cell_table]") {
  // A record of more cells than a change holds travels as several changes:
  // they count towards max_records, and a record that would pass it waits
  // for the next batch unless it comes first.
  beside_reference f;
  const std::size_t per_change = sync::frame_limits{}.max_cells_per_record;
  const auto record = [](std::size_t cells) {
    sync::record_change change{sync::record_id::random(), "pats_session", "outreach", {}};
    for (std::size_t i = 0; i < cells; ++i)
      change.cells.push_back(
          {"key" + std::to_string(i), std::int64_t(i), sync::stamp{sync::hlc{1 << 16}, 1}});
    return change;
  };
  const std::vector<sync::record_change> records{record(3), record(2 * per_change + 1), record(2)};
  std::int64_t seq = 0;
  {
    sqlite::transaction tx(f.db);
    for (const auto& r : records) f.table.merge(r, [&] { return ++seq; });
    tx.commit();
  }
  const auto read = [&](std::uint64_t since, std::size_t max_records) {
    static const std::string sql =
        std::string(sqlite::log_select) + "WHERE r.last_seq > ?1 ORDER BY r.last_seq";
    sqlite::statement st(f.db, sql.c_str());
    st.bind(1, static_cast<std::int64_t>(since));
    sqlite::transaction tx(f.db, sqlite::transaction::kind::read);
    auto batch = f.table.read_log(st, 100000, max_records);
    st.reset();
    tx.commit();
    return batch;
  };
  auto batch = read(0, 3);  // the first record, then three changes would make four
  REQUIRE(batch.changes.size() == 1);
  CHECK(batch.changes[0].id == records[0].id);
  CHECK(batch.cut);
  batch = read(batch.last_seq, 3);  // first in its batch: whole, in three changes
  REQUIRE(batch.changes.size() == 3);
  for (const auto& c : batch.changes) CHECK(c.id == records[1].id);
  CHECK(batch.changes[0].cells.size() == per_change);
  CHECK(batch.changes[2].cells.size() == 1);
  CHECK(batch.cut);
  batch = read(batch.last_seq, 3);
  REQUIRE(batch.changes.size() == 1);
  CHECK(batch.changes[0].id == records[2].id);
  CHECK_FALSE(batch.cut);
  CHECK(read(0, 4).changes.size() == 4);  // room for both
}

TEST_CASE("name_table: an id a rolled-back savepoint gave is never read as another name's",
          "[sqlite][name_table]") {
  // A savepoint's rollback is not a transaction's, which the copy goes by:
  // a name added inside it stays in the copy, and the next name added gets
  // its id. intern() refuses to give that id to the new name; forget(), as
  // the tally book's savepoint calls it, brings the copy back in line.
  test::temp_dir dir;
  sqlite::database db(dir.file("names.db"), sqlite::database::mode::create);
  db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)");
  sqlite::name_table names(db, "t", "SELECT id, name FROM t",
                           "INSERT INTO t(name) VALUES (?) RETURNING id");
  db.exec("SAVEPOINT s");
  names.refresh();
  const std::int64_t x = names.intern("x");
  db.exec("ROLLBACK TO s; RELEASE s");
  db.exec("SAVEPOINT s");
  names.refresh();
  try {
    names.intern("y");
    FAIL("the id of a name rolled back was given to another");
  } catch (const failure& e) {
    CHECK(e.err().code == errc::store);
  }
  names.forget();
  names.refresh();
  const std::int64_t y = names.intern("y");
  CHECK(y == x);  // the rolled-back row's id, now y's
  CHECK(names.name_of(y) == "y");
  db.exec("RELEASE s");
}

// How it works:
// The incremental tally: every declared tally of every period, kept in the
// central store's SQLite database in tables named tally_*, so that it commits
// and rolls back with the changes that move it.
//
// The book stores the amounts per (tally, period, row path, column, measure)
// at every level, the day each open stay was counted for, and
// for each distinct measure a reference count per (leaf cell, person): the
// records that put the person there. A person is in a subtotal or total cell
// when some leaf below it holds them, and the amount of a distinct measure
// is the number of persons in the cell, kept as they enter and leave it. An
// update retracts the contribution of a record's state before (which the
// caller's store read in the same transaction: the book keeps no copy of a
// record) and adds that of its state after; the
// writes of a batch of updates are summed first, so a cell that many records
// of a batch share is written once. Reports are made from the amounts; they
// never scan records. This is the SQLite implementation's tally_store.
//
// Not thread-safe: it uses its connection from one thread at a time, like the
// connection itself. Holds references to the database and the schema, which
// must outlive it.
#include <algorithm>
#include <chrono>
#include <haven/core/clock.hpp>
#include <haven/server/tally_book.hpp>
#include <haven/tally/contribution.hpp>

#include "tally_delta.hpp"
#include "tally_tables.hpp"

namespace haven::server {
namespace {

// Bump when the contribution rules or the tables change: stored tallies then need a replay.
constexpr std::string_view engine_version = "tally engine 5";

constexpr const char* meta_sql = "SELECT value FROM tally_meta WHERE key = 'declarations'";
constexpr const char* recounted_sql = "SELECT value FROM tally_meta WHERE key = 'recounted_to'";
constexpr const char* set_recounted_sql =
    "INSERT OR REPLACE INTO tally_meta(key, value) VALUES ('recounted_to', ?1)";
constexpr const char* end_recount_sql = "DELETE FROM tally_meta WHERE key = 'recounted_to'";
constexpr const char* set_meta_sql =
    "INSERT OR REPLACE INTO tally_meta(key, value) VALUES ('declarations', ?1)";
constexpr const char* open_since_sql = "SELECT today FROM tally_open WHERE record = ?1";
constexpr const char* set_open_sql =
    "INSERT OR REPLACE INTO tally_open(record, today) VALUES (?1, ?2)";
constexpr const char* drop_open_sql = "DELETE FROM tally_open WHERE record = ?1";
constexpr const char* open_records_sql = "SELECT record, today FROM tally_open";

// Keeps the `keys` of `fields` that hold a value; an empty set is no value.
field_map project(const field_map& fields, const std::vector<std::string>& keys) {
  field_map out;
  for (const auto& key : keys) {
    auto it = fields.find(key);
    if (it == fields.end() || is_null(it->second)) continue;
    if (const auto* set = std::get_if<code_set>(&it->second); set && set->empty()) continue;
    out.emplace(key, it->second);
  }
  return out;
}

// The most row fields of any tally: a path has no more codes.
std::size_t deepest_rows(const schema& s) {
  std::size_t out = 0;
  for (const auto& t : s.tallies()) out = std::max(out, t.rows.size());
  return out;
}

bool same_month(date a, date b) {
  const civil_date x = to_civil(a), y = to_civil(b);
  return x.year == y.year && x.month == y.month;
}

// A canonical text of everything the stored tallies depend on: the engine
// (this book's tables and the contribution rules) and the declarations.
std::string declarations_of(const schema& s) {
  return std::string(engine_version) + tally::declarations(s);
}

bool has_row(sqlite::database& db, const char* sql) {
  auto& st = db.cached(sql);
  const bool found = st.step();
  st.reset();
  return found;
}

std::optional<std::string> stored_declarations(sqlite::database& db) {
  auto& st = db.cached(meta_sql);
  std::optional<std::string> text;
  if (st.step()) text = st.text(0);
  st.reset();
  return text;
}

}  // namespace

tally_book::tally_book(sqlite::database& db, std::shared_ptr<const schema> s, clock today)
    : db_(db),
      schema_(std::move(s)),
      labels_(db_, names_, deepest_rows(*schema_)),
      today_(std::move(today)),
      declarations_(declarations_of(*schema_)) {
  for (const auto& t : schema_->tallies())
    if (!read_fields_.count(t.type)) read_fields_.emplace(t.type, tally_fields(*schema_, t.type));
  db_.exec(tally_tables::create_sql);
  // A book that has counted nothing adopts the current declarations.
  if (!stored_declarations(db_) && !has_row(db_, "SELECT 1 FROM tally_open LIMIT 1") &&
      !has_row(db_, "SELECT 1 FROM tally_value LIMIT 1"))
    db_.cached(set_meta_sql).bind(1, std::string_view(declarations_)).run();
  replay_pending_ = needs_replay();
}

bool tally_book::needs_replay() const {
  return stored_declarations(db_) != declarations_;
}

void tally_book::reset() {
  // Earlier engines' tables are dropped, not emptied: tally_record (engine
  // 1: a copy of each record's fields), tally_value (engine 1: a row per
  // amount) and tally_person (to engine 2: a row per leaf, paths and
  // columns as text; engine 3: a row per leaf, by label; engine 4: a row
  // per person and distinct measure). No
  // statement may be mid-result on a table being dropped; SQLite prepares
  // the cached ones again for the new table.
  db_.reset_cached();
  db_.exec(
      "DELETE FROM tally_open; DROP TABLE IF EXISTS tally_record; DROP TABLE tally_value; DROP "
      "TABLE tally_person;");
  db_.exec(tally_tables::create_sql);
  db_.cached(set_meta_sql).bind(1, std::string_view(declarations_)).run();
  db_.cached(set_recounted_sql).bind(1, std::int64_t{0}).run();
  replay_pending_ = false;
}

std::optional<std::int64_t> tally_book::recounted_to() const {
  auto& st = db_.cached(recounted_sql);
  std::optional<std::int64_t> out;
  if (st.step()) out = st.integer(0);
  st.reset();
  return out;
}

void tally_book::recount_to(std::int64_t record) {
  db_.cached(set_recounted_sql).bind(1, record).run();
}

void tally_book::end_recount() {
  db_.cached(end_recount_sql).run();
}

void tally_book::update(std::span<const change> changes) {
  if (replay_pending_) return;  // the replay will count it
  const date now = today_();
  const std::optional<std::int64_t> recounted = recounted_to();
  tally::delta delta(names_);
  for (const change& c : changes) {
    if (recounted && c.record > *recounted) continue;  // the recount counts it when it gets there
    const auto read = read_fields_.find(c.type);
    if (read == read_fields_.end()) continue;
    std::optional<field_map> was, is;
    if (c.before) was = project(*c.before, read->second);
    if (c.fields) is = project(*c.fields, read->second);
    if (was == is) continue;  // an open stay moves on to a new month in refresh_open_stays

    tally::record_cells before, after;
    if (was) {
      before = count_cells(*schema_, c.type, *was, now, names_);
      if (before.depends_on_today)  // counted up to the day it was counted for
        if (const date then = open_since(c.record); !same_month(then, now))
          before = count_cells(*schema_, c.type, *was, then, names_);
    }
    if (is) after = count_cells(*schema_, c.type, *is, now, names_);
    delta.add(before, -1);
    delta.add(after, 1);
    if (after.depends_on_today)
      db_.cached(set_open_sql).bind(1, c.record).bind(2, std::int64_t{now.days}).run();
    else if (before.depends_on_today)
      db_.cached(drop_open_sql).bind(1, c.record).run();
  }
  write_delta(db_, labels_, names_, *schema_, delta);
}

date tally_book::open_since(std::int64_t record) const {
  auto& st = db_.cached(open_since_sql).bind(1, record);
  if (!st.step())
    throw failure(
        errc::store,
        "store: the tally lost the day an open stay was counted for (reset and replay it)");
  const date then{static_cast<std::int32_t>(st.integer(0))};
  st.reset();
  return then;
}

void tally_book::refresh_open_stays(const record_reader& read) {
  if (replay_pending_) return;
  sqlite::savepoint sp(db_);  // its own transaction, or a part of the caller's
  const date now = today_();
  std::vector<std::pair<std::int64_t, date>> moved;
  auto& st = db_.cached(open_records_sql);
  while (st.step())
    if (const date then{static_cast<std::int32_t>(st.integer(1))}; !same_month(then, now))
      moved.emplace_back(st.integer(0), then);
  st.reset();
  tally::delta delta(names_);
  for (const auto& [record, then] : moved) {
    const auto r = read(record);
    if (!r)
      throw failure(errc::store,
                    "store: the tally counts an open stay the store lacks (reset and replay it)");
    delta.add(count_cells(*schema_, r->type, r->fields, then, names_), -1);
    delta.add(count_cells(*schema_, r->type, r->fields, now, names_), 1);
    db_.cached(set_open_sql).bind(1, record).bind(2, std::int64_t{now.days}).run();
  }
  write_delta(db_, labels_, names_, *schema_, delta);
  sp.release();
}

}  // namespace haven::server

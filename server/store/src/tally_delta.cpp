#include "tally_delta.hpp"

#include <algorithm>

#include "tally_tables.hpp"

namespace haven::server {
namespace {

// Plain statements: an UPSERT ... RETURNING costs SQLite an ephemeral table per run.
constexpr const char* read_amount_sql =
    "SELECT value FROM tally_value WHERE tally = ?1 AND period = ?2 AND path = ?3 AND col = ?4 AND "
    "measure = ?5";
constexpr const char* set_amount_sql =
    "INSERT INTO tally_value(tally, period, path, col, measure, value) VALUES (?1, ?2, ?3, ?4, ?5, "
    "?6) "
    "ON CONFLICT DO UPDATE SET value = excluded.value";
constexpr const char* add_amount_sql =
    "INSERT INTO tally_value(tally, period, path, col, measure, value) VALUES (?1, ?2, ?3, ?4, ?5, "
    "?6) "
    "ON CONFLICT DO UPDATE SET value = value + excluded.value";
constexpr const char* drop_amount_sql =
    "DELETE FROM tally_value WHERE tally = ?1 AND period = ?2 AND path = ?3 AND col = ?4 AND "
    "measure = ?5";
constexpr const char* read_person_sql =
    "SELECT period, path, col, n FROM tally_person WHERE tally = ?1 AND measure = ?2 AND person = "
    "?3";
constexpr const char* set_person_sql =
    "INSERT INTO tally_person(tally, measure, person, period, path, col, n) VALUES (?1, ?2, ?3, "
    "?4, ?5, ?6, ?7) "
    "ON CONFLICT DO UPDATE SET n = excluded.n";
constexpr const char* drop_person_sql =
    "DELETE FROM tally_person WHERE tally = ?1 AND measure = ?2 AND person = ?3 AND period = ?4 "
    "AND path = ?5 AND col = ?6";

// Binds a cell's tally, period, path, col and measure as ?1-?5.
sqlite::statement& cell_statement(sqlite::database& db, const char* sql, const tally_key& key) {
  auto& st = db.cached(sql);
  st.bind(1, std::int64_t{key.tally}).bind(2, tally_tables::period_number(key.period));
  st.bind(3, std::string_view(key.path)).bind(4, std::string_view(key.column));
  st.bind(5, tally_tables::measure_number(key.measure));
  return st;
}

// Reads the person's stored leaves, lets the delta count them in or out of
// the cells they enter or leave, and writes the leaves that changed.
void write_person(sqlite::database& db, tally::delta& d, const tally::delta::person_key& who,
                  const tally::delta::leaf_counts& change) {
  const auto tally = std::int64_t{who.tally}, measure = tally_tables::measure_number(who.measure);
  tally::delta::leaf_counts before;
  auto& st = db.cached(read_person_sql)
                 .bind(1, tally)
                 .bind(2, measure)
                 .bind(3, std::string_view(who.person));
  while (st.step())
    before[{tally_tables::period_of_number(st.integer(0)), st.text(1), st.text(2)}] = st.integer(3);
  const auto after = d.apply_person(who, before);
  for (const auto& [l, n] : change) {
    if (n == 0) continue;
    const auto it = after.find(l);
    auto& row = db.cached(it == after.end() ? drop_person_sql : set_person_sql);
    row.bind(1, tally).bind(2, measure).bind(3, std::string_view(who.person));
    row.bind(4, tally_tables::period_number(l.period)).bind(5, std::string_view(l.path));
    row.bind(6, std::string_view(l.column));
    if (it != after.end()) row.bind(7, it->second);
    row.run();
  }
}

}  // namespace

void write_delta(sqlite::database& db, tally::delta& d) {
  for (const auto& [who, change] : d.persons())
    if (std::any_of(change.begin(), change.end(), [](const auto& c) { return c.second != 0; }))
      write_person(db, d, who, change);
  for (const auto& [key, amount] : d.amounts()) {
    if (amount == 0) continue;
    if (amount > 0 && d.counts_up(key)) {  // cannot reach 0: one statement
      cell_statement(db, add_amount_sql, key).bind(6, amount).run();
      continue;
    }
    auto& read = cell_statement(db, read_amount_sql, key);
    const std::int64_t was = read.step() ? read.integer(0) : 0;
    read.reset();
    const std::int64_t now = tally::delta::checked_sum(was, amount);
    auto& write = cell_statement(db, now == 0 ? drop_amount_sql : set_amount_sql, key);
    if (now != 0) write.bind(6, now);
    write.run();
  }
  d.clear();
}

}  // namespace haven::server

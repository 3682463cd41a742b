#include "tally_delta.hpp"

#include <algorithm>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tally_tables.hpp"

namespace haven::server {
namespace {

constexpr const char* read_row_sql =
    "SELECT amounts FROM tally_value WHERE tally = ?1 AND period = ?2 AND path = ?3";
constexpr const char* set_row_sql =
    "INSERT OR REPLACE INTO tally_value(tally, period, path, amounts) VALUES (?1, ?2, ?3, ?4)";
constexpr const char* drop_row_sql =
    "DELETE FROM tally_value WHERE tally = ?1 AND period = ?2 AND path = ?3";
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

// Reads the person's stored leaves, lets the delta count them in or out of
// the cells they enter or leave, and writes the leaves that changed.
void write_person(sqlite::database& db, sqlite::name_table& labels, tally::delta& d,
                  const tally::delta::person_key& who, const tally::delta::leaf_counts& change) {
  const auto tally = std::int64_t{who.tally}, measure = tally_tables::measure_number(who.measure);
  tally::delta::leaf_counts before;
  auto& st = db.cached(read_person_sql)
                 .bind(1, tally)
                 .bind(2, measure)
                 .bind(3, std::string_view(who.person));
  while (st.step())
    before[{tally_tables::period_of_number(st.integer(0)), labels.name_of(st.integer(1)),
            labels.name_of(st.integer(2))}] = st.integer(3);
  const auto after = d.apply_person(who, before);
  for (const auto& [l, n] : change) {
    if (n == 0) continue;
    const auto it = after.find(l);
    auto& row = db.cached(it == after.end() ? drop_person_sql : set_person_sql);
    row.bind(1, tally).bind(2, measure).bind(3, std::string_view(who.person));
    row.bind(4, tally_tables::period_number(l.period)).bind(5, labels.intern(l.path));
    row.bind(6, labels.intern(l.column));
    if (it != after.end()) row.bind(7, it->second);
    row.run();
  }
}

// A tally_value row: one row path of one tally in one period.
struct row_key {
  std::uint32_t tally;
  std::int64_t period;
  std::string_view path;
  auto operator<=>(const row_key&) const = default;
};

// Adds the changes to the row's stored amounts and writes it once.
void write_row(sqlite::database& db, const row_key& row,
               const std::vector<std::pair<const tally_key*, std::int64_t>>& changes) {
  const auto bind_row = [&](const char* sql) -> sqlite::statement& {
    auto& st = db.cached(sql);
    st.bind(1, std::int64_t{row.tally}).bind(2, row.period).bind(3, row.path);
    return st;
  };
  tally_tables::packed_amounts amounts;
  auto& read = bind_row(read_row_sql);
  const bool stored = read.step();
  if (stored) amounts = tally_tables::unpack(read.blob(0));
  read.reset();
  for (const auto& [key, change] : changes) {
    const std::int64_t measure = tally_tables::measure_number(key->measure);
    auto it = std::find_if(amounts.begin(), amounts.end(),
                           [&](const auto& a) { return a.same_cell(key->column, measure); });
    if (it == amounts.end()) it = amounts.insert(amounts.end(), {key->column, measure, 0});
    it->value = tally::delta::checked_sum(it->value, change);
    if (it->value == 0) amounts.erase(it);
  }
  if (!amounts.empty()) {
    const std::string packed = tally_tables::pack(amounts);
    bind_row(set_row_sql).bind(4, sqlite::as_blob(packed)).run();
  } else if (stored) {
    bind_row(drop_row_sql).run();
  }
}

}  // namespace

void write_delta(sqlite::database& db, sqlite::name_table& labels, tally::delta& d) {
  labels.refresh();
  for (const auto& [who, change] : d.persons())
    if (std::any_of(change.begin(), change.end(), [](const auto& c) { return c.second != 0; }))
      write_person(db, labels, d, who, change);
  // The batch's changes by row, each row read and written once.
  std::map<row_key, std::vector<std::pair<const tally_key*, std::int64_t>>> rows;
  for (const auto& [key, amount] : d.amounts())
    if (amount != 0)
      rows[{key.tally, tally_tables::period_number(key.period), key.path}].emplace_back(&key,
                                                                                        amount);
  for (const auto& [row, changes] : rows) write_row(db, row, changes);
  d.clear();
}

}  // namespace haven::server

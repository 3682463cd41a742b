#include "tally_delta.hpp"

#include <algorithm>
#include <set>

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

[[noreturn]] void lost_track() {
  throw failure(errc::store,
                "store: the tally retracted what it never counted (reset and replay it)");
}

// a + b, refusing what a 64-bit tally cannot hold (values are bounded by the
// schema, so only a store of absurd sums gets here).
std::int64_t checked_sum(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out))
    throw failure(errc::invalid_input,
                  "refused: a tally sum would pass the largest number a tally holds (" +
                      std::to_string(a) + " + " + std::to_string(b) +
                      "); nothing of this push was saved");
  return out;
}

// Binds a cell's tally, period, path, col and measure as ?1-?5.
sqlite::statement& cell_statement(sqlite::database& db, const char* sql, const tally_key& key) {
  auto& st = db.cached(sql);
  st.bind(1, std::int64_t{key.tally}).bind(2, tally_tables::period_number(key.period));
  st.bind(3, std::string_view(key.path)).bind(4, std::string_view(key.column));
  st.bind(5, tally_tables::measure_number(key.measure));
  return st;
}

}  // namespace

bool tally_delta::is_leaf(const tally_key& key) const {
  const tally_def& t = tallies_[key.tally];
  const auto depth = static_cast<std::size_t>(std::count(key.path.begin(), key.path.end(), '/'));
  return depth == t.rows.size() && (key.column == all_columns) != t.column.has_value();
}

// Record counts and numbers of persons are never negative; a sum may be.
bool tally_delta::counts_up(const tally_key& key) const {
  return key.measure == records_measure ||
         tallies_[key.tally].measures[key.measure].kind == measure_kind::distinct;
}

void tally_delta::add(const tally_contribution& c, std::int64_t sign) {
  for (const auto& [key, amount] : c.amounts) {
    std::int64_t& sum = amounts_[key];
    sum = checked_sum(sum, sign * amount);
  }
  for (const auto& [key, person] : c.persons)
    if (is_leaf(key))
      persons_[{key.tally, key.measure, person}][{key.period, key.path, key.column}] += sign;
}

void tally_delta::write(sqlite::database& db) {
  for (const auto& [who, change] : persons_)
    if (std::any_of(change.begin(), change.end(), [](const auto& c) { return c.second != 0; }))
      write_person(db, who, change);
  for (const auto& [key, amount] : amounts_) {
    if (amount == 0) continue;
    if (amount > 0 && counts_up(key)) {  // cannot reach 0: one statement
      cell_statement(db, add_amount_sql, key).bind(6, amount).run();
      continue;
    }
    auto& read = cell_statement(db, read_amount_sql, key);
    const std::int64_t was = read.step() ? read.integer(0) : 0;
    read.reset();
    const std::int64_t now = checked_sum(was, amount);
    auto& write = cell_statement(db, now == 0 ? drop_amount_sql : set_amount_sql, key);
    if (now != 0) write.bind(6, now);
    write.run();
  }
  amounts_.clear();
  persons_.clear();
}

// Reads the person's leaves, applies the change, and counts the person in or
// out of each cell at any level that they enter or leave.
void tally_delta::write_person(sqlite::database& db, const person_key& who,
                               const std::map<leaf, std::int64_t>& change) {
  const auto tally = std::int64_t{who.tally}, measure = tally_tables::measure_number(who.measure);
  std::map<leaf, std::int64_t> before;
  auto& st = db.cached(read_person_sql)
                 .bind(1, tally)
                 .bind(2, measure)
                 .bind(3, std::string_view(who.person));
  while (st.step())
    before[{tally_tables::period_of_number(st.integer(0)), st.text(1), st.text(2)}] = st.integer(3);

  std::set<tally_period> periods;
  std::map<leaf, std::int64_t> after = before;
  for (const auto& [l, n] : change) {
    if (n == 0) continue;
    periods.insert(l.period);
    const std::int64_t now = (after[l] += n);
    if (now < 0) lost_track();
    if (now == 0) after.erase(l);
  }
  // The cells the person is in, within the periods that change.
  auto cells = [&](const std::map<leaf, std::int64_t>& leaves) {
    std::set<tally_key> out;
    for (const auto& [l, n] : leaves) {
      if (!periods.count(l.period)) continue;
      for (std::size_t end = 0;;) {
        const std::string prefix = l.path.substr(0, end);
        out.insert({who.tally, l.period, prefix, l.column, who.measure});
        out.insert({who.tally, l.period, prefix, std::string(all_columns), who.measure});
        if (end == l.path.size()) break;
        end = l.path.find('/', end) + 1;
      }
    }
    return out;
  };
  const auto was = cells(before), is = cells(after);
  for (const auto& key : is)
    if (!was.count(key)) amounts_[key] += 1;
  for (const auto& key : was)
    if (!is.count(key)) amounts_[key] -= 1;

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

}  // namespace haven::server

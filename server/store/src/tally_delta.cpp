#include "tally_delta.hpp"

#include <algorithm>
#include <cstdint>
#include <haven/core/result.hpp>
#include <haven/core/varint.hpp>
#include <haven/schema/schema.hpp>
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
    "SELECT leaves FROM tally_person WHERE tally = ?1 AND measure = ?2 AND person = ?3";
constexpr const char* set_person_sql =
    "INSERT INTO tally_person(tally, measure, person, leaves) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT DO UPDATE SET leaves = excluded.leaves";
constexpr const char* drop_person_sql =
    "DELETE FROM tally_person WHERE tally = ?1 AND measure = ?2 AND person = ?3";

[[noreturn]] void damaged_leaves(const std::string& what) {
  throw failure(errc::store, "store: a tally row of persons is damaged (" + what +
                                 "); reset and replay the tally");
}

// A person's leaves as tally_tables describes them: per leaf, its period
// as a difference from the previous leaf's, its path's and column's label
// ids and its count.
std::string pack_leaves(sqlite::name_table& labels, const tally::delta::leaf_counts& leaves) {
  std::string out;
  varint::writer w(out);
  std::int64_t period = 0;
  for (const auto& [l, n] : leaves) {
    const std::int64_t p = tally_tables::period_number(l.period);
    w.signed_varint(p - period);
    period = p;
    w.varint(static_cast<std::uint64_t>(labels.intern(l.path)));
    w.varint(static_cast<std::uint64_t>(labels.intern(l.column)));
    w.varint(static_cast<std::uint64_t>(n));
  }
  return out;
}

// Throws failure(errc::store) for bytes pack_leaves did not write.
tally::delta::leaf_counts unpack_leaves(const sqlite::name_table& labels,
                                        std::span<const std::uint8_t> bytes) {
  tally::delta::leaf_counts out;
  varint::reader<damaged_leaves> r(sqlite::as_chars(bytes));
  std::int64_t period = 0;
  const auto label = [&]() -> const std::string& {
    const std::uint64_t id = r.varint();
    if (id > std::uint64_t{INT64_MAX}) damaged_leaves("a label id out of range");
    const std::string* name = labels.find(static_cast<std::int64_t>(id));
    if (!name) damaged_leaves("a label id the store never gave");
    return *name;
  };
  while (r.remaining() > 0) {
    const std::int64_t step = r.signed_varint();
    if (step < 0 || step > 100'000'000 || period + step > 100'000'000)
      damaged_leaves("periods out of order");
    period += step;
    const tally_period p = tally_tables::period_of_number(period);
    if (p.month < 1 || p.month > 12) damaged_leaves("a leaf outside a month");
    const std::string& path = label();
    const std::string& column = label();
    const std::uint64_t n = r.varint();
    // No leaf counts more records than a store holds: a sum with it cannot overflow.
    if (n == 0 || n > std::uint64_t{max_integer_magnitude}) damaged_leaves("a count out of range");
    if (!out.emplace(tally::delta::leaf{p, path, column}, static_cast<std::int64_t>(n)).second)
      damaged_leaves("a leaf twice");
  }
  return out;
}

// Reads the person's stored leaves, lets the delta count them in or out of
// the cells they enter or leave, and writes them back as one row.
void write_person(sqlite::database& db, sqlite::name_table& labels, tally::delta& d,
                  const tally::delta::person_key& who) {
  const auto bind_person = [&](const char* sql) -> sqlite::statement& {
    auto& st = db.cached(sql);
    st.bind(1, std::int64_t{who.tally})
        .bind(2, tally_tables::measure_number(who.measure))
        .bind(3, std::string_view(who.person));
    return st;
  };
  tally::delta::leaf_counts before;
  auto& read = bind_person(read_person_sql);
  const bool stored = read.step();
  if (stored) before = unpack_leaves(labels, read.blob(0));
  read.reset();
  const auto after = d.apply_person(who, before);
  if (!after.empty())
    bind_person(set_person_sql).bind(4, sqlite::as_blob(pack_leaves(labels, after))).run();
  else if (stored)
    bind_person(drop_person_sql).run();
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
      write_person(db, labels, d, who);
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

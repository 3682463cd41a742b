#include "tally_delta.hpp"

#include <algorithm>
#include <cstdint>
#include <haven/core/result.hpp>
#include <haven/core/varint.hpp>
#include <haven/schema/schema.hpp>
#include <span>
#include <string>
#include <tuple>
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
constexpr const char* read_person_sql = "SELECT leaves FROM tally_person WHERE person = ?1";
constexpr const char* set_person_sql =
    "INSERT INTO tally_person(person, leaves) VALUES (?1, ?2) "
    "ON CONFLICT DO UPDATE SET leaves = excluded.leaves";
constexpr const char* drop_person_sql = "DELETE FROM tally_person WHERE person = ?1";

[[noreturn]] void damaged_leaves(const std::string& what) {
  throw failure(errc::store, "store: a tally row of persons is damaged (" + what +
                                 "); reset and replay the tally");
}

// A person's leaves as tally_tables describes them: per leaf, its tally and
// measure, its period as a difference from the previous leaf's, its path's
// and column's label ids and its count.
std::string pack_leaves(tally_labels& labels, const tally::delta::leaf_counts& leaves) {
  std::string out;
  varint::writer w(out);
  std::int64_t period = 0;
  for (const auto& [l, n] : leaves) {
    w.varint(l.tally);
    w.varint(l.measure);
    w.signed_varint(l.period - period);
    period = l.period;
    w.varint(static_cast<std::uint64_t>(labels.label_of(l.path)));
    w.varint(static_cast<std::uint64_t>(labels.label_of(l.column)));
    w.varint(static_cast<std::uint64_t>(n));
  }
  return out;
}

// Throws failure(errc::store) for bytes pack_leaves did not write: also a
// leaf of no distinct measure of the schema, or of a cell its tally lacks.
tally::delta::leaf_counts unpack_leaves(tally_labels& labels, const tally::cell_names& names,
                                        const schema& s, std::span<const std::uint8_t> bytes) {
  tally::delta::leaf_counts out;
  varint::reader<damaged_leaves> r(sqlite::as_chars(bytes));
  std::int64_t period = 0;
  const auto label = [&] {
    const std::uint64_t id = r.varint();
    if (id > std::uint64_t{INT64_MAX}) damaged_leaves("a label id out of range");
    const auto number = labels.number_of(static_cast<std::int64_t>(id));
    if (!number) damaged_leaves("a label id the store never gave, or of no cell");
    return *number;
  };
  while (r.remaining() > 0) {
    tally::cell_key l;
    const std::uint64_t tally = r.varint(), measure = r.varint();
    if (tally >= s.tallies().size() || measure >= s.tallies()[tally].measures.size() ||
        s.tallies()[tally].measures[measure].kind != measure_kind::distinct)
      damaged_leaves("a leaf of no distinct measure");
    l.tally = static_cast<std::uint32_t>(tally);
    l.measure = static_cast<std::uint32_t>(measure);
    const std::int64_t step = r.signed_varint();
    if (step < -100'000'000 || step > 100'000'000 || period + step < 0 ||
        period + step > 100'000'000)
      damaged_leaves("a period out of range");
    period += step;
    l.period = static_cast<std::int32_t>(period);
    if (const int month = tally::tally_period::month_of(l.period); month < 1 || month > 12)
      damaged_leaves("a leaf outside a month");
    l.path = label();
    l.column = label();
    // A leaf: a full row path, and a column code (all columns without a column field).
    const tally_def& t = s.tallies()[tally];
    const bool column_code = l.column == tally::cell_names::grand_total || !names.is_path(l.column);
    if (!names.is_path(l.path) || names.depth(l.path) != t.rows.size() ||
        (t.column ? !column_code : l.column != tally::cell_names::every_column))
      damaged_leaves("a leaf of a cell its tally lacks");
    const std::uint64_t n = r.varint();
    // No leaf counts more records than a store holds: a sum with it cannot overflow.
    if (n == 0 || n > std::uint64_t{max_integer_magnitude}) damaged_leaves("a count out of range");
    out.emplace_back(l, static_cast<std::int64_t>(n));
  }
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.first == b.first;
      }) != out.end())
    damaged_leaves("a leaf twice");
  return out;
}

// Reads the person's stored leaves, lets the delta count them in or out of
// the cells they enter or leave, and writes them back as one row.
void write_person(sqlite::database& db, tally_labels& labels, const tally::cell_names& names,
                  const schema& s, tally::delta& d, std::string_view who) {
  tally::delta::leaf_counts before;
  auto& read = db.cached(read_person_sql).bind(1, who);
  const bool stored = read.step();
  if (stored) before = unpack_leaves(labels, names, s, read.blob(0));
  read.reset();
  const auto after = d.apply_person(who, before);
  if (after == before) return;
  if (!after.empty())
    db.cached(set_person_sql)
        .bind(1, who)
        .bind(2, sqlite::as_blob(pack_leaves(labels, after)))
        .run();
  else if (stored)
    db.cached(drop_person_sql).bind(1, who).run();
}

// A cell's change of amount.
using amount_change = std::pair<tally::cell_key, std::int64_t>;

// Adds the changes, all in one tally_value row (one path of one tally in
// one period), to the row's stored amounts and writes it once.
void write_row(sqlite::database& db, const tally::cell_names& names,
               std::span<const amount_change> changes) {
  const tally::cell_key& row = changes.front().first;
  const auto bind_row = [&](const char* sql) -> sqlite::statement& {
    auto& st = db.cached(sql);
    st.bind(1, std::int64_t{row.tally})
        .bind(2, std::int64_t{row.period})
        .bind(3, std::string_view(names.name(row.path)));
    return st;
  };
  tally_tables::packed_amounts amounts;
  auto& read = bind_row(read_row_sql);
  const bool stored = read.step();
  if (stored) amounts = tally_tables::unpack(read.blob(0));
  read.reset();
  for (const auto& [cell, change] : changes) {
    const std::string& column = names.name(cell.column);
    const std::int64_t measure = tally_tables::measure_number(cell.measure);
    auto it = std::find_if(amounts.begin(), amounts.end(),
                           [&](const auto& a) { return a.same_cell(column, measure); });
    if (it == amounts.end()) it = amounts.insert(amounts.end(), {std::string(column), measure, 0});
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

void write_delta(sqlite::database& db, tally_labels& labels, const tally::cell_names& names,
                 const schema& s, tally::delta& d) {
  labels.refresh();
  for (const std::string_view who : d.persons()) write_person(db, labels, names, s, d, who);
  // The batch's changes by row, each row read and written once.
  std::vector<amount_change> changes;
  changes.reserve(d.amounts().size());
  for (const auto& entry : d.amounts())
    if (entry.second != 0) changes.push_back(entry);
  // By row, and in a row by column and measure: a row's bytes do not depend on the hash's order.
  const auto row_of = [](const tally::cell_key& k) { return std::tie(k.tally, k.period, k.path); };
  std::sort(changes.begin(), changes.end(), [](const auto& a, const auto& b) {
    const auto& [x, y] = std::tie(a.first, b.first);
    return std::tie(x.tally, x.period, x.path, x.column, x.measure) <
           std::tie(y.tally, y.period, y.path, y.column, y.measure);
  });
  for (auto first = changes.begin(); first != changes.end();) {
    const auto last = std::find_if(first, changes.end(), [&](const auto& c) {
      return row_of(c.first) != row_of(first->first);
    });
    write_row(db, names, {first, last});
    first = last;
  }
}

}  // namespace haven::server

#pragma once
// What one record adds to the declared tallies: the pure half of the
// incremental tally (no SQL, clock or I/O). Its rules head contribution.cpp;
// the test oracle in tests/support/tally_oracle.hpp restates them.

#include <compare>
#include <cstdint>
#include <haven/schema/schema.hpp>
#include <haven/tally/cell_names.hpp>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace haven::tally {

// A reporting period: a calendar year (month 0) or one month of a year.
struct tally_period {
  int year = 0;
  int month = 0;  // 1-12, or 0 for the whole year

  // "2026" or "2026-03".
  std::string key() const;
  // 202600 for the year 2026, 202603 for March 2026, and back.
  std::int32_t number() const { return year * 100 + month; }
  static tally_period of_number(std::int32_t n) { return {n / 100, month_of(n)}; }
  // Of a period's number: its month (0 for a year), and its year's number.
  static constexpr int month_of(std::int32_t n) { return n % 100; }
  static constexpr std::int32_t year_number_of(std::int32_t n) { return n - month_of(n); }
  auto operator<=>(const tally_period&) const = default;
};

// The column of the cells that add up every column.
inline constexpr std::string_view all_columns = "*";
// The measure index of the number of records in a cell. Every count measure
// shows it, and a cell is empty exactly when it is 0.
inline constexpr std::uint32_t records_measure = 0xffffffff;

// One number of one tally: a measure in one cell of one period.
struct tally_key {
  std::uint32_t tally = 0;  // index in schema::tallies()
  tally_period period;
  // The codes of a prefix of the row fields, each followed by '/';
  // "" is the grand total, "crisis-accommodation/SI/" a leaf.
  std::string path;
  std::string column;                       // a code of the column field, or all_columns
  std::uint32_t measure = records_measure;  // index in tally_def::measures, or records_measure

  auto operator<=>(const tally_key&) const = default;
};

// One record's contribution to every tally, canonical: equal inputs give
// equal contributions.
struct tally_contribution {
  // Count (records_measure) and sum measures: non-zero amounts only.
  std::map<tally_key, std::int64_t> amounts;
  // Distinct measures: the record's pseudonym in each month's leaf cell it
  // counts in (a full row path, one column code; all_columns without a
  // column field). It is in every cell above them and in their years.
  std::set<std::pair<tally_key, std::string>> persons;
  // True if it would differ for another month of `today` (an open stay).
  bool depends_on_today = false;

  bool empty() const { return amounts.empty() && persons.empty(); }
};

// The contribution of a live record of `type` with `fields`, as of `today`.
// Empty for a type no tally counts. Never throws but bad_alloc.
tally_contribution contribution_of(const schema& s, std::string_view type, const field_map& fields,
                                   date today);

// A tally_key with its path and column numbered by a cell_names, as the
// engine's hot path counts: ordered by tally, measure, period, path, column.
struct cell_key {
  std::uint32_t tally = 0;
  std::uint32_t measure = records_measure;
  std::int32_t period = 0;  // tally_period::number(), never negative
  std::uint32_t path = 0, column = 0;

  bool operator==(const cell_key&) const = default;
  // Member by member, as three integer compares: the engine sorts many.
  std::strong_ordering operator<=>(const cell_key& o) const {
    if (const auto c = head() <=> o.head(); c != 0) return c;
    if (const auto c = place() <=> o.place(); c != 0) return c;
    return column <=> o.column;
  }

 private:
  std::uint64_t head() const { return std::uint64_t{tally} << 32 | measure; }
  std::uint64_t place() const {
    return std::uint64_t{static_cast<std::uint32_t>(period)} << 32 | path;
  }
};

// contribution_of's contribution with numbered cells, as a list: each
// amount's cell once, each person's leaf once.
struct record_cells {
  std::vector<std::pair<cell_key, std::int64_t>> amounts;
  // Views of the pseudonyms in the fields counted: valid while they are.
  std::vector<std::pair<cell_key, std::string_view>> persons;
  bool depends_on_today = false;
};

// The contribution of contribution_of, its paths and columns numbered by
// `names`. Never throws but bad_alloc.
record_cells count_cells(const schema& s, std::string_view type, const field_map& fields,
                         date today, cell_names& names);

// The fields of `type` that its tallies read, sorted: the contribution
// depends on these fields only.
std::vector<std::string> tally_fields(const schema& s, std::string_view type);

// A canonical text of the schema's declarations that contributions depend
// on (tallies, derived fields), each line starting with "\n": a store that
// keeps it with its tallies knows they need a replay when it changes.
std::string declarations(const schema& s);

}  // namespace haven::tally

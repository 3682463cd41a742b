#pragma once
// Private to tally_book: the tally_* tables and how they encode the cells.
//
//   tally_open(record, today): the records whose contribution depends on
//     today (open stays), by their integer id in the store, with the day
//     their contribution was computed for. The book keeps no other state of
//     a record: the store's cells are its fields, changed in the same
//     transaction, so a change's state before is what the book counted.
//   tally_value(tally, period, path, amounts): the amounts of one row of
//     cells (a row path, at every level) in one period, packed: each
//     column's measures (see packed_amounts); amounts of 0 are left out and
//     a row without amounts is deleted. A distinct measure's amount is the
//     number of persons in the cell. A record moves a handful of rows per
//     tally, each written once per batch, where a row per amount took one
//     write per column and measure.
//   tally_person(person, leaves): for each person (a pseudonym) and every
//     distinct measure of every tally, how many records put the person in
//     each LEAF cell (full row path, one column code; all_columns without a
//     column field) of a MONTH, packed: per leaf, its tally and measure, its
//     period as a difference from the previous leaf's, the path's and the
//     column's tally_label ids and the count, varints (a step may be
//     negative: the order is of cell numbers, which are one process's, so a
//     reader sorts the leaves again); leaves of 0 are left out and a person
//     without leaves is deleted. A person is in a cell above the leaves, or in a year's
//     cell, exactly when some month leaf below it holds the person, so one
//     read of a person's row tells which cells they enter or leave in every
//     tally, and one write keeps it (engine 3 kept a row per leaf, engine 4
//     a row per tally and measure: a read and a write each).
//   tally_label(id, name): the row paths and column codes of tally_person's
//     leaves, each once (a few dozen), so that a leaf takes a few bytes.
//
// tally is the index in schema::tallies() and measure the index in the
// tally's measures or records_column; both stay valid because the book must
// be reset whenever the declarations change (tally_book::needs_replay).

#include <cstdint>
#include <haven/tally/contribution.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace haven::server {

// The tally engine's names, as the private parts of the book use them.
using tally::all_columns;
using tally::count_cells;
using tally::records_measure;
using tally::tally_fields;
using tally::tally_period;

}  // namespace haven::server

namespace haven::server::tally_tables {

inline constexpr const char* create_sql = R"(
CREATE TABLE IF NOT EXISTS tally_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tally_open(record INTEGER PRIMARY KEY, today INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tally_value(
  tally INTEGER NOT NULL, period INTEGER NOT NULL, path TEXT NOT NULL, amounts BLOB NOT NULL,
  PRIMARY KEY (tally, period, path)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tally_person(person TEXT PRIMARY KEY, leaves BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tally_label(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
)";

// One amount of a tally_value row: a column code and a measure number.
struct packed_amount {
  std::string column;
  std::int64_t measure = 0;
  std::int64_t value = 0;
  bool same_cell(std::string_view c, std::int64_t m) const { return column == c && measure == m; }
};
// A row's amounts, none 0, in the order they were first counted.
using packed_amounts = std::vector<packed_amount>;
// Varints: the column's length and bytes, then the measure and the value,
// zigzagged.
std::string pack(const packed_amounts& amounts);
// Throws failure(errc::store) for bytes pack did not write.
packed_amounts unpack(std::span<const std::uint8_t> bytes);

// The measure number of records_measure.
inline constexpr std::int64_t records_column = -1;

inline std::int64_t measure_number(std::uint32_t measure) {
  return measure == records_measure ? records_column : std::int64_t{measure};
}

}  // namespace haven::server::tally_tables

#pragma once
// The tally test oracle: every tally recomputed from scratch over a list of
// merged records, by plain loops over records and sets of record ids and
// persons per cell, sharing no code with the incremental tally (tally_book,
// contribution_of). It reads only the schema's declarations.
//
// The rules it restates (see tally/include/haven/tally/contribution.hpp):
// a record counts in a report's period when its date falls in it ("date"), or
// its stay [from, to] (to = today while open, never before from) overlaps it
// ("period"); care days (a sum of the derived days between the period's own
// dates) are the days of [from, to) inside the period, a stay shorter than
// the derived minimum giving that minimum to the period of `from`, an open
// stay giving 0; a set field puts the record under each element; an empty
// field under ""; a cell is non-empty when a record counts in it.

#include <haven/schema/schema.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace haven::test {

// A merged record as the server holds it.
struct oracle_record {
  std::string id;
  std::string type;
  field_map fields;
  bool deleted = false;
};

// A cell: the codes of a row prefix ({} is the grand total) and a column code
// (nullopt: all columns together).
struct oracle_cell_key {
  std::vector<std::string> row;
  std::optional<std::string> column;
  auto operator<=>(const oracle_cell_key&) const = default;
};

using oracle_values = std::map<std::string, double>;  // by measure id
using oracle_cell_map = std::map<oracle_cell_key, oracle_values>;

// Every non-empty cell of tally `t` for `year` (or one `month` of it), at
// every level: each row prefix, per column code and for all columns.
oracle_cell_map oracle_all_cells(const schema& s, const tally_def& t,
                                 const std::vector<oracle_record>& records, date today, int year,
                                 std::optional<int> month);

// The non-empty leaf cells, as a report's "cells" lists them: full row
// paths, with a column code when the tally has a column field, else nullopt.
oracle_cell_map oracle_cells(const schema& s, const tally_def& t,
                             const std::vector<oracle_record>& records, date today, int year,
                             std::optional<int> month);

// The grand total (zeros when nothing counts).
oracle_values oracle_total(const schema& s, const tally_def& t,
                           const std::vector<oracle_record>& records, date today, int year,
                           std::optional<int> month);

// Checks a tally_book report (its JSON) against the oracle: "cells",
// "total", every "table" row with its "by_column" and "total" (and that
// subtotal rows precede their children), and "column_totals". Returns ""
// when they agree, otherwise what differs.
std::string compare_report(const std::string& report_json, const schema& s, const tally_def& t,
                           const std::vector<oracle_record>& records, date today, int year,
                           std::optional<int> month);

}  // namespace haven::test

#pragma once
// A tally's report for one period, made from the amounts a tally store holds
// and shown as JSON or CSV: the rendering half of the tally, with no storage.
// Pure; a report is a plain value.

#include <cstdint>
#include <haven/core/result.hpp>
#include <haven/schema/schema.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace haven::tally {

// One amount a store holds for a period of a tally: a measure in one cell.
struct stored_amount {
  std::string path;           // row codes, each followed by '/'; "" is the grand total
  std::string column;         // a column code, or all_columns
  std::uint32_t measure = 0;  // index in tally_def::measures, or records_measure
  std::int64_t value = 0;
};

// One period of one tally: every level and column, ordered for display.
class period_report {
 public:
  // The report of tally `t` of `s` for `year`, or one `month` (1-12) of it,
  // from the amounts stored for that period. Amounts of measures the tally
  // does not declare are ignored. Throws failure(errc::invalid_input) for a
  // year outside 1-9999 or a month outside 1-12. `t` must outlive the report.
  period_report(const schema& s, const tally_def& t, int year, std::optional<int> month,
                const std::vector<stored_amount>& amounts);

  const tally_def& def() const { return *def_; }
  // The schema the report was made with, and its labels.
  const schema& definitions() const { return *schema_; }
  const haven::labels& labels() const { return schema_->labels(); }
  // "2026" or "2026-03".
  const std::string& period() const { return period_; }
  int year() const { return year_; }
  std::optional<int> month() const { return month_; }
  // The non-empty row paths in display order, each subtotal before its children:
  // codes as the schema lists them, unknown codes after them by name, "" (not recorded) last.
  const std::vector<std::string>& rows() const { return rows_; }
  // The column codes present, in the same order.
  const std::vector<std::string>& columns() const { return columns_; }
  // Whether the cell holds any record.
  bool has(const std::string& path, std::string_view column) const;
  // The records counted in a cell; 0 for an empty cell.
  std::int64_t records(const std::string& path, std::string_view column) const;
  // The measures of a cell in declaration order, by measure id; zeros for an empty cell.
  std::vector<std::pair<std::string, std::int64_t>> values(const std::string& path,
                                                           std::string_view column) const;

 private:
  using amounts = std::map<std::string, std::int64_t, std::less<>>;  // by measure id, "#" = records
  const amounts* find(const std::string& path, std::string_view column) const;

  const schema* schema_;
  const tally_def* def_;
  std::string period_;
  int year_;
  std::optional<int> month_;
  // by row path, then column (all_columns for the total over columns)
  std::map<std::string, std::map<std::string, amounts, std::less<>>, std::less<>> cells_;
  std::vector<std::string> rows_;
  std::vector<std::string> columns_;
};

// How a report is shown: in which language, and every figure (the internal
// view, k = 0) or the public view, in which every measure of a `hidden` cell
// shows as "<k".
struct report_view {
  language lang = language::en;
  std::int64_t k = 0;
  std::set<std::pair<std::string, std::string>, std::less<>> hidden;  // (row path, column)
  // The audit that let it be published: the hidden figures of every tally of
  // the period, and the least range of values any of them could take
  // (nullopt: none has an upper bound).
  std::size_t hidden_figures = 0;
  std::optional<double> narrowest;

  bool is_public() const { return k > 0; }
  bool hides(const std::string& path, std::string_view column) const;
};

// The label of a table line in `lang`: its last code's ("" and the grand
// total's path "" are words: not recorded, total).
std::string row_label(const period_report& r, language lang, const std::string& path);
// The label of a column code in `lang`; all_columns is the word total.
std::string column_label(const period_report& r, language lang, std::string_view column);

// "a/b/" -> {"a", "b"}
std::vector<std::string> codes_of_path(std::string_view path);

// The report as JSON, codes for machines and labels in the view's language
// for people:
//   {"id", "title", "lang", "type", "period": "2026" | "2026-03", "year", "month": n | null,
//    "rows": [row field keys], "row_labels": [their labels], "total_label" ("Total"),
//    "subtotal_label" ("Subtotal"),
//    "column": field key | null, "column_label": its label | null,
//    "measures": [{"id", "title", "kind", "field"}],
//    "columns": [{"code", "label"}] (the column codes present, in code order),
//    "cells": [{"row": [codes], "column": code | null, "values": {measure: n}}]
//      (every non-empty leaf cell; "column" is null when there is no column field),
//    "total": {measure: n},
//    "table": [{"row": [codes], "labels": [their labels], "label" (the last one's), "depth",
//               "subtotal", "by_column": {code: {measure: n}}, "total": {measure: n}}]
//      (subtotal rows before their children; by_column only with a column
//      field, holding every present column),
//    "column_totals": {code: {measure: n}},
//    "view": {"name": "internal"} | {"name": "public", "k", "hidden_cells",
//             "audit": {"passed": true, "hidden_figures", "narrowest_range"}}}
// The code "" stands for an empty field, labelled "Not recorded". In the
// public view a hidden cell's every measure is the string "<k".
std::string to_json(const period_report& r, const report_view& view = {});

// The report as CSV for a spreadsheet (RFC 4180 quoting, "\n" line ends), in
// the view's language: a header of the row fields' labels, then "Column:
// Measure" for each column and measure and "Total: Measure" for each measure
// (without a column field: the measures' labels); one line per table row
// with its codes' labels, a subtotal's first missing field saying
// "Subtotal"; a last line "Total". A hidden cell's figures are "<k"; a last
// line says the view ("view,internal" or "view,public,k=K,..."). Text cells
// are made safe for a spreadsheet: control characters escaped, and one
// beginning with = + - @ tab or CR prefixed with ' (OWASP).
std::string to_csv(const period_report& r, const report_view& view = {});

// The report as a long CSV of codes, for a machine (the Eurostat return):
// a header "period,ROW FIELD...,COLUMN FIELD,measure,value,flag" and a line
// per measure of every cell of the full grid: each row field's codes (the
// declared codes of a code, set, boolean or mapped field; a country field's
// codes present), "" for not recorded when present and TOTAL for all,
// crossed likewise with the column's. A figure no record counts in is 0. A
// figure that is not known has no value: flag "c" (confidential) for a cell
// the public view hides, "m" (missing) for a mapped code the schema cannot
// record (nothing maps to it, e.g. STLS). A last line names the view, as
// to_csv's.
std::string to_codes_csv(const period_report& r, const report_view& view = {});

// Row paths of tally `t` in display order: codes as the schema lists them,
// unknown codes after them by name, "" (not recorded) last, each subtotal
// before its children.
std::vector<std::string> display_order(const schema& s, const tally_def& t,
                                       const std::set<std::string>& paths);

// One tally's reports of consecutive years side by side (each year's total
// over columns), shown as `views` (one each):
//   {"id", "title", "lang", "rows", "row_labels", "total_label", "subtotal_label",
//    "measures", "years": [y...],
//    "table": [{"row", "labels", "label", "depth", "subtotal",
//               "by_year": {"YYYY": {measure: n | "<k"}}}], "total": {"YYYY": {...}}, "view"}
// and as CSV with a column "YYYY: Measure" per year and measure. Requires:
// 1+ reports of one tally, views.size() == years.size().
std::string years_to_json(const schema& s, const std::vector<period_report>& years,
                          const std::vector<report_view>& views);
std::string years_to_csv(const schema& s, const std::vector<period_report>& years,
                         const std::vector<report_view>& views);

// [{"id", "title", "type"}, ...] of the schema's tallies, in schema order,
// titles in `lang`.
std::string list_json(const schema& s, language lang = language::en);

// errc::not_found for an unknown tally id; the message lists the ids.
error unknown_tally(const schema& s, std::string_view id);

}  // namespace haven::tally

#include "tally_oracle.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <set>
#include <sstream>

namespace haven::test {
namespace {
namespace json = boost::json;

const value* field_value(const oracle_record& r, const std::string& key) {
  auto it = r.fields.find(key);
  if (it == r.fields.end() || is_null(it->second)) return nullptr;
  return &it->second;
}

std::optional<date> date_value(const oracle_record& r, const std::string& key) {
  const value* v = field_value(r, key);
  if (v && std::holds_alternative<date>(*v)) return std::get<date>(*v);
  return std::nullopt;
}

// The codes a value files a record under.
std::set<std::string> codes(const value* v) {
  std::set<std::string> out;
  if (v && std::holds_alternative<code_set>(*v)) {
    for (const auto& c : std::get<code_set>(*v)) out.insert(c);
  } else if (v && std::holds_alternative<bool>(*v)) {
    out.insert(std::get<bool>(*v) ? "true" : "false");
  } else if (v && std::holds_alternative<std::string>(*v)) {
    out.insert(std::get<std::string>(*v));
  } else if (v) {
    out.insert(to_text(*v));
  }
  if (out.empty()) out.insert("");
  return out;
}

// The codes a row or column field files a record under; a mapped field's are
// its source's codes, each looked up in the declared mapping.
std::set<std::string> codes_by(const record_type* type, const oracle_record& r,
                               const std::string& key) {
  const mapped_def* m = type ? type->mapping(key) : nullptr;
  if (!m) return codes(field_value(r, key));
  std::set<std::string> out;
  for (const auto& c : codes(field_value(r, m->source))) {
    if (c.empty())
      out.insert(m->not_recorded.value_or(""));
    else if (m->target_of.count(c))
      out.insert(m->target_of.at(c));
    else
      out.insert(m->otherwise.value_or(c));
  }
  return out;
}

struct report_period {
  date first, last;
  bool contains(date d) const { return first <= d && d <= last; }
};

report_period period_of(int year, std::optional<int> month) {
  if (!month) return {from_civil(year, 1, 1), from_civil(year, 12, 31)};
  const date first = from_civil(year, static_cast<unsigned>(*month), 1);
  const date next = *month == 12 ? from_civil(year + 1, 1, 1)
                                 : from_civil(year, static_cast<unsigned>(*month + 1), 1);
  return {first, date{next.days - 1}};
}

const derived_def* derived_field(const record_type& type, const std::string& key) {
  for (const auto& d : type.derived)
    if (d.key == key) return &d;
  return nullptr;
}

// What one record adds to each cell it is in.
struct record_share {
  std::map<std::string, std::int64_t> sums;    // by measure id
  std::map<std::string, std::string> persons;  // by measure id; absent when none
};

// Measure values of `r` for period `p`, or nullopt if it does not count in `p`.
std::optional<record_share> share_of(const tally_def& t, const record_type& type,
                                     const oracle_record& r, date today, const report_period& p) {
  if (r.deleted || r.type != t.type) return std::nullopt;
  for (const auto& f : t.filter) {
    const auto held = codes(field_value(r, f.field));
    bool ok = false;
    for (const auto& c : f.codes) ok = ok || held.count(c) > 0;
    if (!ok) return std::nullopt;
  }
  std::optional<date> from, to;
  if (!t.dates.is_period()) {
    const auto d = date_value(r, t.dates.date);
    if (!d || !p.contains(*d)) return std::nullopt;
  } else {
    from = date_value(r, t.dates.from);
    if (!from) return std::nullopt;
    to = date_value(r, t.dates.to);
    date end = to ? *to : today;
    if (end < *from) end = *from;
    if (*from > p.last || end < p.first) return std::nullopt;
  }
  record_share share;
  for (const auto& m : t.measures) {
    if (m.kind == measure_kind::distinct) {
      const value* v = field_value(r, m.field);
      if (v && std::holds_alternative<std::string>(*v) && !std::get<std::string>(*v).empty())
        share.persons[m.id] = std::get<std::string>(*v);
    } else if (m.kind == measure_kind::sum) {
      std::int64_t amount = 0;
      if (const derived_def* d = derived_field(type, m.field)) {
        const auto a = date_value(r, d->from), b = date_value(r, d->to);
        if (a && b) {
          const std::int64_t days = b->days - a->days;
          const std::int64_t whole = std::max(d->min, days);
          const bool split = t.dates.is_period() && d->from == t.dates.from && d->to == t.dates.to;
          if (!split) {
            amount = whole;
          } else if (days < d->min) {
            amount = p.contains(*a) ? whole : 0;
          } else {
            for (date day = *a; day < *b; day.days++) amount += p.contains(day) ? 1 : 0;
          }
        }
      } else if (const value* v = field_value(r, m.field);
                 v && std::holds_alternative<std::int64_t>(*v)) {
        amount = std::get<std::int64_t>(*v);
      }
      share.sums[m.id] = amount;
    }
  }
  return share;
}

// Every cell the record is in: the prefixes of each combination of row codes,
// each with every column code and with all columns.
std::set<oracle_cell_key> cells_of(const tally_def& t, const record_type* type,
                                   const oracle_record& r) {
  std::vector<std::vector<std::string>> leaves{{}};
  for (const auto& key : t.rows) {
    std::vector<std::vector<std::string>> longer;
    for (const auto& leaf : leaves)
      for (const auto& c : codes_by(type, r, key)) {
        auto l = leaf;
        l.push_back(c);
        longer.push_back(std::move(l));
      }
    leaves = std::move(longer);
  }
  std::vector<std::optional<std::string>> columns{std::nullopt};
  if (t.column)
    for (const auto& c : codes_by(type, r, *t.column)) columns.emplace_back(c);
  std::set<oracle_cell_key> out;
  for (const auto& leaf : leaves)
    for (std::size_t depth = 0; depth <= leaf.size(); ++depth)
      for (const auto& column : columns)
        out.insert({std::vector<std::string>(leaf.begin(),
                                             leaf.begin() + static_cast<std::ptrdiff_t>(depth)),
                    column});
  return out;
}

struct cell_content {
  std::set<std::string> records;
  std::map<std::string, std::int64_t> sums;
  std::map<std::string, std::set<std::string>> persons;
};

std::string describe(const oracle_cell_key& k) {
  std::string out = "row [";
  for (std::size_t i = 0; i < k.row.size(); ++i) out += (i ? "," : "") + ("\"" + k.row[i] + "\"");
  return out + "] column " + (k.column ? "\"" + *k.column + "\"" : std::string("(all)"));
}

std::string describe(const oracle_values& v) {
  std::string out = "{";
  for (const auto& [id, n] : v)
    out += (out.size() > 1 ? ", " : "") + id + ": " + std::to_string(static_cast<long long>(n));
  return out + "}";
}

oracle_values zeros(const tally_def& t) {
  oracle_values out;
  for (const auto& m : t.measures) out[m.id] = 0;
  return out;
}

oracle_values values_from_json(const json::value& v) {
  oracle_values out;
  for (const auto& [id, n] : v.as_object()) out[std::string(id)] = n.to_number<double>();
  return out;
}

std::vector<std::string> strings_from_json(const json::value& v) {
  std::vector<std::string> out;
  for (const auto& s : v.as_array()) out.emplace_back(s.as_string());
  return out;
}

}  // namespace

oracle_cell_map oracle_all_cells(const schema& s, const tally_def& t,
                                 const std::vector<oracle_record>& records, date today, int year,
                                 std::optional<int> month) {
  const record_type* type = s.type(t.type);
  if (!type) return {};
  const report_period p = period_of(year, month);
  std::map<oracle_cell_key, cell_content> contents;
  for (const auto& r : records) {
    const auto share = share_of(t, *type, r, today, p);
    if (!share) continue;
    for (const auto& cell : cells_of(t, type, r)) {
      cell_content& c = contents[cell];
      c.records.insert(r.id);
      for (const auto& [id, n] : share->sums) c.sums[id] += n;
      for (const auto& [id, person] : share->persons) c.persons[id].insert(person);
    }
  }
  oracle_cell_map out;
  for (const auto& [key, c] : contents) {
    oracle_values& v = out[key];
    for (const auto& m : t.measures) {
      switch (m.kind) {
        case measure_kind::count:
          v[m.id] = static_cast<double>(c.records.size());
          break;
        case measure_kind::sum:
          v[m.id] = c.sums.count(m.id) ? static_cast<double>(c.sums.at(m.id)) : 0;
          break;
        case measure_kind::distinct:
          v[m.id] = c.persons.count(m.id) ? static_cast<double>(c.persons.at(m.id).size()) : 0;
          break;
      }
    }
  }
  return out;
}

oracle_cell_map oracle_cells(const schema& s, const tally_def& t,
                             const std::vector<oracle_record>& records, date today, int year,
                             std::optional<int> month) {
  oracle_cell_map out;
  for (const auto& [key, v] : oracle_all_cells(s, t, records, today, year, month))
    if (key.row.size() == t.rows.size() && key.column.has_value() == t.column.has_value())
      out.emplace(key, v);
  return out;
}

oracle_values oracle_total(const schema& s, const tally_def& t,
                           const std::vector<oracle_record>& records, date today, int year,
                           std::optional<int> month) {
  const auto all = oracle_all_cells(s, t, records, today, year, month);
  auto it = all.find(oracle_cell_key{{}, std::nullopt});
  return it == all.end() ? zeros(t) : it->second;
}

std::string compare_report(const std::string& report_json, const schema& s, const tally_def& t,
                           const std::vector<oracle_record>& records, date today, int year,
                           std::optional<int> month) {
  const oracle_cell_map all = oracle_all_cells(s, t, records, today, year, month);
  auto expected = [&](const oracle_cell_key& k) {
    auto it = all.find(k);
    return it == all.end() ? zeros(t) : it->second;
  };
  std::ostringstream problems;
  int count = 0;
  auto differ = [&](const std::string& what, const oracle_values& got, const oracle_values& want) {
    if (got == want || ++count > 12) return;
    problems << t.id << " " << year << (month ? "-" + std::to_string(*month) : "") << " " << what
             << ": report " << describe(got) << ", oracle " << describe(want) << "\n";
  };

  const json::value doc = json::parse(report_json);
  const json::object& report = doc.as_object();

  // "cells": the non-empty leaves.
  oracle_cell_map listed;
  for (const auto& c : report.at("cells").as_array()) {
    const json::object& cell = c.as_object();
    oracle_cell_key key{strings_from_json(cell.at("row")), std::nullopt};
    if (!cell.at("column").is_null()) key.column = std::string(cell.at("column").as_string());
    listed[key] = values_from_json(cell.at("values"));
  }
  const oracle_cell_map leaves = oracle_cells(s, t, records, today, year, month);
  for (const auto& [key, v] : leaves) {
    auto it = listed.find(key);
    differ("cell " + describe(key), it == listed.end() ? oracle_values{} : it->second, v);
  }
  for (const auto& [key, v] : listed)
    if (!leaves.count(key)) differ("extra cell " + describe(key), v, {});

  differ("total", values_from_json(report.at("total")), expected({{}, std::nullopt}));

  // "column_totals"
  std::set<std::string> columns;
  for (const auto& [key, v] : all)
    if (key.row.empty() && key.column) columns.insert(*key.column);
  std::set<std::string> listed_columns;
  for (const auto& [code, v] : report.at("column_totals").as_object()) {
    listed_columns.insert(std::string(code));
    differ("column total " + std::string(code), values_from_json(v),
           expected({{}, std::string(code)}));
  }
  if (listed_columns != columns && ++count <= 12)
    problems << t.id << ": column_totals lists other columns\n";

  // "table": every non-empty prefix row, subtotals first.
  std::set<std::vector<std::string>> rows, seen;
  for (const auto& [key, v] : all)
    if (!key.row.empty() && !key.column) rows.insert(key.row);
  for (const auto& r : report.at("table").as_array()) {
    const json::object& row = r.as_object();
    const auto codes = strings_from_json(row.at("row"));
    if (codes.size() > 1 && !seen.count(std::vector<std::string>(codes.begin(), codes.end() - 1)) &&
        ++count <= 12)
      problems << t.id << ": table row " << describe({codes, std::nullopt})
               << " comes before its subtotal\n";
    seen.insert(codes);
    if (!rows.count(codes) && ++count <= 12)
      problems << t.id << ": extra table row " << describe({codes, std::nullopt}) << "\n";
    differ("table " + describe({codes, std::nullopt}), values_from_json(row.at("total")),
           expected({codes, std::nullopt}));
    if (!t.column) continue;
    std::set<std::string> shown;
    for (const auto& [code, v] : row.at("by_column").as_object()) {
      shown.insert(std::string(code));
      differ("table " + describe({codes, std::string(code)}), values_from_json(v),
             expected({codes, std::string(code)}));
    }
    for (const auto& [key, v] : all)
      if (key.row == codes && key.column && !shown.count(*key.column))
        differ("table (missing) " + describe(key), {}, v);
  }
  for (const auto& r : rows)
    if (!seen.count(r) && ++count <= 12)
      problems << t.id << ": table lacks row " << describe({r, std::nullopt}) << "\n";
  return problems.str();
}

}  // namespace haven::test

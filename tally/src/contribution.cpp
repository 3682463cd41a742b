// How it works:
// What one record adds to the declared tallies: the pure half of the
// incremental tally. No SQL, no clock, no I/O: the contribution is a function
// of the schema, the record's type and fields, and the date taken as today.
// The tally book of the server store keeps the sum of all records' contributions.
//
// Rules (the test oracle in tests/support/tally_oracle.hpp restates them):
// - A record counts in a tally when the tally counts its type and every
//   filter field holds one of the listed codes.
// - "date": the record counts in the year and the month of that date; with
//   no date it counts nowhere.
// - "period": the record counts in every year and every month that overlaps
//   its stay from `from` to `to`, both days included. While `to` is empty the
//   stay is open and runs to today (an admission after today counts in its
//   own month and year only). With no `from` it counts nowhere. A `to` before
//   `from` counts as a stay of the single day `from`.
// - A sum of a derived field that is the days between the period's own
//   `from` and `to` (care_days) is split across periods: each gets the days
//   of [from, to) that fall in it; a stay shorter than the derived minimum
//   gives the whole derived value to the year and month of `from`; an open
//   stay has no derived value and adds 0. Any other sum adds the record's
//   full value (missing = 0) in every period it counts in.
// - Row and column codes: a code field gives its code, a boolean "true" or
//   "false", a set field each element it holds (the record counts once under
//   each), and an empty field the code "" (shown as "not recorded"). A mapped
//   field gives the code its source field's value maps to (each mapped code
//   of a set once; an empty source its not_recorded code, else ""). A value
//   holding '/', '*' or '%', which no valid code does, is percent-escaped.
// - Every row prefix is a cell too (the empty prefix is the grand total), and
//   each is counted once per column code and once for all columns together,
//   so subtotals and totals count a record, or a person, once.
// - Distinct measures add the record's pseudonym to each cell; a record
//   without one adds none. The contribution names it in the leaf cells of
//   months only (a full row path, one column code; all columns without a
//   column field): a person is in a cell above them, or in a year's cell,
//   exactly when some month leaf below it holds them, since a record counts
//   in the months of every year it counts in.
#include <algorithm>
#include <cstdio>
#include <haven/tally/contribution.hpp>
#include <optional>

namespace haven::tally {
namespace {

const value* find(const field_map& fields, std::string_view key) {
  auto it = fields.find(key);
  return it == fields.end() ? nullptr : &it->second;
}

std::optional<date> date_of(const field_map& fields, std::string_view key) {
  const value* v = find(fields, key);
  if (const date* d = v ? std::get_if<date>(v) : nullptr) return *d;
  return std::nullopt;
}

// A code as a path element: '/' ends an element and "*" is all_columns, so a
// text holding '/', '*' or '%' (never a valid code) is percent-escaped.
std::string element(std::string text) {
  if (text.find_first_of("/*%") == std::string::npos) return text;
  std::string out;
  for (char c : text) {
    if (c == '/')
      out += "%2F";
    else if (c == '*')
      out += "%2A";
    else if (c == '%')
      out += "%25";
    else
      out += c;
  }
  return out;
}

// The codes a field value puts a record under; "" when it is empty.
std::vector<std::string> codes_of(const value* v) {
  if (!v) return {""};
  if (const auto* set = std::get_if<code_set>(v)) {
    if (set->empty()) return {""};
    std::vector<std::string> out;
    for (const auto& code : *set) out.push_back(element(code));
    return out;
  }
  return {element(to_text(*v))};
}

// The codes a row or column field puts a record under: a stored field's, or
// a mapped field's, mapped from its source field.
std::vector<std::string> codes_by(const record_type& type, const field_map& fields,
                                  const std::string& key) {
  const mapped_def* m = type.mapping(key);
  if (!m) return codes_of(find(fields, key));
  const value* source = find(fields, m->source);
  const value mapped = m->map(source ? *source : value{});
  return codes_of(std::holds_alternative<std::monostate>(mapped) ? nullptr : &mapped);
}

bool passes(const tally_def& t, const field_map& fields) {
  for (const auto& f : t.filter) {
    const auto codes = codes_of(find(fields, f.field));
    const bool any = std::any_of(codes.begin(), codes.end(), [&](const std::string& c) {
      return std::find(f.codes.begin(), f.codes.end(), c) != f.codes.end();
    });
    if (!any) return false;
  }
  return true;
}

// A period the record counts in, with its share of a split sum.
struct period_share {
  tally_period period;
  std::int64_t split = 0;
};

date first_day(tally_period p) {
  return from_civil(p.year, static_cast<unsigned>(p.month == 0 ? 1 : p.month), 1);
}
date end_day(tally_period p) {  // the day after the period
  if (p.month == 0 || p.month == 12) return from_civil(p.year + 1, 1, 1);
  return from_civil(p.year, static_cast<unsigned>(p.month + 1), 1);
}

const derived_def* derived_of(const record_type& type, std::string_view key) {
  for (const auto& d : type.derived)
    if (d.key == key) return &d;
  return nullptr;
}

// The derived field that a period tally splits across periods: one of its
// sums that counts the days between the period's own dates.
const derived_def* split_field(const tally_def& t, const record_type& type) {
  if (!t.dates.is_period()) return nullptr;
  for (const auto& m : t.measures) {
    const derived_def* d = m.kind == measure_kind::sum ? derived_of(type, m.field) : nullptr;
    if (d && d->from == t.dates.from && d->to == t.dates.to) return d;
  }
  return nullptr;
}

// Where the record counts: periods in order, years and months mixed.
struct placement {
  std::vector<period_share> periods;
  bool open = false;  // a stay without `to`
};

placement place(const tally_def& t, const record_type& type, const field_map& fields, date today) {
  placement out;
  if (!t.dates.is_period()) {
    if (auto d = date_of(fields, t.dates.date)) {
      const civil_date c = to_civil(*d);
      out.periods.push_back({{c.year, 0}, 0});
      out.periods.push_back({{c.year, static_cast<int>(c.month)}, 0});
    }
    return out;
  }
  const auto from = date_of(fields, t.dates.from);
  if (!from) return out;
  const auto to = date_of(fields, t.dates.to);
  out.open = !to;
  const civil_date a = to_civil(*from), b = to_civil(std::max(*from, to ? *to : today));

  // The split sum: the days of [from, to) in each period, or for a stay
  // shorter than the derived minimum its whole value in the periods of `from`.
  const derived_def* split = split_field(t, type);
  const std::int64_t whole = split ? type.derive(split->key, fields).value_or(0) : 0;
  const bool short_stay = split && to && std::int64_t{to->days} - from->days < split->min;
  auto share = [&](tally_period p) -> std::int64_t {
    if (!split || !to) return 0;
    if (short_stay)
      return p.year == a.year && (p.month == 0 || p.month == static_cast<int>(a.month)) ? whole : 0;
    return std::max(0,
                    std::min(to->days, end_day(p).days) - std::max(from->days, first_day(p).days));
  };
  for (int y = a.year; y <= b.year; ++y) {
    out.periods.push_back({{y, 0}, share({y, 0})});
    const int m0 = y == a.year ? static_cast<int>(a.month) : 1;
    const int m1 = y == b.year ? static_cast<int>(b.month) : 12;
    for (int m = m0; m <= m1; ++m) out.periods.push_back({{y, m}, share({y, m})});
  }
  return out;
}

// Every row path the record counts under, numbered: each prefix of the
// cross product of the row fields' codes, the grand total first and the
// full paths (the leaves) last.
std::vector<std::uint32_t> paths_of(const tally_def& t, const record_type& type,
                                    const field_map& fields, cell_names& names) {
  std::vector<std::uint32_t> all{cell_names::grand_total};
  std::size_t level = 0;  // where the paths of the last level start in `all`
  std::string path;
  for (const auto& key : t.rows) {
    const auto codes = codes_by(type, fields, key);
    const std::size_t end = all.size();
    for (std::size_t i = level; i < end; ++i)
      for (const auto& code : codes) {
        path.assign(names.name(all[i])).append(code).push_back('/');
        all.push_back(names.number(path));
      }
    level = end;
  }
  return all;
}

std::vector<std::uint32_t> columns_of(const tally_def& t, const record_type& type,
                                      const field_map& fields, cell_names& names) {
  std::vector<std::uint32_t> out{cell_names::every_column};
  if (t.column)
    for (const auto& code : codes_by(type, fields, *t.column)) out.push_back(names.number(code));
  return out;
}

// How one measure reads the record.
struct measure_reading {
  std::uint32_t index = 0;
  std::int64_t amount = 0;  // a sum of a stored or unsplit derived field
  bool split = false;       // a sum that takes each period's share
  std::string_view person;  // distinct: the pseudonym, in the fields
};

std::vector<measure_reading> read_measures(const tally_def& t, const record_type& type,
                                           const field_map& fields) {
  const derived_def* split = split_field(t, type);
  std::vector<measure_reading> out;
  for (std::uint32_t i = 0; i < t.measures.size(); ++i) {
    const measure_def& m = t.measures[i];
    measure_reading r;
    r.index = i;
    switch (m.kind) {
      case measure_kind::count:
        continue;  // shown from records_measure
      case measure_kind::sum:
        if (split && m.field == split->key) {
          r.split = true;
        } else if (derived_of(type, m.field)) {
          r.amount = type.derive(m.field, fields).value_or(0);
        } else if (const value* v = find(fields, m.field)) {
          if (const auto* n = std::get_if<std::int64_t>(v)) r.amount = *n;
        }
        break;
      case measure_kind::distinct:
        if (const value* v = find(fields, m.field))
          if (const auto* s = std::get_if<std::string>(v)) r.person = *s;
        if (r.person.empty()) continue;
        break;
    }
    out.push_back(std::move(r));
  }
  return out;
}

void add_tally(record_cells& out, std::uint32_t index, const tally_def& t, const record_type& type,
               const field_map& fields, date today, cell_names& names) {
  if (!passes(t, fields)) return;
  const placement where = place(t, type, fields, today);
  if (where.periods.empty()) return;
  out.depends_on_today = out.depends_on_today || where.open;
  const auto paths = paths_of(t, type, fields, names);
  const auto columns = columns_of(t, type, fields, names);
  const auto readings = read_measures(t, type, fields);

  // Persons only in the month leaves: a full path, one column code (all
  // columns without a column field).
  for (const auto& [period, split] : where.periods) {
    for (const std::uint32_t path : paths) {
      for (std::size_t c = 0; c < columns.size(); ++c) {
        cell_key key{index, records_measure, period.number(), path, columns[c]};
        out.amounts.emplace_back(key, 1);
        const bool leaf =
            period.month != 0 && names.depth(path) == t.rows.size() && (c != 0 || !t.column);
        for (const auto& r : readings) {
          key.measure = r.index;
          if (!r.person.empty()) {
            if (leaf) out.persons.emplace_back(key, r.person);
          } else if (const std::int64_t amount = r.split ? split : r.amount; amount != 0) {
            out.amounts.emplace_back(key, amount);
          }
        }
      }
    }
  }
}

}  // namespace

std::string tally_period::key() const {
  char buf[16];
  if (month == 0)
    std::snprintf(buf, sizeof buf, "%04d", year);
  else
    std::snprintf(buf, sizeof buf, "%04d-%02d", year, month);
  return buf;
}

record_cells count_cells(const schema& s, std::string_view type, const field_map& fields,
                         date today, cell_names& names) {
  record_cells out;
  const record_type* rt = s.type(type);
  if (!rt) return out;
  const auto& tallies = s.tallies();
  for (std::uint32_t i = 0; i < tallies.size(); ++i)
    if (tallies[i].type == type) add_tally(out, i, tallies[i], *rt, fields, today, names);
  return out;
}

tally_contribution contribution_of(const schema& s, std::string_view type, const field_map& fields,
                                   date today) {
  cell_names names;
  const record_cells cells = count_cells(s, type, fields, today, names);
  const auto named = [&](const cell_key& k) {
    return tally_key{k.tally, tally_period::of_number(k.period), names.name(k.path),
                     names.name(k.column), k.measure};
  };
  tally_contribution out;
  for (const auto& [key, amount] : cells.amounts) out.amounts[named(key)] += amount;
  for (const auto& [key, person] : cells.persons) out.persons.emplace(named(key), person);
  out.depends_on_today = cells.depends_on_today;
  return out;
}

std::vector<std::string> tally_fields(const schema& s, std::string_view type) {
  std::set<std::string> keys;
  const record_type* rt = s.type(type);
  for (const auto& t : s.tallies()) {
    if (t.type != type || !rt) continue;
    for (const auto& f : t.filter) keys.insert(f.field);
    const auto read_by = [&](const std::string& key) {
      const mapped_def* m = rt->mapping(key);
      keys.insert(m ? m->source : key);
    };
    for (const auto& key : t.rows) read_by(key);
    if (t.column) read_by(*t.column);
    for (const auto& m : t.measures) {
      if (m.field.empty()) continue;
      if (const derived_def* d = derived_of(*rt, m.field)) {
        keys.insert(d->from);
        keys.insert(d->to);
      } else {
        keys.insert(m.field);
      }
    }
    for (const auto* k : {&t.dates.date, &t.dates.from, &t.dates.to})
      if (!k->empty()) keys.insert(*k);
  }
  return {keys.begin(), keys.end()};
}

std::string declarations(const schema& s) {
  std::string out;
  for (const auto& t : s.tallies()) {
    out += "\ntally " + t.id + " " + t.type + " rows";
    for (const auto& r : t.rows) out += " " + r;
    out += " column " + t.column.value_or("-") + " dates " + t.dates.date + "|" + t.dates.from +
           "|" + t.dates.to;
    for (const auto& f : t.filter) {
      out += " filter " + f.field;
      for (const auto& c : f.codes) out += " " + c;
    }
    for (const auto& m : t.measures)
      out += " measure " + m.id + " " + std::string(to_string(m.kind)) + " " + m.field;
  }
  for (const auto& type : s.types())
    for (const auto& d : type.derived)
      out += "\nderived " + type.name + "." + d.key + " " + d.from + " " + d.to + " " +
             std::to_string(d.min);
  for (const auto& type : s.types())
    for (const auto& m : type.mapped) {
      out += "\nmapped " + type.name + "." + m.field.key + " " + m.source;
      for (const auto& [source, target] : m.target_of) out += " " + source + ">" + target;
      out += " else>" + m.otherwise.value_or("-") + " none>" + m.not_recorded.value_or("-");
    }
  return out;
}

}  // namespace haven::tally

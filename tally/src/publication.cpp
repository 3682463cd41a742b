// The public view: one disclosure::table over the figures of every report,
// a figure shared by two tallies (the same records, cell and measure) being
// one cell of it, with the relations each report's layout implies.
#include <algorithm>
#include <haven/tally/contribution.hpp>
#include <haven/tally/disclosure.hpp>
#include <haven/tally/publication.hpp>
#include <map>
#include <tuple>

namespace haven::tally {
namespace {

namespace dc = disclosure;

// The records a tally counts before its rows and column: its type and
// dating rule, and its filter as conditions (a one-code filter is the same
// condition as a row of that code, so the two tallies' figures are one).
std::string records_key(const tally_def& t) {
  return t.type + "|" + t.dates.date + "|" + t.dates.from + "|" + t.dates.to;
}
std::map<std::string, std::string> filter_conditions(const tally_def& t) {
  std::map<std::string, std::string> where;
  for (const auto& f : t.filter) {
    auto codes = f.codes;
    std::sort(codes.begin(), codes.end());
    std::string any;
    for (const auto& c : codes) any += (any.empty() ? "" : ",") + c;
    where[f.field] = codes.size() == 1 ? any : "{" + any + "}";
  }
  return where;
}

// What a measure adds up, whichever tally declares it.
std::string measure_key(const measure_def& m) {
  return std::string(to_string(m.kind)) + ":" + m.field;
}

bool is_set(const schema& s, const tally_def& t, const std::string& field) {
  const record_type* type = s.type(t.type);
  const field_def* f = type ? type->dimension(field) : nullptr;
  return f && f->is_set();
}

class builder {
 public:
  builder(const schema& s, std::int64_t k) : schema_(s), k_(k) {}

  void add(const period_report& r) {
    const tally_def& t = r.def();
    std::vector<std::string> paths{""};
    paths.insert(paths.end(), r.rows().begin(), r.rows().end());
    std::vector<std::string> columns{std::string(all_columns)};
    columns.insert(columns.end(), r.columns().begin(), r.columns().end());
    const measure_def* persons = nullptr;
    for (const auto& m : t.measures)
      if (m.kind == measure_kind::distinct && !persons) persons = &m;
    const std::string records = records_key(t);

    std::map<std::pair<std::string, std::string>, std::size_t> group_of_cell;
    // The figure of measure `m` in (path, column).
    const auto figure = [&](const std::string& path, const std::string& column, std::size_t m) {
      auto where = filter_conditions(t);  // field -> code: the cell's records
      const auto codes = codes_of_path(path);
      for (std::size_t i = 0; i < codes.size(); ++i) where[t.rows[i]] = codes[i];
      if (column != all_columns) where[*t.column] = column;
      std::string position = records;
      for (const auto& [field, code] : where) position += "|" + field + "=" + code;
      const auto group = groups_.try_emplace(position, groups_.size()).first->second;
      group_of_cell[{path, column}] = group;
      const auto values = r.values(path, column);
      const std::int64_t contributors =
          persons ? std::find_if(values.begin(), values.end(),
                                 [&](const auto& v) { return v.first == persons->id; })
                        ->second
                  : r.records(path, column);
      const auto [it, added] =
          cells_.try_emplace(position + "#" + measure_key(t.measures[m]), table_.cells.size());
      if (added)
        table_.cells.push_back({values[m].second, contributors, group});
      else
        table_.cells[it->second].contributors =
            std::min(table_.cells[it->second].contributors, contributors);
      return it->second;
    };

    for (std::size_t m = 0; m < t.measures.size(); ++m) {
      const bool distinct = t.measures[m].kind == measure_kind::distinct;
      // Each row level adds up its children (bounds them, for persons or a set field).
      for (const auto& parent : paths) {
        const auto depth = codes_of_path(parent).size();
        if (depth >= t.rows.size()) continue;
        const auto kind = distinct || is_set(schema_, t, t.rows[depth]) ? dc::relation_kind::cover
                                                                        : dc::relation_kind::sum;
        for (const auto& column : columns) {
          dc::relation rel{kind, figure(parent, column, m), {}};
          for (const auto& child : r.rows())
            if (child.starts_with(parent) && codes_of_path(child).size() == depth + 1)
              rel.parts.push_back(figure(child, column, m));
          relate(std::move(rel));
        }
      }
      // Each row's total adds up its columns.
      if (t.column) {
        const auto kind = distinct || is_set(schema_, t, *t.column) ? dc::relation_kind::cover
                                                                    : dc::relation_kind::sum;
        for (const auto& path : paths) {
          dc::relation rel{kind, figure(path, std::string(all_columns), m), {}};
          for (const auto& column : r.columns()) rel.parts.push_back(figure(path, column, m));
          relate(std::move(rel));
        }
      }
    }
    // Persons are at most the records that hold them.
    for (std::size_t count = 0; count < t.measures.size() && persons; ++count)
      if (t.measures[count].kind == measure_kind::count)
        for (const auto& path : paths)
          for (const auto& column : columns)
            relate({dc::relation_kind::bound,
                    figure(path, column, count),
                    {figure(path, column, static_cast<std::size_t>(persons - t.measures.data()))}});
    cells_of_report_.push_back(std::move(group_of_cell));
  }

  std::vector<report_view> views() const {
    const auto [hidden, audit] = dc::suppress(table_, k_);
    report_view view;
    view.k = k_;
    view.hidden_figures = audit.hidden.size();
    for (const auto& h : audit.hidden)
      if (h.range.high)
        view.narrowest =
            std::min(view.narrowest.value_or(*h.range.high), *h.range.high - h.range.low);
    std::vector<bool> group_hidden(groups_.size(), false);
    for (std::size_t i = 0; i < table_.cells.size(); ++i)
      if (hidden[i]) group_hidden[table_.cells[i].group] = true;
    std::vector<report_view> out;
    for (const auto& cells : cells_of_report_) {
      auto& v = out.emplace_back(view);
      for (const auto& [cell, group] : cells)
        if (group_hidden[group]) v.hidden.insert(cell);
    }
    return out;
  }

 private:
  // A cover whose figures add up anyway is taken for a sum: a reader would
  // assume it (most persons are counted under one code), so it is protected as one.
  void relate(dc::relation rel) {
    if (rel.parts.empty()) return;
    if (rel.kind == dc::relation_kind::cover) {
      std::int64_t parts = 0;
      for (auto p : rel.parts) parts += table_.cells[p].value;
      if (parts == table_.cells[rel.total].value) rel.kind = dc::relation_kind::sum;
    }
    std::sort(rel.parts.begin(), rel.parts.end());
    if (relations_.emplace(rel.kind, rel.total, rel.parts).second)
      table_.relations.push_back(std::move(rel));
  }

  const schema& schema_;
  std::int64_t k_;
  dc::table table_;
  std::map<std::string, std::size_t> cells_;   // position#measure -> cell
  std::map<std::string, std::size_t> groups_;  // position -> group
  std::set<std::tuple<dc::relation_kind, std::size_t, std::vector<std::size_t>>> relations_;
  std::vector<std::map<std::pair<std::string, std::string>, std::size_t>> cells_of_report_;
};

}  // namespace

std::vector<report_view> public_views(const schema& s,
                                      const std::vector<const period_report*>& reports,
                                      std::int64_t k) {
  builder b(s, k);
  for (const auto* r : reports) b.add(*r);
  return b.views();
}

}  // namespace haven::tally

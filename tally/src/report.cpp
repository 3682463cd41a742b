#include <algorithm>
#include <boost/json.hpp>
#include <haven/core/terminal_text.hpp>
#include <haven/tally/contribution.hpp>
#include <haven/tally/report.hpp>
#include <sstream>
#include <tuple>

namespace haven::tally {
namespace {
namespace json = boost::json;

constexpr std::string_view records_id = "#";  // records_measure, as the amounts below name it

// Orders a field's codes as the schema lists them, unknown codes after them
// by name, and "" (not recorded) last.
class code_order {
 public:
  explicit code_order(const field_def* f) {
    if (!f) return;
    const std::vector<std::string> booleans{"false", "true"};
    const auto& codes = f->kind == field_kind::boolean ? booleans : f->codes;
    for (std::size_t i = 0; i < codes.size(); ++i) rank_.emplace(codes[i], static_cast<int>(i));
  }
  std::tuple<int, int, std::string> key(const std::string& code) const {
    if (code.empty()) return {2, 0, code};
    auto it = rank_.find(code);
    return it == rank_.end() ? std::make_tuple(1, 0, code) : std::make_tuple(0, it->second, code);
  }

 private:
  std::map<std::string, int, std::less<>> rank_;
};

}  // namespace

std::vector<std::string> display_order(const schema& s, const tally_def& t,
                                       const std::set<std::string>& paths) {
  const record_type* type = s.type(t.type);
  std::vector<code_order> orders;
  for (const auto& key : t.rows) orders.emplace_back(type ? type->dimension(key) : nullptr);
  using sort_key = std::vector<std::tuple<int, int, std::string>>;
  std::vector<std::pair<sort_key, std::string>> rows;
  for (const auto& path : paths) {
    const auto codes = codes_of_path(path);
    sort_key k;
    for (std::size_t i = 0; i < codes.size() && i < orders.size(); ++i)
      k.push_back(orders[i].key(codes[i]));
    rows.emplace_back(std::move(k), path);
  }
  std::sort(rows.begin(), rows.end());  // a prefix sorts before its extensions
  std::vector<std::string> out;
  for (auto& row : rows) out.push_back(std::move(row.second));
  return out;
}

std::vector<std::string> codes_of_path(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    const auto slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    path.remove_prefix(slash + 1);
  }
  return out;
}

period_report::period_report(const schema& s, const tally_def& t, int year,
                             std::optional<int> month, const std::vector<stored_amount>& amounts)
    : schema_(&s), def_(&t), year_(year), month_(month) {
  if (year < 1 || year > 9999) throw failure(errc::invalid_input, "year must be 1-9999");
  if (month && (*month < 1 || *month > 12))
    throw failure(errc::invalid_input, "month must be 1-12");
  period_ = tally_period{year, month.value_or(0)}.key();
  for (const auto& a : amounts) {
    if (a.measure != records_measure && a.measure >= t.measures.size()) continue;
    const std::string_view measure =
        a.measure == records_measure ? records_id : std::string_view(t.measures[a.measure].id);
    cells_[a.path][a.column][std::string(measure)] = a.value;
  }

  std::set<std::string> paths;
  for (const auto& [path, by_column] : cells_)
    if (!path.empty() && codes_of_path(path).size() <= t.rows.size() && find(path, all_columns))
      paths.insert(path);
  rows_ = display_order(s, t, paths);
  const record_type* type = s.type(t.type);

  if (t.column) {
    const code_order order(type ? type->dimension(*t.column) : nullptr);
    if (auto total = cells_.find(""); total != cells_.end())
      for (const auto& [column, a] : total->second)
        if (column != all_columns && a.count(records_id)) columns_.push_back(column);
    std::sort(columns_.begin(), columns_.end(), [&](const std::string& a, const std::string& b) {
      return order.key(a) < order.key(b);
    });
  }
}

const period_report::amounts* period_report::find(const std::string& path,
                                                  std::string_view column) const {
  auto row = cells_.find(path);
  if (row == cells_.end()) return nullptr;
  auto it = row->second.find(column);
  return it == row->second.end() || it->second.find(records_id) == it->second.end() ? nullptr
                                                                                    : &it->second;
}

bool period_report::has(const std::string& path, std::string_view column) const {
  return find(path, column);
}

std::int64_t period_report::records(const std::string& path, std::string_view column) const {
  const amounts* a = find(path, column);
  return a ? a->find(records_id)->second : 0;
}

std::vector<std::pair<std::string, std::int64_t>> period_report::values(
    const std::string& path, std::string_view column) const {
  const amounts* a = find(path, column);
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const auto& m : def_->measures) {
    std::int64_t n = 0;
    if (a) {
      auto it = a->find(m.kind == measure_kind::count ? records_id : std::string_view(m.id));
      if (it != a->end()) n = it->second;
    }
    out.emplace_back(m.id, n);
  }
  return out;
}

namespace {

std::string hidden_mark(const report_view& view) {
  return "<" + std::to_string(view.k);
}

json::object values_json(const period_report& r, const report_view& view, const std::string& path,
                         std::string_view column) {
  json::object out;
  const bool hidden = view.hides(path, column);
  for (const auto& [id, n] : r.values(path, column))
    out[id] = hidden ? json::value(hidden_mark(view)) : json::value(n);
  return out;
}

json::object view_json(const report_view& view, std::size_t hidden_cells) {
  if (!view.is_public()) return {{"name", "internal"}};
  return {{"name", "public"},
          {"k", view.k},
          {"hidden_cells", hidden_cells},
          {"audit",
           {{"passed", true},
            {"hidden_figures", view.hidden_figures},
            {"narrowest_range",
             view.narrowest ? json::value(*view.narrowest) : json::value(nullptr)}}}};
}

json::array strings_json(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& s : items) out.emplace_back(s);
  return out;
}

}  // namespace

std::string row_label(const period_report& r, language lang, const std::string& path) {
  const auto codes = codes_of_path(path);
  if (codes.empty()) return std::string(r.labels().word(lang, "total"));
  return std::string(r.labels().code(lang, r.def().rows.at(codes.size() - 1), codes.back()));
}

std::string column_label(const period_report& r, language lang, std::string_view column) {
  if (column == all_columns || !r.def().column) return std::string(r.labels().word(lang, "total"));
  return std::string(r.labels().code(lang, *r.def().column, column));
}

namespace {

// What the rows of a report are: the row fields, the column field, the
// measures, in the view's language.
void describe(json::object& out, const period_report& r, language lang) {
  const tally_def& t = r.def();
  const labels& l = r.labels();
  out["id"] = t.id;
  out["title"] = l.tally(lang, t.id);
  out["lang"] = to_string(lang);
  out["rows"] = strings_json(t.rows);
  json::array row_labels;
  for (const auto& key : t.rows) row_labels.emplace_back(l.field(lang, key));
  out["row_labels"] = std::move(row_labels);
  out["total_label"] = l.word(lang, "total");
  out["subtotal_label"] = l.word(lang, "subtotal");
  json::array measures;
  for (const auto& m : t.measures)
    measures.push_back(json::object{{"id", m.id},
                                    {"title", l.measure(lang, t.id, m.id)},
                                    {"kind", to_string(m.kind)},
                                    {"field", m.field}});
  out["measures"] = std::move(measures);
}

// One line of a report's table: its codes, their labels, depth and whether
// it is a subtotal.
json::object table_line(const period_report& r, language lang, const std::string& path) {
  const auto codes = codes_of_path(path);
  json::array labels;
  for (std::size_t i = 0; i < codes.size(); ++i)
    labels.emplace_back(r.labels().code(lang, r.def().rows.at(i), codes[i]));
  return {{"row", strings_json(codes)},
          {"labels", std::move(labels)},
          {"label", row_label(r, lang, path)},
          {"depth", codes.size()},
          {"subtotal", codes.size() < r.def().rows.size()}};
}

std::string report_json_of(const period_report& r, const report_view& view) {
  const tally_def& t = r.def();
  json::object out;
  describe(out, r, view.lang);
  out["type"] = t.type;
  out["period"] = r.period();
  out["year"] = r.year();
  out["month"] = r.month() ? json::value(*r.month()) : json::value(nullptr);
  out["column"] = t.column ? json::value(*t.column) : json::value(nullptr);
  out["column_label"] =
      t.column ? json::value(r.labels().field(view.lang, *t.column)) : json::value(nullptr);
  json::array columns;
  for (const auto& c : r.columns())
    columns.push_back(json::object{{"code", c}, {"label", column_label(r, view.lang, c)}});
  out["columns"] = std::move(columns);

  json::array cells, table;
  for (const auto& path : r.rows()) {
    const auto codes = codes_of_path(path);
    if (codes.size() == r.def().rows.size()) {
      if (!t.column) {
        cells.push_back(json::object{{"row", strings_json(codes)},
                                     {"column", nullptr},
                                     {"values", values_json(r, view, path, all_columns)}});
      } else {
        for (const auto& c : r.columns())
          if (r.has(path, c))
            cells.push_back(json::object{{"row", strings_json(codes)},
                                         {"column", c},
                                         {"values", values_json(r, view, path, c)}});
      }
    }
    json::object row = table_line(r, view.lang, path);
    if (t.column) {
      json::object by_column;
      for (const auto& c : r.columns()) by_column[c] = values_json(r, view, path, c);
      row["by_column"] = std::move(by_column);
    }
    row["total"] = values_json(r, view, path, all_columns);
    table.push_back(std::move(row));
  }
  out["cells"] = std::move(cells);
  out["total"] = values_json(r, view, "", all_columns);
  out["table"] = std::move(table);
  json::object column_totals;
  for (const auto& c : r.columns()) column_totals[c] = values_json(r, view, "", c);
  out["column_totals"] = std::move(column_totals);
  out["view"] = view_json(view, view.hidden.size());
  return json::serialize(out);
}

// RFC 4180: quoted when it holds a comma, a quote or a line break.
std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// A text cell (a header, a label, a code) as a spreadsheet may show it: its
// control characters escaped (see printable), and when it begins with = + - @
// tab or carriage return, which a spreadsheet would take for a formula,
// prefixed with ' and quoted (OWASP's rule for CSV injection). Numbers are
// written by csv_values as they are: -5 stays a number.
std::string csv_text(std::string_view s) {
  const std::string shown = printable(s);
  if (s.empty() || std::string_view("=+-@\t\r").find(s.front()) == std::string_view::npos)
    return csv_field(shown);
  std::string out = "\"'";
  for (char c : shown) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// One CSV line of cells already made safe with csv_text, or numbers.
void csv_line(std::string& out, const std::vector<std::string>& fields) {
  for (std::size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + fields[i];
  out += '\n';
}

// The numbers of one table line: by column, then the total.
void csv_values(std::vector<std::string>& line, const period_report& r, const report_view& view,
                const std::string& path) {
  const auto add = [&](std::string_view column) {
    const bool hidden = view.hides(path, column);
    for (const auto& [id, n] : r.values(path, column))
      line.push_back(hidden ? hidden_mark(view) : std::to_string(n));
  };
  for (const auto& c : r.columns()) add(c);
  add(all_columns);
}

// The CSV's last line: which view it is, its k and its audit.
std::vector<std::string> view_line(const report_view& view) {
  if (!view.is_public()) return {"view", "internal"};
  std::ostringstream narrowest;
  if (view.narrowest)
    narrowest << "at least " << *view.narrowest << " wide";
  else
    narrowest << "without an upper bound";
  return {"view", "public", "k=" + std::to_string(view.k),
          csv_field("cells of fewer than " + std::to_string(view.k) +
                    " persons or records, and cells that would reveal them, show as " +
                    hidden_mark(view)),
          csv_field("audit passed: " + std::to_string(view.hidden_figures) +
                    " hidden figures, each could be any of a range " + narrowest.str())};
}

// The row cells of a CSV line: each row field's label, a subtotal's first
// missing field "Subtotal", the grand total's first field "Total".
std::vector<std::string> csv_row(const period_report& r, language lang, const std::string& path) {
  const auto codes = codes_of_path(path);
  const auto& rows = r.def().rows;
  std::vector<std::string> line;
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (i < codes.size())
      line.push_back(csv_text(r.labels().code(lang, rows[i], codes[i])));
    else if (i == codes.size())
      line.push_back(csv_text(r.labels().word(lang, codes.empty() ? "total" : "subtotal")));
    else
      line.emplace_back();
  return line;
}

// The header's row cells: each row field's label.
std::vector<std::string> csv_row_header(const period_report& r, language lang) {
  std::vector<std::string> header;
  for (const auto& key : r.def().rows) header.push_back(csv_text(r.labels().field(lang, key)));
  return header;
}

// "Female: Persons"
std::string csv_figure_header(const period_report& r, language lang, std::string_view over,
                              const measure_def& m) {
  return csv_text(std::string(over) + ": " +
                  std::string(r.labels().measure(lang, r.def().id, m.id)));
}

std::string report_csv_of(const period_report& r, const report_view& view) {
  const tally_def& t = r.def();
  std::string out;
  std::vector<std::string> header = csv_row_header(r, view.lang);
  for (const auto& c : r.columns())
    for (const auto& m : t.measures)
      header.push_back(csv_figure_header(r, view.lang, column_label(r, view.lang, c), m));
  for (const auto& m : t.measures)
    header.push_back(
        t.column ? csv_figure_header(r, view.lang, column_label(r, view.lang, all_columns), m)
                 : csv_text(r.labels().measure(view.lang, t.id, m.id)));
  csv_line(out, header);
  for (const auto& path : r.rows()) {
    std::vector<std::string> line = csv_row(r, view.lang, path);
    csv_values(line, r, view, path);
    csv_line(out, line);
  }
  std::vector<std::string> total = csv_row(r, view.lang, "");
  csv_values(total, r, view, "");
  csv_line(out, total);
  csv_line(out, view_line(view));
  return out;
}

constexpr std::string_view total_code = "TOTAL";

// The codes of a row or column field that a full grid crosses: the declared
// ones (of a country field only those present), any other present, in
// display order.
std::vector<std::string> grid_codes(const record_type* type, const std::string& key,
                                    std::set<std::string> codes) {
  const field_def* f = type ? type->dimension(key) : nullptr;
  if (f && f->kind == field_kind::boolean) codes.insert({"false", "true"});
  if (f && f->kind != field_kind::country) codes.insert(f->codes.begin(), f->codes.end());
  std::vector<std::string> out(codes.begin(), codes.end());
  const code_order order(f);
  std::sort(out.begin(), out.end(), [&](const std::string& a, const std::string& b) {
    return order.key(a) < order.key(b);
  });
  return out;
}

// Every row prefix of the grid crossing `levels`: the grand total {} first,
// then each depth in turn.
std::vector<std::vector<std::string>> grid_rows(
    const std::vector<std::vector<std::string>>& levels) {
  std::vector<std::vector<std::string>> all{{}}, deepest{{}};
  for (const auto& level : levels) {
    std::vector<std::vector<std::string>> next;
    for (const auto& prefix : deepest)
      for (const auto& code : level) {
        next.push_back(prefix);
        next.back().push_back(code);
      }
    all.insert(all.end(), next.begin(), next.end());
    deepest = std::move(next);
  }
  return all;
}

std::string report_codes_csv_of(const period_report& r, const report_view& view) {
  const tally_def& t = r.def();
  const record_type* type = r.definitions().type(t.type);
  std::string out;
  std::vector<std::string> header{"period"};
  for (const auto& key : t.rows) header.push_back(csv_text(key));
  if (t.column) header.push_back(csv_text(*t.column));
  header.insert(header.end(), {"measure", "value", "flag"});
  csv_line(out, header);

  std::vector<std::set<std::string>> present(t.rows.size());
  for (const auto& path : r.rows()) {
    const auto codes = codes_of_path(path);
    for (std::size_t i = 0; i < codes.size() && i < present.size(); ++i)
      present[i].insert(codes[i]);
  }
  std::vector<std::vector<std::string>> levels;
  for (std::size_t i = 0; i < t.rows.size(); ++i)
    levels.push_back(grid_codes(type, t.rows[i], present[i]));
  std::vector<std::string> columns;
  if (t.column) columns = grid_codes(type, *t.column, {r.columns().begin(), r.columns().end()});
  columns.emplace_back(all_columns);
  // A mapped code nothing maps to: its count is not known.
  const auto unrecordable = [&](const std::string& key, const std::string& code) {
    const mapped_def* m = type ? type->mapping(key) : nullptr;
    return m && !code.empty() && !m->recorded(code);
  };

  for (const auto& codes : grid_rows(levels)) {
    std::string path;
    bool missing = false;
    for (std::size_t i = 0; i < codes.size(); ++i) {
      path += codes[i] + "/";
      missing = missing || unrecordable(t.rows[i], codes[i]);
    }
    for (const auto& column : columns) {
      const bool hidden = view.hides(path, column);
      const bool unknown = missing || (column != all_columns && unrecordable(*t.column, column));
      for (const auto& [id, n] : r.values(path, column)) {
        std::vector<std::string> line{r.period()};
        for (std::size_t i = 0; i < t.rows.size(); ++i)
          line.push_back(i < codes.size() ? csv_text(codes[i]) : std::string(total_code));
        if (t.column)
          line.push_back(column == all_columns ? std::string(total_code) : csv_text(column));
        line.push_back(csv_text(id));
        line.insert(line.end(), hidden ? std::initializer_list<std::string>{"", "c"}
                                : unknown
                                    ? std::initializer_list<std::string>{"", "m"}
                                    : std::initializer_list<std::string>{std::to_string(n), ""});
        csv_line(out, line);
      }
    }
  }
  csv_line(out, view_line(view));
  return out;
}

}  // namespace

std::string to_codes_csv(const period_report& r, const report_view& view) {
  return report_codes_csv_of(r, view);
}

bool report_view::hides(const std::string& path, std::string_view column) const {
  return is_public() && hidden.find(std::make_pair(path, std::string(column))) != hidden.end();
}

std::string to_json(const period_report& r, const report_view& view) {
  return report_json_of(r, view);
}
std::string to_csv(const period_report& r, const report_view& view) {
  return report_csv_of(r, view);
}

namespace {

// The rows of any of the years, in display order.
std::vector<std::string> rows_of_years(const schema& s, const std::vector<period_report>& years) {
  std::set<std::string> paths;
  for (const auto& y : years) paths.insert(y.rows().begin(), y.rows().end());
  return display_order(s, years.at(0).def(), paths);
}

}  // namespace

std::string years_to_json(const schema& s, const std::vector<period_report>& years,
                          const std::vector<report_view>& views) {
  const period_report& first = years.at(0);
  const language lang = views.at(0).lang;
  json::object out;
  describe(out, first, lang);
  json::array year_list;
  for (const auto& y : years) year_list.push_back(y.year());
  out["years"] = std::move(year_list);
  const auto by_year = [&](const std::string& path) {
    json::object values;
    for (std::size_t i = 0; i < years.size(); ++i)
      values[std::to_string(years[i].year())] = values_json(years[i], views[i], path, all_columns);
    return values;
  };
  json::array table;
  for (const auto& path : rows_of_years(s, years)) {
    json::object row = table_line(first, lang, path);
    row["by_year"] = by_year(path);
    table.push_back(std::move(row));
  }
  out["table"] = std::move(table);
  out["total"] = by_year("");
  out["view"] = view_json(views.at(0), 0);
  return json::serialize(out);
}

std::string years_to_csv(const schema& s, const std::vector<period_report>& years,
                         const std::vector<report_view>& views) {
  const period_report& first = years.at(0);
  const language lang = views.at(0).lang;
  std::string out;
  std::vector<std::string> header = csv_row_header(first, lang);
  for (const auto& y : years)
    for (const auto& m : first.def().measures)
      header.push_back(csv_figure_header(first, lang, std::to_string(y.year()), m));
  csv_line(out, header);
  const auto figures = [&](std::vector<std::string>& line, const std::string& path) {
    for (std::size_t i = 0; i < years.size(); ++i) {
      const bool hidden = views[i].hides(path, all_columns);
      for (const auto& [id, n] : years[i].values(path, all_columns))
        line.push_back(hidden ? hidden_mark(views[i]) : std::to_string(n));
    }
  };
  for (const auto& path : rows_of_years(s, years)) {
    std::vector<std::string> line = csv_row(first, lang, path);
    figures(line, path);
    csv_line(out, line);
  }
  std::vector<std::string> total = csv_row(first, lang, "");
  figures(total, "");
  csv_line(out, total);
  csv_line(out, view_line(views.at(0)));
  return out;
}

std::string list_json(const schema& s, language lang) {
  json::array out;
  for (const auto& t : s.tallies())
    out.push_back(
        json::object{{"id", t.id}, {"title", s.labels().tally(lang, t.id)}, {"type", t.type}});
  return json::serialize(out);
}

error unknown_tally(const schema& s, std::string_view id) {
  std::string ids;
  for (const auto& t : s.tallies()) ids += (ids.empty() ? "" : ", ") + t.id;
  return error{errc::not_found, "no tally \"" + std::string(id) + "\" (tallies: " + ids + ")", {}};
}

}  // namespace haven::tally

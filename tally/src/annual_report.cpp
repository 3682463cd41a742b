#include <algorithm>
#include <haven/tally/annual_report.hpp>
#include <haven/tally/contribution.hpp>
#include <sstream>

namespace haven::tally {
namespace {

constexpr std::size_t chart_rows = 12;  // the longest bars; the rest are "other"
constexpr const char* palette[] = {"#1f5fa8", "#e07b00", "#2e8540",
                                   "#8f3f97", "#b8312f", "#5b6b7f"};

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  return out;
}

std::string label(const std::string& code) {
  return code.empty() ? "not recorded" : code;
}

std::string codes_text(const std::vector<std::string>& codes) {
  std::string out;
  for (const auto& c : codes) out += (out.empty() ? "" : ", ") + c;
  return out;
}

// What a tally counts, in words, from its declaration.
std::string definition_html(const schema& s, const tally_def& t) {
  std::ostringstream out;
  out << "<dl><dt>Counts</dt><dd>" << escape(t.type) << " records";
  for (const auto& f : t.filter)
    out << ", where " << escape(f.field) << " is " << escape(codes_text(f.codes));
  out << ".</dd><dt>Period</dt><dd>";
  if (t.dates.is_period())
    out << "A record counts in every month and year its stay from " << escape(t.dates.from)
        << " to " << escape(t.dates.to)
        << " overlaps (an open stay up to today); its days are split across them.";
  else
    out << "A record counts in the month and year of its " << escape(t.dates.date) << ".";
  out << "</dd><dt>Rows</dt><dd>" << escape(codes_text(t.rows));
  if (t.column) out << ", and in columns by " << escape(*t.column);
  out << ". An empty field counts as “not recorded”";
  const record_type* type = s.type(t.type);
  for (const auto& key : t.rows)
    if (const auto* f = type ? type->field(key) : nullptr; f && f->is_set())
      out << "; a record counts under each " << escape(key) << " it holds";
  out << ".</dd><dt>Figures</dt><dd><ul>";
  for (const auto& m : t.measures) {
    out << "<li><b>" << escape(m.title) << "</b>: ";
    switch (m.kind) {
      case measure_kind::count:
        out << "the records";
        break;
      case measure_kind::sum:
        out << "the sum of " << escape(m.field);
        break;
      case measure_kind::distinct:
        out << "the persons (distinct " << escape(m.field)
            << "), each counted once in every cell, subtotal and total";
        break;
    }
    out << "</li>";
  }
  out << "</ul></dd></dl>";
  return out.str();
}

std::string figure(const period_report& r, const report_view& view, const std::string& path,
                   std::string_view column, std::size_t measure) {
  if (view.hides(path, column)) return "&lt;" + std::to_string(view.k);
  return std::to_string(r.values(path, column)[measure].second);
}

std::string table_html(const period_report& r, const report_view& view) {
  const tally_def& t = r.def();
  std::ostringstream out;
  out << "<table><thead><tr><th>" << escape(codes_text(t.rows)) << "</th>";
  for (const auto& c : r.columns())
    for (const auto& m : t.measures)
      out << "<th>" << escape(label(c))
          << (t.measures.size() > 1 ? " · " + escape(m.title) : std::string()) << "</th>";
  for (const auto& m : t.measures)
    out << "<th>" << (t.column ? "Total" : "") << (t.column && t.measures.size() > 1 ? " · " : "")
        << (t.column && t.measures.size() == 1 ? "" : escape(m.title)) << "</th>";
  out << "</tr></thead><tbody>";
  const auto line = [&](const std::string& path, const std::string& name, const char* cls,
                        std::size_t depth) {
    out << "<tr class=\"" << cls << "\"><td class=\"d" << depth << "\">" << escape(name) << "</td>";
    for (const auto& c : r.columns())
      for (std::size_t m = 0; m < t.measures.size(); ++m)
        out << "<td>" << figure(r, view, path, c, m) << "</td>";
    for (std::size_t m = 0; m < t.measures.size(); ++m)
      out << "<td>" << figure(r, view, path, all_columns, m) << "</td>";
    out << "</tr>";
  };
  for (const auto& path : r.rows()) {
    const auto codes = codes_of_path(path);
    line(path, label(codes.back()), codes.size() < t.rows.size() ? "subtotal" : "", codes.size());
  }
  line("", "Total", "total", 1);
  out << "</tbody></table>";
  return out.str();
}

}  // namespace

std::string chart_svg(const period_report& r, const report_view& view) {
  const tally_def& t = r.def();
  struct bar {
    std::string name;
    std::vector<std::int64_t> parts;  // by column (one part without a column field)
    std::int64_t total = 0;
  };
  std::vector<std::string> columns = r.columns();
  if (!t.column) columns = {std::string(all_columns)};
  std::vector<bar> bars;
  std::size_t hidden = 0;
  for (const auto& path : r.rows()) {
    if (codes_of_path(path).size() != 1) continue;
    if (view.hides(path, all_columns)) {
      ++hidden;
      continue;
    }
    bar b{label(codes_of_path(path)[0]), {}, r.values(path, all_columns)[0].second};
    for (const auto& c : columns)
      b.parts.push_back(view.hides(path, c) ? 0 : r.values(path, c)[0].second);
    bars.push_back(std::move(b));
  }
  std::stable_sort(bars.begin(), bars.end(),
                   [](const bar& a, const bar& b) { return a.total > b.total; });
  if (bars.size() > chart_rows + 1) {
    bar other{"other (" + std::to_string(bars.size() - chart_rows) + ")",
              std::vector<std::int64_t>(columns.size(), 0), 0};
    for (std::size_t i = chart_rows; i < bars.size(); ++i) {
      other.total += bars[i].total;
      for (std::size_t c = 0; c < columns.size(); ++c) other.parts[c] += bars[i].parts[c];
    }
    bars.resize(chart_rows);
    bars.push_back(std::move(other));
  }
  std::int64_t most = 1;
  for (const auto& b : bars) most = std::max(most, b.total);
  constexpr int label_width = 190, bar_area = 380, row_height = 22, legend_height = 24;
  const int width = label_width + bar_area + 70;
  const int height = static_cast<int>(bars.size()) * row_height + legend_height + 8 +
                     (hidden || bars.empty() ? row_height : 0);
  std::ostringstream out;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" viewBox=\"0 0 "
      << width << " " << height << "\" width=\"" << width
      << "\" font-family=\"system-ui, sans-serif\" font-size=\"12\"><title>"
      << escape(t.measures[0].title) << " by " << escape(t.rows[0]) << "</title>";
  int y = 4;
  for (const auto& b : bars) {
    out << "<text x=\"" << label_width - 6 << "\" y=\"" << y + 14 << "\" text-anchor=\"end\">"
        << escape(b.name) << "</text>";
    double x = label_width;
    for (std::size_t c = 0; c < b.parts.size(); ++c) {
      // Without a column, or with hidden parts, the bar is the row's total.
      const std::int64_t part = t.column ? b.parts[c] : b.total;
      const double w = static_cast<double>(part) * bar_area / static_cast<double>(most);
      if (w > 0)
        out << "<rect class=\"bar\" x=\"" << x << "\" y=\"" << y + 3 << "\" width=\"" << w
            << "\" height=\"" << row_height - 6 << "\" fill=\"" << palette[c % 6] << "\"><title>"
            << escape(b.name) << (t.column ? " · " + escape(label(columns[c])) : std::string())
            << ": " << part << "</title></rect>";
      x += w;
    }
    out << "<text x=\"" << x + 4 << "\" y=\"" << y + 14 << "\">" << b.total << "</text>";
    y += row_height;
  }
  if (t.column && !bars.empty()) {
    int x = label_width;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      out << "<rect x=\"" << x << "\" y=\"" << y + 6 << "\" width=\"12\" height=\"12\" fill=\""
          << palette[c % 6] << "\"/><text x=\"" << x + 16 << "\" y=\"" << y + 16 << "\">"
          << escape(label(columns[c])) << "</text>";
      x += 20 + 8 * static_cast<int>(label(columns[c]).size()) + 12;
    }
  }
  if (bars.empty() && !hidden)
    out << "<text x=\"" << label_width << "\" y=\"" << y + 14
        << "\">No records in this period.</text>";
  if (t.column) y += legend_height;
  if (hidden)
    out << "<text class=\"note\" x=\"" << label_width << "\" y=\"" << y + 14 << "\">" << hidden
        << " row" << (hidden == 1 ? " is" : "s are") << " hidden in the public view (&lt;" << view.k
        << ") and not drawn.</text>";
  out << "</svg>";
  return out.str();
}

namespace {

constexpr const char* style = R"css(
body { font: 15px/1.45 system-ui, sans-serif; color: #1b1f24; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 2px solid #1f5fa8; }
.meta { color: #4a5360; } .banner { padding: .6rem .9rem; border-radius: 4px; margin: 1rem 0; }
.internal { background: #fde8e7; border: 1px solid #b8312f; } .public { background: #e6f2e8; border: 1px solid #2e8540; }
table { border-collapse: collapse; margin: .8rem 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #d5d9e0; padding: 3px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; } tr.subtotal td { font-weight: 600; background: #f3f5f8; }
tr.total td { font-weight: 700; border-top: 2px solid #1b1f24; } td.d2 { padding-left: 1.6rem; } td.d3 { padding-left: 2.6rem; }
svg.chart { max-width: 100%; height: auto; font-size: 12px; } figcaption { color: #4a5360; font-size: .9rem; }
dl { display: grid; grid-template-columns: 7rem 1fr; gap: .2rem .8rem; } dt { font-weight: 600; } dd { margin: 0; } dd ul { margin: 0; padding-left: 1.1rem; }
section { break-inside: avoid-page; }
@page { size: A4; margin: 16mm; } @media print { body { margin: 0; max-width: none; font-size: 11pt; } h2 { break-after: avoid; } }
)css";

}  // namespace

std::string annual_report_html(const schema& s, const std::vector<const period_report*>& reports,
                               const std::vector<report_view>& views, const std::string& produced) {
  const std::string period = reports.empty() ? std::string() : reports[0]->period();
  const bool published = !views.empty() && views[0].is_public();
  std::ostringstream out;
  out << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
         "content=\"width=device-width, initial-scale=1\"><title>Haven report "
      << escape(period) << "</title><style>" << style << "</style></head><body>";
  out << "<h1>Contacts with victims of trafficking: report " << escape(period) << "</h1>";
  out << "<p class=\"meta\">Produced " << escape(produced) << " from the central store. "
      << (published ? "Public view" : "Internal view") << ".</p>";
  if (published) {
    const auto& v = views[0];
    out << "<div class=\"banner public\"><b>Safe to publish.</b> Cells counted from fewer than "
        << v.k << " persons (or, in a table without persons, records) are shown as &lt;" << v.k
        << ", with the cells that would reveal them by subtraction from a row, column, subtotal, "
           "total or another table. Audit passed: for each of the "
        << v.hidden_figures
        << " hidden figures, two linear programs over every published figure found the range of "
           "values it could take; none is narrower than "
        << v.k
        << (v.narrowest
                ? " (the narrowest: " + std::to_string(static_cast<long long>(*v.narrowest)) + ")"
                : std::string())
        << ".</div>";
  } else {
    out << "<div class=\"banner internal\"><b>Internal: not for publication.</b> Every figure is "
           "exact, including cells of one or two persons. Publish the public view instead.</div>";
  }
  out << "<nav><ol>";
  for (std::size_t i = 0; i < reports.size(); ++i)
    out << "<li><a href=\"#t" << i << "\">" << escape(reports[i]->def().title) << "</a></li>";
  out << "</ol></nav>";
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const auto& r = *reports[i];
    out << "<section id=\"t" << i << "\"><h2>" << escape(r.def().title) << "</h2>"
        << "<figure>" << chart_svg(r, views[i]) << "</figure>" << table_html(r, views[i])
        << "<h3>What it counts</h3>" << definition_html(s, r.def()) << "</section>";
  }
  out << "</body></html>\n";
  return out.str();
}

}  // namespace haven::tally

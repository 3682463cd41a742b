#include <algorithm>
#include <array>
#include <haven/tally/annual_report.hpp>
#include <haven/tally/contribution.hpp>
#include <set>
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

// The report's own sentences in one language; "{}" stands for what `fill`
// puts in, in order.
struct phrases {
  std::string_view html_lang, heading, produced, public_view, internal_view, public_banner,
      narrowest, internal_banner, what_it_counts, counts, records_of, where_is, period, stay_rule,
      date_rule, rows, in_columns, empty_field, each_code, figures, count, sum, distinct,
      chart_title, no_records, hidden_rows, months_title, hidden_months, mapped_from, every_other,
      several_forms, year_by_year;
  std::array<std::string_view, 12> month_names;
};

constexpr phrases english{
    "en",
    "Contacts with victims of trafficking: report {}",
    "Produced {} from the central store.",
    "Public view",
    "Internal view",
    "<b>Safe to publish.</b> Cells counted from fewer than {} persons (or, in a table without "
    "persons, records) are shown as &lt;{}, with the cells that would reveal them by subtraction "
    "from a row, column, subtotal, total or another table. Audit passed: for each of the {} "
    "hidden figures, two linear programs over every published figure found the range of values "
    "it could take; none is narrower than {}{}.",
    " (the narrowest: {})",
    "<b>Internal: not for publication.</b> Every figure is exact, including cells of one or two "
    "persons. Publish the public view instead.",
    "What it counts",
    "Counts",
    "Records of “{}”",
    ", where {} is {}",
    "Period",
    "A record counts in every month and year its stay from {} to {} overlaps (an open stay up to "
    "today); its days are split across them.",
    "A record counts in the month and year of its {}.",
    "Rows",
    ", and in columns by {}",
    ". An empty field counts as “{}”",
    "; a record counts under each {} it holds",
    "Figures",
    "the records",
    "the sum of {}",
    "the persons (distinct {}), each counted once in every cell, subtotal and total",
    "{} by {}",
    "No records in this period.",
    "Rows hidden in the public view, not drawn: {} (&lt;{}).",
    "{} by month",
    "Months hidden in the public view, not drawn: {} (&lt;{}).",
    "; {} comes from {}: {}",
    "every other",
    " (a record with several counts under each of their codes once)",
    "Year by year",
    {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}};

constexpr phrases slovenian{
    "sl",
    "Stiki z žrtvami trgovine z ljudmi: poročilo {}",
    "Pripravljeno {} iz osrednje zbirke.",
    "Javni pogled",
    "Notranji pogled",
    "<b>Primerno za objavo.</b> Celice, štete iz manj kot {} oseb (ali, v tabeli brez oseb, "
    "zapisov), so prikazane kot &lt;{}, skupaj s celicami, iz katerih bi jih lahko izračunali z "
    "odštevanjem od vrstice, stolpca, vmesnega seštevka, vsote ali druge tabele. Revizija "
    "uspešna: za vsakega od {} skritih podatkov sta dva linearna programa nad vsemi objavljenimi "
    "podatki našla razpon vrednosti, ki jih lahko ima; noben ni ožji od {}{}.",
    " (najožji: {})",
    "<b>Notranje: ni za objavo.</b> Vsi podatki so točni, tudi celice z eno ali dvema osebama. "
    "Objavite javni pogled.",
    "Kaj šteje",
    "Šteje",
    "Zapise vrste »{}«",
    ", kjer je {} {}",
    "Obdobje",
    "Zapis šteje v vsakem mesecu in letu, ki ga prekriva bivanje od {} do {} (odprto bivanje do "
    "danes); njegovi dnevi se razdelijo mednje.",
    "Zapis šteje v mesecu in letu polja {}.",
    "Vrstice",
    ", v stolpcih po {}",
    ". Prazno polje šteje kot »{}«",
    "; zapis šteje pri vsaki vrednosti polja {}, ki jo ima",
    "Podatki",
    "zapisi",
    "vsota polja {}",
    "osebe (različne vrednosti polja {}), vsaka šteta enkrat v vsaki celici, vmesnem seštevku "
    "in skupaj",
    "{} po {}",
    "V tem obdobju ni zapisov.",
    "Vrstice, skrite v javnem pogledu, ki niso narisane: {} (&lt;{}).",
    "{} po mesecih",
    "Meseci, skriti v javnem pogledu, ki niso narisani: {} (&lt;{}).",
    "; {} izhaja iz polja {}: {}",
    "vse druge",
    " (zapis z več vrednostmi šteje pri vsaki njihovi kodi enkrat)",
    "Po letih",
    {"jan", "feb", "mar", "apr", "maj", "jun", "jul", "avg", "sep", "okt", "nov", "dec"}};

const phrases& phrases_of(language lang) {
  return lang == language::sl ? slovenian : english;
}

// `text` with each "{}" replaced by the next of `parts`.
std::string fill(std::string_view text, std::initializer_list<std::string> parts) {
  std::string out;
  auto part = parts.begin();
  for (std::size_t at = 0;;) {
    const auto hole = text.find("{}", at);
    if (hole == std::string_view::npos || part == parts.end()) return out += text.substr(at);
    out += text.substr(at, hole - at);
    out += *part++;
    at = hole + 2;
  }
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& c : items) out += (out.empty() ? "" : ", ") + c;
  return out;
}

// A mapping in words: "Nationals: Slovenia; ...; Unknown: Unknown or
// stateless, Not recorded".
std::string mapping_text(const labels& l, language lang, const mapped_def& m) {
  const phrases& say = phrases_of(lang);
  std::vector<std::string> parts;
  for (const auto& code : m.field.codes) {
    std::vector<std::string> sources;
    for (const auto& [source, target] : m.target_of)
      if (target == code) sources.push_back(escape(l.code(lang, m.source, source)));
    if (m.otherwise == code) sources.emplace_back(say.every_other);
    if (m.not_recorded == code) sources.push_back(escape(l.word(lang, "not_recorded")));
    if (!sources.empty())
      parts.push_back(escape(l.code(lang, m.field.key, code)) + " (" + joined(sources) + ")");
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

// What a tally counts, in words, from its declaration.
std::string definition_html(const schema& s, const tally_def& t, language lang) {
  const phrases& say = phrases_of(lang);
  const labels& l = s.labels();
  const auto field = [&](const std::string& key) { return escape(l.field(lang, key)); };
  std::ostringstream out;
  out << "<dl><dt>" << say.counts << "</dt><dd>"
      << fill(say.records_of, {escape(l.type(lang, t.type))});
  for (const auto& f : t.filter) {
    std::vector<std::string> codes;
    for (const auto& c : f.codes) codes.push_back(escape(l.code(lang, f.field, c)));
    out << fill(say.where_is, {field(f.field), joined(codes)});
  }
  out << ".</dd><dt>" << say.period << "</dt><dd>";
  if (t.dates.is_period())
    out << fill(say.stay_rule, {field(t.dates.from), field(t.dates.to)});
  else
    out << fill(say.date_rule, {field(t.dates.date)});
  std::vector<std::string> rows;
  for (const auto& key : t.rows) rows.push_back(field(key));
  out << "</dd><dt>" << say.rows << "</dt><dd>" << joined(rows);
  if (t.column) out << fill(say.in_columns, {field(*t.column)});
  out << fill(say.empty_field, {escape(l.word(lang, "not_recorded"))});
  const record_type* type = s.type(t.type);
  for (const auto& key : t.rows)
    if (const auto* f = type ? type->dimension(key) : nullptr; f && f->is_set())
      out << fill(say.each_code, {field(key)});
  std::vector<std::string> dimensions = t.rows;
  if (t.column) dimensions.push_back(*t.column);
  for (const auto& key : dimensions)
    if (const mapped_def* m = type ? type->mapping(key) : nullptr)
      out << fill(say.mapped_from, {field(key), field(m->source), mapping_text(l, lang, *m)})
          << (m->field.is_set() ? std::string(say.several_forms) : std::string());
  out << ".</dd><dt>" << say.figures << "</dt><dd><ul>";
  for (const auto& m : t.measures) {
    out << "<li><b>" << escape(l.measure(lang, t.id, m.id)) << "</b>: ";
    switch (m.kind) {
      case measure_kind::count:
        out << say.count;
        break;
      case measure_kind::sum:
        out << fill(say.sum, {field(m.field)});
        break;
      case measure_kind::distinct:
        out << fill(say.distinct, {field(m.field)});
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
  const labels& l = r.labels();
  const language lang = view.lang;
  std::ostringstream out;
  std::vector<std::string> rows;
  for (const auto& key : t.rows) rows.push_back(escape(l.field(lang, key)));
  out << "<table><thead><tr><th>" << joined(rows) << "</th>";
  const auto measure = [&](const measure_def& m) { return escape(l.measure(lang, t.id, m.id)); };
  for (const auto& c : r.columns())
    for (const auto& m : t.measures)
      out << "<th>" << escape(column_label(r, lang, c))
          << (t.measures.size() > 1 ? " · " + measure(m) : std::string()) << "</th>";
  for (const auto& m : t.measures)
    out << "<th>"
        << (!t.column ? measure(m)
                      : escape(column_label(r, lang, all_columns)) +
                            (t.measures.size() > 1 ? " · " + measure(m) : std::string()))
        << "</th>";
  out << "</tr></thead><tbody>";
  const auto line = [&](const std::string& path, const char* cls, std::size_t depth) {
    out << "<tr class=\"" << cls << "\"><td class=\"d" << depth << "\">"
        << escape(row_label(r, lang, path));
    if (*cls == 's')
      out << " <span class=\"tag\">" << escape(l.word(lang, "subtotal")) << "</span>";
    out << "</td>";
    for (const auto& c : r.columns())
      for (std::size_t m = 0; m < t.measures.size(); ++m)
        out << "<td>" << figure(r, view, path, c, m) << "</td>";
    for (std::size_t m = 0; m < t.measures.size(); ++m)
      out << "<td>" << figure(r, view, path, all_columns, m) << "</td>";
    out << "</tr>";
  };
  for (const auto& path : r.rows()) {
    const auto depth = codes_of_path(path).size();
    line(path, depth < t.rows.size() ? "subtotal" : "", depth);
  }
  line("", "total", 1);
  out << "</tbody></table>";
  return out.str();
}

// Tally `i` of every year of `history` side by side: a line per row (of
// any year), a column per year and measure, each year's total over columns.
std::string years_html(const schema& s, const report_history& history, std::size_t i) {
  std::vector<const period_report*> years;
  for (const auto& y : history.years) years.push_back(&y.at(i));
  const period_report& last = *years.back();
  const tally_def& t = last.def();
  const language lang = history.views.back().at(i).lang;
  std::set<std::string> paths;
  for (const auto* y : years) paths.insert(y->rows().begin(), y->rows().end());
  std::ostringstream out;
  out << "<table class=\"years\"><thead><tr><th></th>";
  for (const auto* y : years)
    for (const auto& m : t.measures)
      out << "<th>" << y->year()
          << (t.measures.size() > 1 ? " · " + escape(last.labels().measure(lang, t.id, m.id))
                                    : std::string())
          << "</th>";
  out << "</tr></thead><tbody>";
  const auto line = [&](const std::string& path, const char* cls, std::size_t depth) {
    out << "<tr class=\"" << cls << "\"><td class=\"d" << depth << "\">"
        << escape(row_label(last, lang, path)) << "</td>";
    for (std::size_t y = 0; y < years.size(); ++y)
      for (std::size_t m = 0; m < t.measures.size(); ++m)
        out << "<td>" << figure(*years[y], history.views[y].at(i), path, all_columns, m) << "</td>";
    out << "</tr>";
  };
  for (const auto& path : display_order(s, t, paths)) {
    const auto depth = codes_of_path(path).size();
    line(path, depth < t.rows.size() ? "subtotal" : "", depth);
  }
  line("", "total", 1);
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
  const language lang = view.lang;
  const phrases& say = phrases_of(lang);
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
    bar b{row_label(r, lang, path), {}, r.values(path, all_columns)[0].second};
    for (const auto& c : columns)
      b.parts.push_back(view.hides(path, c) ? 0 : r.values(path, c)[0].second);
    bars.push_back(std::move(b));
  }
  std::stable_sort(bars.begin(), bars.end(),
                   [](const bar& a, const bar& b) { return a.total > b.total; });
  if (bars.size() > chart_rows + 1) {
    bar other{std::string(r.labels().word(lang, "other")) + " (" +
                  std::to_string(bars.size() - chart_rows) + ")",
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
      << escape(
             fill(say.chart_title, {std::string(r.labels().measure(lang, t.id, t.measures[0].id)),
                                    std::string(r.labels().field(lang, t.rows[0]))}))
      << "</title>";
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
            << escape(b.name)
            << (t.column ? " · " + escape(column_label(r, lang, columns[c])) : std::string())
            << ": " << part << "</title></rect>";
      x += w;
    }
    out << "<text x=\"" << x + 4 << "\" y=\"" << y + 14 << "\">" << b.total << "</text>";
    y += row_height;
  }
  if (t.column && !bars.empty()) {
    int x = label_width;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const std::string name = column_label(r, lang, columns[c]);
      out << "<rect x=\"" << x << "\" y=\"" << y + 6 << "\" width=\"12\" height=\"12\" fill=\""
          << palette[c % 6] << "\"/><text x=\"" << x + 16 << "\" y=\"" << y + 16 << "\">"
          << escape(name) << "</text>";
      x += 20 + 7 * static_cast<int>(name.size()) + 12;
    }
  }
  if (bars.empty() && !hidden)
    out << "<text x=\"" << label_width << "\" y=\"" << y + 14 << "\">" << say.no_records
        << "</text>";
  if (t.column) y += legend_height;
  if (hidden)
    out << "<text class=\"note\" x=\"" << label_width << "\" y=\"" << y + 14 << "\">"
        << fill(say.hidden_rows, {std::to_string(hidden), std::to_string(view.k)}) << "</text>";
  out << "</svg>";
  return out.str();
}

std::string months_svg(const std::vector<period_report>& months,
                       const std::vector<report_view>& views) {
  const period_report& first = months.at(0);
  const tally_def& t = first.def();
  const language lang = views.at(0).lang;
  const phrases& say = phrases_of(lang);
  std::vector<std::optional<std::int64_t>> totals;  // nullopt: hidden
  std::int64_t most = 1;
  std::vector<std::string> hidden;
  for (std::size_t m = 0; m < months.size(); ++m) {
    if (views.at(m).hides("", all_columns)) {
      totals.emplace_back();
      hidden.emplace_back(say.month_names.at(m));
      continue;
    }
    totals.emplace_back(months[m].values("", all_columns)[0].second);
    most = std::max(most, *totals.back());
  }
  constexpr int left = 48, top = 28, plot_width = 560, plot_height = 150, step = plot_width / 11;
  const int height = top + plot_height + 30 + (hidden.empty() ? 0 : 20);
  const std::string caption = escape(
      fill(say.months_title, {std::string(first.labels().measure(lang, t.id, t.measures[0].id))}));
  const auto x = [&](std::size_t m) { return left + static_cast<int>(m) * step; };
  const auto y = [&](std::int64_t n) {
    return top + plot_height - static_cast<double>(n) * plot_height / static_cast<double>(most);
  };
  std::ostringstream out;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart months\" role=\"img\" "
         "viewBox=\"0 0 "
      << left + plot_width + 24 << " " << height << "\" width=\"" << left + plot_width + 24
      << "\" font-family=\"system-ui, sans-serif\" font-size=\"12\"><title>" << caption
      << "</title><text x=\"" << left << "\" y=\"14\" font-weight=\"600\">" << caption << "</text>";
  for (const std::int64_t n : {std::int64_t{0}, most})
    out << "<line x1=\"" << left << "\" x2=\"" << left + plot_width << "\" y1=\"" << y(n)
        << "\" y2=\"" << y(n) << "\" stroke=\"#d5d9e0\"/><text x=\"" << left - 6 << "\" y=\""
        << y(n) + 4 << "\" text-anchor=\"end\">" << n << "</text>";
  std::string path;  // a gap at each hidden month
  for (std::size_t m = 0; m < totals.size(); ++m) {
    out << "<text x=\"" << x(m) << "\" y=\"" << top + plot_height + 18
        << "\" text-anchor=\"middle\">" << say.month_names.at(m) << "</text>";
    if (!totals[m]) continue;
    path += (m > 0 && totals[m - 1] ? " L" : " M") + std::to_string(x(m)) + " " +
            std::to_string(y(*totals[m]));
  }
  if (!path.empty())
    out << "<path class=\"line\" d=\"" << path.substr(1)
        << "\" fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"2\"/>";
  for (std::size_t m = 0; m < totals.size(); ++m)
    if (totals[m])
      out << "<circle class=\"point\" cx=\"" << x(m) << "\" cy=\"" << y(*totals[m])
          << "\" r=\"3.5\" fill=\"#1f5fa8\"><title>" << say.month_names.at(m) << ": " << *totals[m]
          << "</title></circle>";
  if (!hidden.empty())
    out << "<text class=\"note\" x=\"" << left << "\" y=\"" << height - 6 << "\">"
        << fill(say.hidden_months, {joined(hidden), std::to_string(views[0].k)}) << "</text>";
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
.tag { font-size: .75em; font-weight: 400; color: #4a5360; text-transform: lowercase; }
tr.total td { font-weight: 700; border-top: 2px solid #1b1f24; } td.d2 { padding-left: 1.6rem; } td.d3 { padding-left: 2.6rem; }
svg.chart { max-width: 100%; height: auto; font-size: 12px; } figcaption { color: #4a5360; font-size: .9rem; }
dl { display: grid; grid-template-columns: 7rem 1fr; gap: .2rem .8rem; } dt { font-weight: 600; } dd { margin: 0; } dd ul { margin: 0; padding-left: 1.1rem; }
section { break-inside: avoid-page; }
@page { size: A4; margin: 16mm; } @media print { body { margin: 0; max-width: none; font-size: 11pt; } h2 { break-after: avoid; } }
)css";

}  // namespace

std::string annual_report_html(const schema& s, const std::vector<const period_report*>& reports,
                               const std::vector<report_view>& views, const std::string& produced,
                               const report_history& history) {
  const std::string period = reports.empty() ? std::string() : reports[0]->period();
  const bool published = !views.empty() && views[0].is_public();
  const language lang = views.empty() ? language::en : views[0].lang;
  const phrases& say = phrases_of(lang);
  const std::string heading = fill(say.heading, {escape(period)});
  std::ostringstream out;
  out << "<!doctype html><html lang=\"" << say.html_lang
      << "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
         "content=\"width=device-width, initial-scale=1\"><title>"
      << heading << "</title><style>" << style << "</style></head><body>";
  out << "<h1>" << heading << "</h1>";
  out << "<p class=\"meta\">" << fill(say.produced, {escape(produced)}) << " "
      << (published ? say.public_view : say.internal_view) << ".</p>";
  if (published) {
    const auto& v = views[0];
    const std::string k = std::to_string(v.k);
    out << "<div class=\"banner public\">"
        << fill(say.public_banner,
                {k, k, std::to_string(v.hidden_figures), k,
                 v.narrowest
                     ? fill(say.narrowest, {std::to_string(static_cast<long long>(*v.narrowest))})
                     : std::string()})
        << "</div>";
  } else {
    out << "<div class=\"banner internal\">" << say.internal_banner << "</div>";
  }
  out << "<nav><ol>";
  for (std::size_t i = 0; i < reports.size(); ++i)
    out << "<li><a href=\"#t" << i << "\">" << escape(s.labels().tally(lang, reports[i]->def().id))
        << "</a></li>";
  out << "</ol></nav>";
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const auto& r = *reports[i];
    out << "<section id=\"t" << i << "\"><h2>" << escape(s.labels().tally(lang, r.def().id))
        << "</h2>"
        << "<figure>" << chart_svg(r, views[i]) << "</figure>" << table_html(r, views[i]);
    if (history.years.size() > 1)
      out << "<h3>" << say.year_by_year << "</h3>" << years_html(s, history, i);
    out << "<h3>" << say.what_it_counts << "</h3>" << definition_html(s, r.def(), lang)
        << "</section>";
  }
  out << "</body></html>\n";
  return out.str();
}

}  // namespace haven::tally

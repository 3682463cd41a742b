#pragma once
// The annual report: every tally of a period as one self-contained HTML
// document (tables with subtotals, an SVG chart each, what each tally
// counts, and the view with its disclosure rule and audit), printable on A4.
// Pure; a document is a string.

#include <haven/schema/schema.hpp>
#include <haven/tally/report.hpp>
#include <string>
#include <vector>

namespace haven::tally {

// A chart of one report as a standalone SVG element: horizontal bars of its
// first figure for each top-level row, stacked by column, the longest 12 and
// the rest as "other"; rows the view hides are counted in a note, not drawn.
std::string chart_svg(const period_report& r, const report_view& view);

// A line chart of one tally through a year as a standalone SVG element: the
// grand total of its first figure in each month (`months`: January to
// December, each shown as its `views` entry). A month whose total the view
// hides is a gap in the line and is named in a note. Requires: 12 reports of
// one tally and year, views.size() == 12.
std::string months_svg(const std::vector<period_report>& months,
                       const std::vector<report_view>& views);

// The years before a report's, for a table per tally of every year side by
// side: years[y] holds every tally's report of one year, in schema order,
// oldest first and the report's own year last, and views[y] their views.
// Empty: the document has no such tables.
struct report_history {
  std::vector<std::vector<period_report>> years;
  std::vector<std::vector<report_view>> views;
};

// The document for `reports` (one period, in schema order) shown as `views`
// (one each: all internal, or the public views of publication.hpp), stamped
// `produced` (e.g. "2026-12-06 18:58 UTC"). Every text from the schema or
// the records is HTML-escaped. Requires: views.size() == reports.size().
std::string annual_report_html(const schema& s, const std::vector<const period_report*>& reports,
                               const std::vector<report_view>& views, const std::string& produced,
                               const report_history& history = {});

}  // namespace haven::tally

#include <haven/core/clock.hpp>
#include <haven/server/tally_reports.hpp>
#include <haven/tally/annual_report.hpp>
#include <haven/tally/publication.hpp>

namespace haven::server {

std::string tally_reports::list_json() const {
  return tally::list_json(*schema_);
}

tally::period_report tally_reports::report(std::string_view id, int year,
                                           std::optional<int> month) const {
  const tally_def* t = schema_->tally(id);
  if (!t) throw failure(tally::unknown_tally(*schema_, id));
  std::vector<tally::stored_amount> amounts;
  if (year >= 1 && year <= 9999 && (!month || (*month >= 1 && *month <= 12)))
    amounts = unwrap(store_.amounts(id, {year, month.value_or(0)}));
  return tally::period_report(*schema_, *t, year, month, amounts);  // refuses a bad year or month
}

std::vector<tally::period_report> tally_reports::all_reports(int year,
                                                             std::optional<int> month) const {
  std::vector<tally::period_report> out;
  for (const auto& t : schema_->tallies()) out.push_back(report(t.id, year, month));
  return out;
}

std::vector<tally::report_view> tally_reports::views_of(
    const std::vector<tally::period_report>& reports, tally_view view) const {
  if (view == tally_view::internal) return std::vector<tally::report_view>(reports.size());
  std::vector<const tally::period_report*> all;
  for (const auto& r : reports) all.push_back(&r);
  return tally::public_views(*schema_, all, k_);
}

std::pair<tally::period_report, tally::report_view> tally_reports::shown(std::string_view id,
                                                                         int year,
                                                                         std::optional<int> month,
                                                                         tally_view view) const {
  if (view == tally_view::internal) return {report(id, year, month), {}};
  const tally_def* t = schema_->tally(id);
  if (!t) throw failure(tally::unknown_tally(*schema_, id));
  auto all = all_reports(year, month);
  const auto index = static_cast<std::size_t>(t - schema_->tallies().data());
  return {std::move(all.at(index)), views_of(all, view).at(index)};
}

result<std::string> tally_reports::svg(std::string_view id, int year, std::optional<int> month,
                                       tally_view view) const {
  return capture([&] {
    const auto [r, shown_as] = shown(id, year, month, view);
    return tally::chart_svg(r, shown_as);
  });
}

std::pair<std::vector<tally::period_report>, std::vector<tally::report_view>> tally_reports::years(
    std::string_view id, int from, int to, tally_view view) const {
  std::vector<tally::period_report> reports;
  std::vector<tally::report_view> views;
  for (int year = from; year <= to; ++year) {
    auto [r, shown_as] = shown(id, year, std::nullopt, view);
    reports.push_back(std::move(r));
    views.push_back(std::move(shown_as));
  }
  return {std::move(reports), std::move(views)};
}

result<std::string> tally_reports::years_json(std::string_view id, int from, int to,
                                              tally_view view) const {
  return capture([&] {
    const auto [reports, views] = years(id, from, to, view);
    return tally::years_to_json(*schema_, reports, views);
  });
}

result<std::string> tally_reports::years_csv(std::string_view id, int from, int to,
                                             tally_view view) const {
  return capture([&] {
    const auto [reports, views] = years(id, from, to, view);
    return tally::years_to_csv(*schema_, reports, views);
  });
}

result<std::string> tally_reports::html(int year, tally_view view) const {
  return capture([&] {
    const auto all = all_reports(year, std::nullopt);
    std::vector<const tally::period_report*> reports;
    for (const auto& r : all) reports.push_back(&r);
    return tally::annual_report_html(*schema_, reports, views_of(all, view),
                                     utc_time(unix_ms_now(), "%Y-%m-%d %H:%M UTC"));
  });
}

result<std::string> tally_reports::json(std::string_view id, int year, std::optional<int> month,
                                        tally_view view) const {
  return capture([&] {
    const auto [r, shown_as] = shown(id, year, month, view);
    return tally::to_json(r, shown_as);
  });
}

result<std::string> tally_reports::csv(std::string_view id, int year, std::optional<int> month,
                                       tally_view view) const {
  return capture([&] {
    const auto [r, shown_as] = shown(id, year, month, view);
    return tally::to_csv(r, shown_as);
  });
}

}  // namespace haven::server

#include <haven/core/clock.hpp>
#include <haven/server/tally_reports.hpp>
#include <haven/tally/annual_report.hpp>
#include <haven/tally/publication.hpp>

namespace haven::server {

std::string tally_reports::list_json(language lang) const {
  return tally::list_json(*schema_, lang);
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
    const std::vector<tally::period_report>& reports, presentation as) const {
  std::vector<tally::report_view> views(reports.size());
  if (as.view == tally_view::published) {
    std::string figures;  // what the views depend on: every figure of the period
    for (const auto& r : reports) figures += tally::to_json(r) + "\n";
    std::unique_lock lock(audited_->mutex);
    auto& cache = audited_->by_figures;
    if (auto it = cache.find(figures); it != cache.end()) {
      views = it->second;
    } else {
      // The audit runs unlocked: a slow one holds up no other request (two
      // requests for new figures at once may both audit them).
      lock.unlock();
      std::vector<const tally::period_report*> all;
      for (const auto& r : reports) all.push_back(&r);
      views = tally::public_views(*schema_, all, k_);
      lock.lock();
      if (cache.size() >= 64) cache.erase(cache.begin());
      cache.emplace(std::move(figures), views);
    }
  }
  for (auto& v : views) v.lang = as.lang;
  return views;
}

std::pair<tally::period_report, tally::report_view> tally_reports::shown(std::string_view id,
                                                                         int year,
                                                                         std::optional<int> month,
                                                                         presentation as) const {
  if (as.view == tally_view::internal) {
    tally::report_view every_figure;
    every_figure.lang = as.lang;
    return {report(id, year, month), every_figure};
  }
  const tally_def* t = schema_->tally(id);
  if (!t) throw failure(tally::unknown_tally(*schema_, id));
  auto all = all_reports(year, month);
  const auto index = static_cast<std::size_t>(t - schema_->tallies().data());
  return {std::move(all.at(index)), views_of(all, as).at(index)};
}

result<std::string> tally_reports::svg(std::string_view id, int year, std::optional<int> month,
                                       presentation as) const {
  return capture([&] {
    const auto [r, shown_as] = shown(id, year, month, as);
    return tally::chart_svg(r, shown_as);
  });
}

result<std::string> tally_reports::months_svg(std::string_view id, int year,
                                              presentation as) const {
  return capture([&] {
    std::vector<tally::period_report> months;
    std::vector<tally::report_view> views;
    for (int month = 1; month <= 12; ++month) {
      auto [r, shown_as] = shown(id, year, month, as);
      months.push_back(std::move(r));
      views.push_back(std::move(shown_as));
    }
    return tally::months_svg(months, views);
  });
}

std::pair<std::vector<tally::period_report>, std::vector<tally::report_view>> tally_reports::years(
    std::string_view id, int from, int to, presentation as) const {
  std::vector<tally::period_report> reports;
  std::vector<tally::report_view> views;
  for (int year = from; year <= to; ++year) {
    auto [r, shown_as] = shown(id, year, std::nullopt, as);
    reports.push_back(std::move(r));
    views.push_back(std::move(shown_as));
  }
  return {std::move(reports), std::move(views)};
}

result<std::string> tally_reports::years_json(std::string_view id, int from, int to,
                                              presentation as) const {
  return capture([&] {
    const auto [reports, views] = years(id, from, to, as);
    return tally::years_to_json(*schema_, reports, views);
  });
}

result<std::string> tally_reports::years_csv(std::string_view id, int from, int to,
                                             presentation as) const {
  return capture([&] {
    const auto [reports, views] = years(id, from, to, as);
    return tally::years_to_csv(*schema_, reports, views);
  });
}

result<std::string> tally_reports::html(int year, presentation as, std::optional<int> from) const {
  return capture([&] {
    tally::report_history history;
    for (int y = from.value_or(year); y <= year; ++y) {
      history.years.push_back(all_reports(y, std::nullopt));
      history.views.push_back(views_of(history.years.back(), as));
    }
    std::vector<const tally::period_report*> reports;
    for (const auto& r : history.years.back()) reports.push_back(&r);
    return tally::annual_report_html(*schema_, reports, history.views.back(),
                                     utc_time(unix_ms_now(), "%Y-%m-%d %H:%M UTC"), history);
  });
}

result<std::string> tally_reports::json(std::string_view id, int year, std::optional<int> month,
                                        presentation as) const {
  return capture([&] {
    const auto [r, shown_as] = shown(id, year, month, as);
    return tally::to_json(r, shown_as);
  });
}

result<std::string> tally_reports::codes_csv(std::string_view id, int year,
                                             std::optional<int> month, presentation as) const {
  return capture([&] {
    const auto [r, shown_as] = shown(id, year, month, as);
    return tally::to_codes_csv(r, shown_as);
  });
}

result<std::string> tally_reports::csv(std::string_view id, int year, std::optional<int> month,
                                       presentation as) const {
  return capture([&] {
    const auto [r, shown_as] = shown(id, year, month, as);
    return tally::to_csv(r, shown_as);
  });
}

}  // namespace haven::server

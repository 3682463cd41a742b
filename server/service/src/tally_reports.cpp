#include <haven/server/tally_reports.hpp>
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

tally::report_view tally_reports::view_of(const tally::period_report& r, tally_view view) const {
  if (view == tally_view::internal) return {};
  std::vector<tally::period_report> all;
  all.reserve(schema_->tallies().size());
  std::vector<const tally::period_report*> reports;
  std::size_t index = 0;
  for (const auto& t : schema_->tallies()) {
    if (&t == &r.def()) index = reports.size();
    reports.push_back(&all.emplace_back(report(t.id, r.year(), r.month())));
  }
  return tally::public_views(*schema_, reports, k_).at(index);
}

result<std::string> tally_reports::json(std::string_view id, int year, std::optional<int> month,
                                        tally_view view) const {
  return capture([&] {
    const auto r = report(id, year, month);
    return tally::to_json(r, view_of(r, view));
  });
}

result<std::string> tally_reports::csv(std::string_view id, int year, std::optional<int> month,
                                       tally_view view) const {
  return capture([&] {
    const auto r = report(id, year, month);
    return tally::to_csv(r, view_of(r, view));
  });
}

}  // namespace haven::server

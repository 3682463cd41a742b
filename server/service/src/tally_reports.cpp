#include <haven/server/tally_reports.hpp>

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

result<std::string> tally_reports::json(std::string_view id, int year,
                                        std::optional<int> month) const {
  return capture([&] { return tally::to_json(report(id, year, month)); });
}

result<std::string> tally_reports::csv(std::string_view id, int year,
                                       std::optional<int> month) const {
  return capture([&] { return tally::to_csv(report(id, year, month)); });
}

}  // namespace haven::server

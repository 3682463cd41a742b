#pragma once
// The tallies as a coordinator reads them: a tally_store's amounts made into
// a period's report (haven::tally::period_report) and rendered as JSON or
// CSV, for the HTTP API and `havend tally`. Thread-safe as its store; holds a
// reference to the store, which must outlive it.

#include <haven/core/result.hpp>
#include <haven/schema/schema.hpp>
#include <haven/server/tally_store.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace haven::server {

// Every figure, or the figures safe to publish (tally::public_views).
enum class tally_view { internal, published };

// How a tally is asked for: its view, and the language of its labels.
struct presentation {
  tally_view view = tally_view::internal;
  language lang = language::en;

  presentation(tally_view v = tally_view::internal, language l = language::en) : view(v), lang(l) {}
};

class tally_reports {
 public:
  // k: the public view hides cells of fewer than k persons (or records).
  tally_reports(tally_store& store, std::shared_ptr<const schema> s, std::int64_t k = 5)
      : store_(store), schema_(std::move(s)), k_(k) {}

  const schema& record_schema() const { return *schema_; }
  // [{"id", "title", "type"}, ...] of the declared tallies (tally::list_json).
  std::string list_json(language lang = language::en) const;
  // The report of tally `id` for `year`, or one `month` (1-12) of it, as
  // tally::to_json or tally::to_csv renders it. Errors: errc::not_found for
  // an unknown tally (the message lists the ids), errc::invalid_input for a
  // year outside 1-9999 or a month outside 1-12, and the store's errors. The
  // public view is chosen over every tally of the period at once.
  result<std::string> json(std::string_view id, int year, std::optional<int> month,
                           presentation as = {}) const;
  result<std::string> csv(std::string_view id, int year, std::optional<int> month,
                          presentation as = {}) const;
  // The report as a long CSV of codes (tally::to_codes_csv), for a machine
  // such as the Eurostat return. Errors: as json's.
  result<std::string> codes_csv(std::string_view id, int year, std::optional<int> month,
                                presentation as = {}) const;
  // The chart of tally `id`'s period (tally::chart_svg). Errors: as json's.
  result<std::string> svg(std::string_view id, int year, std::optional<int> month,
                          presentation as = {}) const;
  // Tally `id` through `year`, month by month (tally::months_svg), each
  // month's public view its own. Errors: as json's.
  result<std::string> months_svg(std::string_view id, int year, presentation as = {}) const;
  // Tally `id` for the years `from` to `to` side by side (tally::years_to_json
  // and years_to_csv), each year's public view its own. Errors: as json's.
  result<std::string> years_json(std::string_view id, int from, int to, presentation as = {}) const;
  result<std::string> years_csv(std::string_view id, int from, int to, presentation as = {}) const;
  // Every tally of `year` as the annual report (tally::annual_report_html),
  // with each tally's years from `from` side by side when given,
  // stamped with the time now. Errors: as json's.
  result<std::string> html(int year, presentation as = {},
                           std::optional<int> from = std::nullopt) const;

 private:
  // The period's report; throws the errors above.
  tally::period_report report(std::string_view id, int year, std::optional<int> month) const;
  // Tally `id` for each year from `from` to `to`, and the view of each.
  std::pair<std::vector<tally::period_report>, std::vector<tally::report_view>> years(
      std::string_view id, int from, int to, presentation as) const;
  // Every tally's report of the period, in schema order.
  std::vector<tally::period_report> all_reports(int year, std::optional<int> month) const;
  // The view of each of `reports` (one period): every figure, or the public view.
  std::vector<tally::report_view> views_of(const std::vector<tally::period_report>& reports,
                                           presentation as) const;
  // Tally `id`'s report of the period and its view: every figure, or its
  // public view among all the period's tallies (read once).
  std::pair<tally::period_report, tally::report_view> shown(std::string_view id, int year,
                                                            std::optional<int> month,
                                                            presentation as) const;

  // The public views audited last, by the figures they were audited for
  // (every report of a period): a dashboard that asks again after each sync,
  // or for another tally of the same period, waits for no solver when the
  // figures are the same.
  struct audited_views {
    std::mutex mutex;
    std::map<std::string, std::vector<tally::report_view>> by_figures;
  };

  tally_store& store_;
  std::shared_ptr<const schema> schema_;
  std::int64_t k_;
  std::shared_ptr<audited_views> audited_ = std::make_shared<audited_views>();
};

}  // namespace haven::server

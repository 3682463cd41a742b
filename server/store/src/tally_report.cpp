// The reports of tally_book: the stored amounts of a period, rendered by haven::tally.

#include <haven/server/tally_book.hpp>
#include <haven/tally/report.hpp>

#include "tally_tables.hpp"

namespace haven::server {
namespace {

constexpr const char* read_period_sql =
    "SELECT path, col, measure, value FROM tally_value WHERE tally = ?1 AND period = ?2";
constexpr const char* replay_message =
    "tally: the tallies were counted under other declarations and wait for a replay";

// The stored period of tally `id`, or the error a report gives instead.
tally::period_report read_report(sqlite::database& db, const schema& s, bool replay_pending,
                                 std::string_view id, int year, std::optional<int> month) {
  const tally_def* t = s.tally(id);
  if (!t) throw failure(tally::unknown_tally(s, id));
  if (replay_pending) throw failure(errc::store, replay_message);
  // A year or month out of range finds no rows; period_report refuses it.
  std::vector<tally::stored_amount> amounts;
  const auto index = static_cast<std::int64_t>(t - s.tallies().data());
  auto& st = db.cached(read_period_sql)
                 .bind(1, index)
                 .bind(2, tally_tables::period_number({year, month.value_or(0)}));
  while (st.step()) {
    const std::int64_t m = st.integer(2);
    if (m != tally_tables::records_column &&
        (m < 0 || m >= static_cast<std::int64_t>(t->measures.size())))
      continue;
    amounts.push_back(
        {st.text(0), st.text(1),
         m == tally_tables::records_column ? tally::records_measure : static_cast<std::uint32_t>(m),
         st.integer(3)});
  }
  return tally::period_report(s, *t, year, month, amounts);
}

}  // namespace

std::string tally_book::list_json() const {
  return tally::list_json(*schema_);
}

result<std::string> tally_book::report_json(std::string_view id, int year,
                                            std::optional<int> month) const {
  return capture(
      [&] { return tally::to_json(read_report(db_, *schema_, replay_pending_, id, year, month)); });
}

result<std::string> tally_book::report_csv(std::string_view id, int year,
                                           std::optional<int> month) const {
  return capture(
      [&] { return tally::to_csv(read_report(db_, *schema_, replay_pending_, id, year, month)); });
}

}  // namespace haven::server

// tally_book::amounts: the stored amounts of one period of a tally.

#include <haven/server/tally_book.hpp>

#include "tally_tables.hpp"

namespace haven::server {
namespace {

constexpr const char* read_period_sql =
    "SELECT path, col, measure, value FROM tally_value WHERE tally = ?1 AND period = ?2";
constexpr const char* replay_message =
    "tally: the tallies were counted under other declarations and wait for a replay";

}  // namespace

result<std::vector<tally::stored_amount>> tally_book::amounts(std::string_view id,
                                                              tally::tally_period period) const {
  return capture([&] {
    const tally_def* t = schema_->tally(id);
    if (!t) throw failure(tally::unknown_tally(*schema_, id));
    if (replay_pending_) throw failure(errc::store, replay_message);
    std::vector<tally::stored_amount> out;
    const auto index = static_cast<std::int64_t>(t - schema_->tallies().data());
    auto& st =
        db_.cached(read_period_sql).bind(1, index).bind(2, tally_tables::period_number(period));
    while (st.step()) {
      const std::int64_t m = st.integer(2);
      if (m != tally_tables::records_column &&
          (m < 0 || m >= static_cast<std::int64_t>(t->measures.size())))
        continue;
      out.push_back({st.text(0), st.text(1),
                     m == tally_tables::records_column ? tally::records_measure
                                                       : static_cast<std::uint32_t>(m),
                     st.integer(3)});
    }
    st.reset();
    return out;
  });
}

}  // namespace haven::server

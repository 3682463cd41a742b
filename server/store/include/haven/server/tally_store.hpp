#pragma once
// The incremental tally as the central store keeps it: the stored amounts of
// every declared tally per period, updated inside change_log::push's
// transaction. Numbers only: reports are made from them above the store
// (haven::tally::period_report, rendered by tally_reports in the service).
// An interface; implementations are thread-safe.

#include <haven/core/result.hpp>
#include <haven/tally/contribution.hpp>
#include <haven/tally/report.hpp>
#include <string_view>
#include <vector>

namespace haven::server {

class tally_store {
 public:
  virtual ~tally_store() = default;

  // Every non-zero amount of tally `id` for `period` ({year, 0} for a whole
  // year, {year, 1-12} for a month), at every level and column, in no
  // particular order; empty for a period with no records. A committed
  // snapshot. errc::not_found for a tally the schema does not declare;
  // errc::store while the tallies wait for a replay (their declarations
  // changed) or if the backend fails; errc::unavailable while they are
  // counted again, with a message that says so.
  virtual result<std::vector<tally::stored_amount>> amounts(std::string_view id,
                                                            tally::tally_period period) = 0;

  // Recounts the contributions that depend on today's date (open stays) when
  // the month has turned since they were counted; durable when it returns.
  // Call it at start and then about hourly. errc::store (thrown) if it fails.
  virtual void refresh() = 0;
};

}  // namespace haven::server

#pragma once
// The public view of one period's tallies: the cells each report hides,
// chosen for all of them at once (a margin that one tally publishes must not
// reveal a cell that another hides), and the audit that proves them safe.
// Pure; thread-safe.

#include <cstdint>
#include <haven/schema/schema.hpp>
#include <haven/tally/report.hpp>
#include <vector>

namespace haven::tally {

// Cells of fewer than k persons (a tally with a distinct-person measure) or
// records (one without) are hidden, then the cells that would reveal them,
// until the audit passes; the view of each report, in the order given.
// Requires: reports of `s`, all of one period; k >= 1. Throws
// failure(errc::internal) if the solver fails (nothing is published).
std::vector<report_view> public_views(const schema& s,
                                      const std::vector<const period_report*>& reports,
                                      std::int64_t k);

}  // namespace haven::tally

#pragma once
// How complete a tally is, as a coordinator must know before publishing it:
// the teams that contribute to it and when each last synced, those that have
// not synced for `stale_after_days` flagged.
//
// The rule: a tally's contributing teams are the teams that hold records of
// its record type in the central store (in any year, deleted ones included:
// a team that has recorded the type is expected to again); a team's last sync
// is the latest time one of its devices caught up with the store (pushed
// what it had and pulled to the end). A team is stale when that is more than
// stale_after_days ago, or never. A team that has never sent a record of the
// type cannot be known to contribute and is not listed.

#include <cstdint>
#include <haven/server/device_cursors.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace haven::server {

// {"rule", "record_type", "stale_after_days", "teams": [{"team",
// "last_sync" (UTC, ISO 8601, or null), "last_sync_ms", "days_since" (or
// null), "stale"}], "stale_teams"} as JSON, for `teams` (device_cursors::
// team_syncs of `record_type`) at `now_ms`.
std::string completeness_json(const std::vector<team_sync>& teams, std::string_view record_type,
                              std::int64_t stale_after_days, std::int64_t now_ms);

}  // namespace haven::server

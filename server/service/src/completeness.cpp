#include <algorithm>
#include <boost/json.hpp>
#include <haven/core/clock.hpp>
#include <haven/server/completeness.hpp>

namespace haven::server {

std::string completeness_json(const std::vector<team_sync>& teams, std::string_view record_type,
                              std::int64_t stale_after_days, std::int64_t now_ms) {
  constexpr std::int64_t day_ms = 24 * 60 * 60 * 1000;
  boost::json::array listed;
  std::int64_t stale_teams = 0;
  for (const auto& t : teams) {
    const bool stale = !t.last_sync_ms || now_ms - *t.last_sync_ms > stale_after_days * day_ms;
    stale_teams += stale ? 1 : 0;
    boost::json::object team{{"team", t.team}, {"stale", stale}};
    if (t.last_sync_ms) {
      team["last_sync"] = utc_time(*t.last_sync_ms, "%Y-%m-%dT%H:%M:%SZ");
      team["last_sync_ms"] = *t.last_sync_ms;
      team["days_since"] = std::max<std::int64_t>(0, (now_ms - *t.last_sync_ms) / day_ms);
    } else {
      team["last_sync"] = nullptr;
      team["last_sync_ms"] = nullptr;
      team["days_since"] = nullptr;
    }
    listed.push_back(std::move(team));
  }
  return boost::json::serialize(boost::json::object{
      {"rule", "the teams that hold records of type " + std::string(record_type) +
                   ", each with the last time one of its devices completed a sync; stale when "
                   "that is more than " +
                   std::to_string(stale_after_days) + " days ago, or never"},
      {"record_type", record_type},
      {"stale_after_days", stale_after_days},
      {"teams", std::move(listed)},
      {"stale_teams", stale_teams}});
}

}  // namespace haven::server

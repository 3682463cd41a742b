// A tally's completeness (completeness.hpp) and the routes that carry it:
// the JSON of /api/tallies/{id} lists the teams holding records of its type
// with their last sync and flags those older than the stale limit; GET
// /api/events is authorised like the tallies and answered as a stream.

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <haven/core/clock.hpp>
#include <haven/server/access_registry.hpp>
#include <haven/server/completeness.hpp>
#include <haven/server/http_api.hpp>
#include <haven/server/metrics.hpp>

#include "central_fixture.hpp"

namespace haven::test {
namespace {

constexpr std::int64_t day_ms = 24 * 60 * 60 * 1000;

}  // namespace

TEST_CASE("completeness: a team is stale past the limit, or when it never caught up",
          "[server][completeness]") {
  const std::int64_t now = 1'800'000'000'000;
  const auto c = boost::json::parse(server::completeness_json({{"fresh", now - 2 * day_ms},
                                                               {"edge", now - 14 * day_ms},
                                                               {"old", now - 14 * day_ms - 1},
                                                               {"never", std::nullopt}},
                                                              "pats_session", 14, now))
                     .as_object();
  CHECK(c.at("record_type") == "pats_session");
  CHECK(c.at("stale_after_days") == 14);
  CHECK(c.at("stale_teams") == 2);
  const auto& teams = c.at("teams").as_array();
  REQUIRE(teams.size() == 4);
  CHECK(teams[0].at("days_since") == 2);
  CHECK_FALSE(teams[0].at("stale").as_bool());
  CHECK_FALSE(teams[1].at("stale").as_bool());  // exactly 14 days: not yet
  CHECK(teams[2].at("stale").as_bool());
  CHECK(teams[3].at("stale").as_bool());
  CHECK(teams[3].at("last_sync").is_null());
  CHECK(teams[3].at("days_since").is_null());
  CHECK(teams[0].at("last_sync").as_string().ends_with("Z"));
}

TEST_CASE("completeness: each tally's JSON carries its type's teams; the CSV keeps its shape",
          "[server][completeness]") {
  central_fixture f;
  server::metrics counters;
  server::http_api api{f.store(), f.store(), f.tallies(), counters};
  api.stale_after_days(3);
  auto a = f.enroll("dev-a", "team-a", 1);
  f.push(a, {a.record(test_id(1), "pats_session", group_session("2026-03-01", "vic", "12"))});
  f.store().synced("dev-a", unix_ms_now());
  const auto r = api.handle("GET", "/api/tallies/pats-group-by-site?year=2026");
  REQUIRE(r.status == 200);
  const auto c = boost::json::parse(r.body).at("completeness");
  CHECK(c.at("stale_after_days") == 3);
  REQUIRE(c.at("teams").as_array().size() == 1);
  CHECK(c.at("teams").at(0).at("team") == "team-a");
  CHECK_FALSE(c.at("teams").at(0).at("stale").as_bool());
  const auto years = api.handle("GET", "/api/tallies/pats-group-by-site?from=2025&to=2026");
  CHECK(boost::json::parse(years.body).at("completeness").at("teams").as_array().size() == 1);
  const auto none = api.handle("GET", "/api/tallies/on-call-by-outcome?year=2026");
  CHECK(boost::json::parse(none.body).at("completeness").at("teams").as_array().empty());
  const auto csv = api.handle("GET", "/api/tallies/pats-group-by-site.csv?year=2026");
  CHECK(csv.body.find("completeness") == std::string::npos);
}

TEST_CASE("http: /api/events is answered as an event stream, with the tallies' sign-in",
          "[server][http]") {
  central_fixture f;
  server::metrics counters;
  server::http_api open_api{f.store(), f.store(), f.tallies(), counters};
  const auto r = open_api.handle("GET", "/api/events");
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/event-stream");
  CHECK(r.body.empty());
  CHECK(open_api.token_still_valid(""));  // no authentication: nothing to expire

  auto registry = server::open_sqlite_registry(f.file());
  server::http_api api{f.store(), f.store(), f.tallies(), counters, registry.get()};
  CHECK(api.handle("GET", "/api/events").status == 401);
  const std::string token = registry->issue_token("maja", 1000);
  const auto signed_in = api.handle({"GET", "/api/events", "Bearer " + token, "", "127.0.0.1"});
  CHECK(signed_in.status == 200);
  CHECK(signed_in.coordinator == "maja");
  CHECK(api.token_still_valid("Bearer " + token));
  registry->issue_token("maja", 2000);  // replaces it
  CHECK_FALSE(api.token_still_valid("Bearer " + token));
  CHECK_FALSE(api.token_still_valid(""));
}

}  // namespace haven::test

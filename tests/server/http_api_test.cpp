// havend's HTTP routes as a plain function over a real SQLite central store:
// /healthz, /metrics, the tally list, reports as JSON and CSV, the errors a
// coordinator's script can act on, methods, and the dashboard.

#include <catch2/catch.hpp>
#include <haven/server/http_api.hpp>
#include <haven/server/metrics.hpp>
#include <string>
#include <vector>

#include "central_fixture.hpp"

namespace haven::test {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

// A store with a few records of 2026 (and one of 2025), metrics, and the API over them.
struct api_fixture : central_fixture {
  server::metrics counters;
  server::http_api api{store(), store(), tallies(), counters};

  api_fixture() {
    auto a = enroll("dev-a", "team-a", 1);
    push(a, {a.record(test_id(1), "pats_session", group_session("2026-03-01", "vic", "12")),
             a.record(test_id(2), "pats_session", group_session("2026-03-09", "postojna", "30")),
             a.record(test_id(3), "pats_session", group_session("2026-05-01", "vic", "8")),
             a.record(test_id(4), "pats_session", group_session("2025-12-31", "vic", "100"))});
  }

  server::http_reply get(const std::string& target) const { return api.handle("GET", target); }
  boost::json::value json(const std::string& target) const {
    const auto r = get(target);
    INFO(target << " -> " << r.status << " " << r.body);
    REQUIRE(r.content_type == "application/json");
    return boost::json::parse(r.body);
  }
  // The "error" message of a refused request; REQUIREs the status.
  std::string error_of(const std::string& target, unsigned status,
                       const std::string& method = "GET") const {
    const auto r = api.handle(method, target);
    INFO(method << " " << target << " -> " << r.body);
    REQUIRE(r.status == status);
    REQUIRE(r.content_type == "application/json");
    const auto body = boost::json::parse(r.body).as_object();
    REQUIRE(body.contains("error"));
    return std::string(body.at("error").as_string());
  }
};

}  // namespace

TEST_CASE("http: /healthz says ok with the log head and record count", "[server][http]") {
  api_fixture f;
  const auto r = f.get("/healthz");
  CHECK(r.status == 200);
  const auto body = f.json("/healthz").as_object();
  CHECK(body.at("status").as_string() == "ok");
  CHECK(body.at("head").to_number<std::uint64_t>() == f.store().counts().head);
  CHECK(body.at("records").to_number<std::uint64_t>() == 4);
  CHECK(f.get("/healthz?probe=1").status == 200);
}

TEST_CASE("http: /metrics is Prometheus text with every documented metric and the push histogram",
          "[server][http]") {
  api_fixture f;
  f.counters.connected_devices = 2;
  f.counters.changes_received += 16;
  f.counters.observe_push_seconds(0.003);
  f.counters.observe_push_seconds(0.2);
  const auto r = f.get("/metrics");
  CHECK(r.status == 200);
  CHECK_THAT(r.content_type, StartsWith("text/plain"));
  CHECK_THAT(r.content_type, Contains("version=0.0.4"));
  for (const char* name :
       {"haven_connected_devices", "haven_sessions_total", "haven_changes_received_total",
        "haven_changes_applied_total", "haven_changes_sent_total", "haven_refused_frames_total",
        "haven_http_requests_total", "haven_store_records", "haven_store_cells",
        "haven_store_log_head", "haven_store_bytes", "haven_devices_known"}) {
    CAPTURE(name);
    CHECK_THAT(r.body, Contains(std::string("# TYPE ") + name + " "));
    CHECK_THAT(r.body, Contains(std::string("# HELP ") + name + " "));
  }
  CHECK_THAT(r.body, Contains("haven_connected_devices 2\n"));
  CHECK_THAT(r.body, Contains("haven_changes_received_total 16\n"));
  CHECK_THAT(r.body, Contains("haven_store_records 4\n"));
  CHECK_THAT(r.body,
             Contains("haven_store_log_head " + std::to_string(f.store().counts().head) + "\n"));
  CHECK_THAT(r.body, Contains("haven_devices_known 1\n"));
  // The histogram: cumulative buckets, +Inf, sum and count.
  CHECK_THAT(r.body, Contains("# TYPE haven_push_seconds histogram\n"));
  CHECK_THAT(r.body, Contains("haven_push_seconds_bucket{le=\"0.001\"} 0\n"));
  CHECK_THAT(r.body, Contains("haven_push_seconds_bucket{le=\"0.005\"} 1\n"));
  CHECK_THAT(r.body, Contains("haven_push_seconds_bucket{le=\"0.1\"} 1\n"));
  CHECK_THAT(r.body, Contains("haven_push_seconds_bucket{le=\"0.25\"} 2\n"));
  CHECK_THAT(r.body, Contains("haven_push_seconds_bucket{le=\"+Inf\"} 2\n"));
  CHECK_THAT(r.body, Contains("haven_push_seconds_sum 0.203\n"));
  CHECK_THAT(r.body, Contains("haven_push_seconds_count 2\n"));
}

TEST_CASE("http: /api/tallies lists the contract tallies with titles", "[server][http]") {
  api_fixture f;
  for (const std::string target : {"/api/tallies", "/api/tallies/"}) {
    CAPTURE(target);
    std::vector<std::string> ids;
    const auto list = f.json(target);
    for (const auto& t : list.as_array()) {
      ids.emplace_back(t.at("id").as_string());
      CHECK_FALSE(t.at("title").as_string().empty());
    }
    CHECK(ids == required_tally_ids());
  }
}

TEST_CASE("http: a tally report as JSON has cells and total for the year or a month",
          "[server][http]") {
  api_fixture f;
  const auto year = f.json("/api/tallies/pats-group-by-site?year=2026").as_object();
  CHECK(year.at("id").as_string() == "pats-group-by-site");
  REQUIRE(year.contains("cells"));
  CHECK(total(year, "participants") == 50);
  CHECK(total(year, "sessions") == 3);
  CHECK(cell(year, {"vic"}) ==
        std::map<std::string, std::int64_t>{{"participants", 20}, {"sessions", 2}});
  CHECK(cell(year, {"postojna"}) ==
        std::map<std::string, std::int64_t>{{"participants", 30}, {"sessions", 1}});
  CHECK(total(f.json("/api/tallies/pats-group-by-site?year=2025").as_object(), "participants") ==
        100);

  const auto march = f.json("/api/tallies/pats-group-by-site?month=3&year=2026").as_object();
  CHECK(march.at("month").as_int64() == 3);
  CHECK(total(march, "participants") == 42);

  // Every tally answers, with an empty year too.
  for (const auto& id : required_tally_ids()) {
    CAPTURE(id);
    const auto r = f.json("/api/tallies/" + id + "?year=2030").as_object();
    CHECK(r.contains("cells"));
    CHECK(r.contains("total"));
  }
  CHECK(f.get("/api/tallies/pats-group-by-site?year=2026").status == 200);
}

TEST_CASE("http: a tally report as CSV is a download named after the tally and period",
          "[server][http]") {
  api_fixture f;
  const auto r = f.get("/api/tallies/pats-group-by-site.csv?year=2026");
  CHECK(r.status == 200);
  CHECK_THAT(r.content_type, StartsWith("text/csv"));
  CHECK(r.content_disposition == "attachment; filename=\"pats-group-by-site-2026.csv\"");
  CHECK_THAT(r.body, StartsWith("Site,"));
  CHECK_THAT(r.body, Contains("\nTotal,50,3\n"));
  CHECK(r.body == f.tallies().csv("pats-group-by-site", 2026, {}).value());

  const auto march = f.get("/api/tallies/pats-group-by-site.csv?year=2026&month=3");
  CHECK(march.status == 200);
  CHECK_THAT(march.content_disposition, Contains("filename=\"pats-group-by-site-2026-3.csv\""));
  CHECK_THAT(march.body, Contains("\nTotal,42,2\n"));
}

TEST_CASE("http: the public view of a tally hides what fewer than k records make, and says so",
          "[server][http]") {
  api_fixture f;
  // Three group sessions: every cell counts fewer than 5 records.
  const auto r = f.json("/api/tallies/pats-group-by-site?year=2026&view=public").as_object();
  CHECK(r.at("view").at("name") == "public");
  CHECK(r.at("view").at("k") == 5);
  CHECK(r.at("total").at("sessions") == "<5");
  CHECK(r.at("total").at("participants") == "<5");
  const auto csv = f.get("/api/tallies/pats-group-by-site.csv?year=2026&view=public");
  CHECK(csv.status == 200);
  CHECK_THAT(csv.body, Contains("\nTotal,<5,<5\n") && Contains("\nview,public,k=5,"));
  CHECK_THAT(csv.body, !Contains("50"));
  // The internal view is the default, and unchanged.
  CHECK(f.json("/api/tallies/pats-group-by-site?year=2026&view=internal").at("view").at("name") ==
        "internal");
  CHECK_THAT(f.error_of("/api/tallies/pats-group-by-site?year=2026&view=secret", 400),
             Contains("view must be internal") && Contains("public"));
}

TEST_CASE("http: a tally for a range of years side by side, as JSON and CSV", "[server][http]") {
  api_fixture f;
  const auto r = f.json("/api/tallies/pats-group-by-site?from=2025&to=2026").as_object();
  CHECK(r.at("years") == boost::json::array{2025, 2026});
  CHECK(r.at("total").at("2025").at("participants") == 100);
  CHECK(r.at("total").at("2026").at("participants") == 50);
  CHECK(r.at("view").at("name") == "internal");
  const auto csv = f.get("/api/tallies/pats-group-by-site.csv?from=2025&to=2026");
  CHECK(csv.status == 200);
  CHECK_THAT(csv.body,
             StartsWith("Site,2025: Participants,2025: Group sessions,2026: Participants,"));
  CHECK_THAT(csv.body, Contains("\nTotal,100,"));
  CHECK_THAT(csv.content_disposition, Contains("pats-group-by-site-2025-2026.csv"));
  const auto published =
      f.json("/api/tallies/pats-group-by-site?from=2025&to=2026&view=public").as_object();
  CHECK(published.at("total").at("2026").at("sessions") == "<5");
  for (const std::string query : {"?from=2026&to=2025", "?from=2026", "?to=2026",
                                  "?from=1990&to=2026", "?from=2025&to=2026&year=2026"}) {
    CAPTURE(query);
    CHECK_THAT(f.error_of("/api/tallies/pats-group-by-site" + query, 400),
               Contains("from") || Contains("year"));
  }
}

TEST_CASE("http: a tally through the year as a line chart, and the CSV of codes",
          "[server][http]") {
  api_fixture f;
  const auto line = f.get("/api/tallies/pats-group-by-site.svg?year=2026&by=month");
  CHECK(line.status == 200);
  CHECK(line.content_type == "image/svg+xml");
  CHECK_THAT(line.body, Contains("class=\"chart months\"") && Contains(">Mar: ") &&
                            Contains("<path class=\"line\""));
  const auto points = [](const std::string& svg) {
    std::size_t n = 0;
    for (auto at = svg.find("class=\"point\""); at != std::string::npos;
         at = svg.find("class=\"point\"", at + 1))
      ++n;
    return n;
  };
  CHECK(points(line.body) == 12);
  // Months audited apart from their year could reveal a hidden month by difference.
  CHECK_THAT(f.error_of("/api/tallies/pats-group-by-site.svg?year=2026&by=month&view=public", 400),
             Contains("internal view only"));
  CHECK_THAT(f.error_of("/api/tallies/pats-group-by-site.csv?year=2026&by=month", 400),
             Contains("by=month is a chart of a whole year"));
  CHECK_THAT(f.error_of("/api/tallies/pats-group-by-site.svg?year=2026&by=week", 400),
             Contains("by must be row"));

  const auto codes = f.get("/api/tallies/pats-group-by-site.csv?year=2026&format=codes");
  CHECK(codes.status == 200);
  CHECK_THAT(codes.content_disposition, Contains("pats-group-by-site-2026-codes.csv"));
  CHECK_THAT(codes.body, StartsWith("period,site,measure,value,flag\n") &&
                             Contains("\n2026,TOTAL,participants,50,\n") &&
                             Contains("\n2026,logatec,sessions,0,\n"));
  CHECK_THAT(f.error_of("/api/tallies/pats-group-by-site?year=2026&format=codes", 400),
             Contains("format=codes is a CSV"));
  CHECK_THAT(f.error_of("/api/tallies/pats-group-by-site.csv?year=2026&format=xml", 400),
             Contains("format must be labels"));
}

TEST_CASE("http: the annual report with each tally's years side by side", "[server][http]") {
  api_fixture f;
  const auto report = f.get("/report?year=2026&from=2025");
  CHECK(report.status == 200);
  CHECK_THAT(report.body,
             Contains("<h3>Year by year</h3><table class=\"years\"><thead><tr><th></th>"
                      "<th>2025 · Participants</th>"));
  CHECK_THAT(f.get("/report?year=2026").body, !Contains("Year by year"));
  CHECK_THAT(f.error_of("/report?year=2026&from=2027", 400), Contains("from must be"));
  CHECK_THAT(f.error_of("/report?year=2026&from=26", 400), Contains("from"));
}

TEST_CASE("http: the public view follows the figures: a sync that changes them audits again",
          "[server][http]") {
  api_fixture f;
  const auto before = f.json("/api/tallies/pats-group-by-site?year=2025&view=public");
  CHECK(before.at("total").at("sessions") == "<5");
  CHECK(f.json("/api/tallies/pats-group-by-site?year=2025&view=public") == before);  // kept
  auto b = f.enroll("dev-b", "team-a", 2);
  std::vector<sync::record_change> more;
  for (const char* day : {"2025-06-01", "2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05"})
    more.push_back(
        b.record(test_id(10 + more.size()), "pats_session", group_session(day, "logatec", "10")));
  f.push(b, more);
  const auto after = f.json("/api/tallies/pats-group-by-site?year=2025&view=public");
  CHECK(after.at("total").at("sessions") == 6);
}

TEST_CASE("http: ?lang=sl labels a tally, its CSV and the list in Slovenian; codes stay codes",
          "[server][http]") {
  api_fixture f;
  const auto r = f.json("/api/tallies/pats-group-by-site?year=2026&lang=sl").as_object();
  CHECK(r.at("lang") == "sl");
  CHECK(r.at("title") == "Osebe, informirane v skupinah, po lokaciji");
  CHECK(r.at("row_labels") == boost::json::array{"Lokacija"});
  CHECK(r.at("measures").as_array()[1].at("title") == "Skupinska srečanja");
  CHECK(r.at("measures").as_array()[1].at("id") == "sessions");
  const auto& first = r.at("table").as_array().at(0);
  CHECK(first.at("row") == boost::json::array{"vic"});
  CHECK(first.at("label") == "Vič");
  CHECK(f.json("/api/tallies/pats-group-by-site?year=2026").at("title") ==
        "People informed in groups, by site");
  CHECK_THAT(f.get("/api/tallies/pats-group-by-site.csv?year=2026&lang=sl").body,
             StartsWith("Lokacija,Udeleženci,Skupinska srečanja\n") && Contains("\nSkupaj,50,3\n"));
  CHECK(f.json("/api/tallies?lang=sl").as_array().at(0).at("title") ==
        "Individualno informirane osebe po lokaciji");
  CHECK_THAT(f.get("/report?year=2026&lang=sl").body,
             Contains("<html lang=\"sl\">") && Contains("Kaj šteje") && Contains("Skupaj"));
  for (const std::string target : {"/api/tallies/pats-group-by-site?year=2026&lang=de",
                                   "/api/tallies?lang=EN", "/report?year=2026&lang="}) {
    CAPTURE(target);
    CHECK_THAT(f.error_of(target, 400), Contains("lang must be en (English) or sl (Slovenian)"));
  }
}

TEST_CASE("http: a missing or bad year or month is 400 with an error that says what to give",
          "[server][http]") {
  api_fixture f;
  for (const std::string query :
       {"", "?", "?year=", "?year=abc", "?year=20266", "?year=1899", "?year=2201", "?year=2026x",
        "?year=+2026", "?yea=2026", "?month=3"}) {
    CAPTURE(query);
    CHECK_THAT(f.error_of("/api/tallies/pats-group-by-site" + query, 400), Contains("year"));
    CHECK_THAT(f.error_of("/api/tallies/pats-group-by-site.csv" + query, 400), Contains("year"));
  }
  for (const std::string month : {"0", "13", "x", "", "3.5", "-1"}) {
    CAPTURE(month);
    CHECK_THAT(f.error_of("/api/tallies/pats-group-by-site?year=2026&month=" + month, 400),
               Contains("month"));
  }
}

TEST_CASE(
    "http: a year that is not four digits is refused, saying so, and the query is decoded as a "
    "URL's",
    "[server][http]") {
  api_fixture f;
  CHECK(f.error_of("/api/tallies/pats-group-by-site?year=26", 400) ==
        "year must be a four-digit year such as 2026 (got 26)");
  CHECK(f.error_of("/api/tallies/pats-group-by-site.csv?year=0026", 400) ==
        "year must be a four-digit year such as 2026 (got 0026)");
  CHECK_THAT(f.error_of("/api/tallies/pats-group-by-site?year=2026&year=1999", 400),
             Contains("twice"));
  CHECK_THAT(f.error_of("/api/tallies/pats-group-by-site?year=%zz", 400), Contains("not valid"));
  // Percent-escapes are decoded: %32%30%32%36 is 2026.
  CHECK(f.get("/api/tallies/pats-group-by-site?year=%32%30%32%36").status == 200);
  CHECK(f.get("/api/tallies/pats-group-by-site?month=3&year=2026").status == 200);
}

TEST_CASE("http: an unknown tally or page is 404, a method other than GET or HEAD is 405",
          "[server][http]") {
  api_fixture f;
  CHECK_THAT(f.error_of("/api/tallies/no-such-tally?year=2026&view=public", 404),
             Contains("no-such-tally"));
  const std::string unknown = f.error_of("/api/tallies/no-such-tally?year=2026", 404);
  CHECK_THAT(unknown, Contains("no-such-tally"));
  CHECK_THAT(unknown, Contains("pats-group-by-site"));  // the ids one could have meant
  CHECK_THAT(f.error_of("/api/tallies/no-such-tally.csv?year=2026", 404),
             Contains("no-such-tally"));
  for (const std::string path :
       {"/nope", "/api", "/api/talliesx", "/healthz/x", "/metrics.txt", "/index.htm"}) {
    CAPTURE(path);
    CHECK_THAT(f.error_of(path, 404), Contains(path));
  }
  for (const std::string method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get"}) {
    CAPTURE(method);
    CHECK_FALSE(f.error_of("/api/tallies", 405, method).empty());
    CHECK(f.api.handle(method, "/nope").status == 405);
  }
}

TEST_CASE("http: HEAD is answered like GET", "[server][http]") {
  api_fixture f;
  for (const std::string target :
       {"/healthz", "/metrics", "/api/tallies", "/api/tallies/pats-group-by-site?year=2026",
        "/api/tallies/pats-group-by-site.csv?year=2026", "/", "/nope",
        "/api/tallies/pats-group-by-site"}) {
    CAPTURE(target);
    const auto head = f.api.handle("HEAD", target);
    const auto get = f.get(target);
    CHECK(head.status == get.status);
    CHECK(head.content_type == get.content_type);
    CHECK(head.content_disposition == get.content_disposition);
  }
}

TEST_CASE("http: / serves the coordinator dashboard", "[server][http]") {
  api_fixture f;
  for (const std::string target : {"/", "/index.html", "/?year=2026"}) {
    CAPTURE(target);
    const auto r = f.get(target);
    CHECK(r.status == 200);
    CHECK_THAT(r.content_type, StartsWith("text/html"));
    CHECK_THAT(r.body, Contains("<html"));
    CHECK_THAT(r.body, Contains("/api/tallies"));
  }
}

TEST_CASE("http: the request target is read as a URL's path and query, each percent-decoded",
          "[server][http][url]") {
  api_fixture f;
  // The query: each parameter decoded (2%30%32%36 is 2026, %33 is 3).
  const auto march =
      f.json("/api/tallies/pats-group-by-site?year=2%30%32%36&month=%33").as_object();
  CHECK(march.at("year").as_int64() == 2026);
  CHECK(march.at("month").as_int64() == 3);
  CHECK(total(march, "participants") == 42);
  // The path too: %2D is '-', %2E is '.'.
  CHECK(f.get("/api/tallies/pats%2Dgroup-by-site?year=2026").status == 200);
  CHECK(f.get("/api/tallies/pats-group-by-site%2Ecsv?year=2026")
            .content_type.starts_with("text/csv"));
  CHECK(f.get("/healt%68z").status == 200);
  // A target that is not a path with a query is refused, not routed.
  for (const std::string target :
       {"*", "http://example.org/healthz", "healthz", "/healthz?%zz#x"}) {
    CAPTURE(target);
    CHECK_THAT(f.error_of(target, 400), Contains("path"));
  }
}

}  // namespace haven::test

namespace haven::test {

TEST_CASE("http: while the tallies are counted again a report is 503 with when to ask again",
          "[server][http][upgrade]") {
  recount_gate gate;
  bool recounting = false;
  central_fixture f(recounting_opener(gate, recounting, 1));
  auto a = f.enroll("dev-a", "team-a", 1);
  f.push(a, {a.record(test_id(1), "pats_session", group_session("2026-03-01", "vic", "12")),
             a.record(test_id(2), "pats_session", group_session("2026-03-09", "postojna", "30"))});
  f.close();
  as_older_engine(f.file(), 3);
  recounting = true;
  f.reopen();
  gate.parts(1);  // waits after the first record
  server::metrics counters;
  const server::http_api api{f.store(), f.store(), f.tallies(), counters};
  const std::string target = "/api/tallies/pats-group-by-site?year=2026";
  for (const auto& t : {target, std::string("/api/tallies/pats-group-by-site.csv?year=2026"),
                        std::string("/api/tallies/pats-group-by-site.svg?year=2026"),
                        std::string("/report?year=2026")}) {
    INFO(t);
    const auto r = api.handle("GET", t);
    CHECK(r.status == 503);
    CHECK_THAT(r.body, Contains("counted again") && Contains("try again in a minute"));
    CHECK(std::find(r.headers.begin(), r.headers.end(),
                    std::pair<std::string, std::string>{"Retry-After", "60"}) != r.headers.end());
  }
  gate.let_go();
  wait_for_recount(f.store());
  const auto r = api.handle("GET", target);
  CHECK(r.status == 200);
  CHECK_THAT(r.body, Contains("postojna"));
}

}  // namespace haven::test

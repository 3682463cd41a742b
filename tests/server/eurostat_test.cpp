// The Eurostat tallies: victims registered in a year by citizenship, age
// group and form of exploitation, each by sex, through the mappings the
// schema declares; checked against the oracle and as the CSV of codes that
// goes to Eurostat.

#include <haven/schema/pseudonym.hpp>
#include <haven/tally/contribution.hpp>
#include <string>

#include "tally_fixture.hpp"

using namespace haven;
using namespace haven::test;
using Catch::Matchers::Contains;

namespace {

// A victim admitted on `admitted`, as a crisis-accommodation case.
typed_fields victim(int n, const char* sex, const char* age_band, const char* nationality,
                    const char* exploitation, const char* admitted = "2026-03-01") {
  return {{"programme", "crisis-accommodation"},
          {"person", with_check_symbol("PV-" + std::to_string(1000 + n))},
          {"sex", sex},
          {"age_band", age_band},
          {"nationality", nationality},
          {"exploitation", exploitation},
          {"admitted", admitted}};
}

}  // namespace

TEST_CASE("eurostat: citizenship, age and sex map as the schema declares", "[server][eurostat]") {
  tally_fixture f;
  f.put("a", "assistance_case", victim(1, "female", "child", "SI", "sexual"));
  f.put("b", "assistance_case", victim(2, "female", "adult", "HR", "forced-labour"));
  f.put("c", "assistance_case", victim(3, "male", "adolescent", "RS", "begging"));
  f.put("d", "assistance_case", victim(4, "other", "", "XX", ""));
  f.put("e", "assistance_case",
        victim(5, "female", "unknown", "NG", "sexual,labour,forced-labour"));
  // Admitted the year before and still in care: not registered in 2026.
  f.put("f", "assistance_case", victim(6, "male", "adult", "UA", "labour", "2025-12-30"));

  auto r = f.report("eurostat-victims-by-citizenship", 2026);
  using values = std::map<std::string, std::int64_t>;
  CHECK(cell(r, {"NAT"}, "F") == values{{"victims", 1}});
  CHECK(cell(r, {"EU27_2020_FOR"}, "F") == values{{"victims", 1}});
  CHECK(cell(r, {"NEU27_2020_FOR"}, "M") == values{{"victims", 1}});
  CHECK(cell(r, {"NEU27_2020_FOR"}, "F") == values{{"victims", 1}});
  CHECK(cell(r, {"UNK"}, "UNK") == values{{"victims", 1}});  // XX, and sex "other"
  CHECK(r.at("total").at("victims") == 5);

  r = f.report("eurostat-victims-by-age", 2026);
  CHECK(cell(r, {"Y_LT18"}, "F") == values{{"victims", 1}});
  CHECK(cell(r, {"Y_LT18"}, "M") == values{{"victims", 1}});  // an adolescent
  CHECK(cell(r, {"Y_GE18"}, "F") == values{{"victims", 1}});
  CHECK(cell(r, {"UNK"}, "UNK") == values{{"victims", 1}});  // not recorded
  CHECK(cell(r, {"UNK"}, "F") == values{{"victims", 1}});    // "unknown"

  // A victim of several forms counts under each form once, and once in the total.
  r = f.report("eurostat-victims-by-exploitation", 2026);
  CHECK(cell(r, {"ICCS02041"}, "F") == values{{"victims", 2}});
  CHECK(cell(r, {"ICCS02042"}, "F") == values{{"victims", 2}});  // labour + forced labour: once
  CHECK(cell(r, {"ICCS02043_02044"}, "M") == values{{"victims", 1}});
  CHECK(cell(r, {"UNK"}, "UNK") == values{{"victims", 1}});
  CHECK(r.at("total").at("victims") == 5);
  f.check_all(2026);
  f.check_all(2026, 3);
}

TEST_CASE("eurostat: the CSV of codes writes every cell, 0 apart from not recorded",
          "[server][eurostat]") {
  tally_fixture f;
  f.put("a", "assistance_case", victim(1, "female", "adult", "SI", "sexual"));
  f.put("b", "assistance_case", victim(2, "male", "adult", "DE", "labour"));
  const std::string csv =
      f.reports().codes_csv("eurostat-victims-by-citizenship", 2026, std::nullopt).value();
  INFO(csv);
  CHECK_THAT(csv, Contains("period,eurostat_citizenship,eurostat_sex,measure,value,flag\n"));
  CHECK_THAT(csv, Contains("\n2026,TOTAL,TOTAL,victims,2,\n"));
  CHECK_THAT(csv, Contains("\n2026,NAT,F,victims,1,\n"));
  CHECK_THAT(csv, Contains("\n2026,NAT,M,victims,0,\n"));  // known to be none
  CHECK_THAT(csv, Contains("\n2026,EU27_2020_FOR,M,victims,1,\n"));
  CHECK_THAT(csv, Contains("\n2026,NEU27_2020_FOR,TOTAL,victims,0,\n"));
  CHECK_THAT(csv, Contains("\n2026,STLS,F,victims,,m\n"));  // the schema cannot record it
  CHECK_THAT(csv, Contains("\n2026,STLS,TOTAL,victims,,m\n"));
  CHECK_THAT(csv, Contains("\n2026,UNK,UNK,victims,0,\n"));
  // Every code of both mappings is a line: 5 citizenships + total, 3 sexes + total.
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 1 + 6 * 4 + 1);
  CHECK(csv.ends_with("\nview,internal\n"));

  // In the public view both victims' cells are hidden, never written as 0.
  const std::string published = f.reports()
                                    .codes_csv("eurostat-victims-by-citizenship", 2026,
                                               std::nullopt, server::tally_view::published)
                                    .value();
  INFO(published);
  CHECK_THAT(published, Contains("\n2026,NAT,F,victims,,c\n"));
  CHECK_THAT(published, Contains("\n2026,TOTAL,TOTAL,victims,,c\n"));
  CHECK(published.find(",1,\n") == std::string::npos);
  CHECK_THAT(published, Contains("\nview,public,k=5,"));
}

TEST_CASE("eurostat: a changed mapping changes the declarations, so stores replay their tallies",
          "[server][eurostat]") {
  const std::string shipped(schema::builtin_source());
  const auto edited = [&](const std::string& from, const std::string& to) {
    std::string text = shipped;
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
  };
  auto moved =
      schema::parse(edited(R"("F": ["female"], "M": ["male"], "UNK": ["other", "unknown"])",
                           R"("F": ["female", "other"], "M": ["male"], "UNK": ["unknown"])"));
  REQUIRE(moved);
  CHECK(tally::declarations(*moved.value()) != tally::declarations(*schema::builtin()));
  // A code in two places: the loader says which.
  auto twice = schema::parse(edited(R"("NAT": ["SI"])", R"("NAT": ["SI", "HR"])"));
  REQUIRE_FALSE(twice);
  CHECK_THAT(twice.err().message, Contains("\"HR\" maps to NAT already"));
}

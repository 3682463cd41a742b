// Tally declarations in the schema: the shipped ones, and the malformed ones
// the parser refuses with a message that names the tally and the problem.

#include <catch2/catch.hpp>
#include <string>

#include "tally_fixture.hpp"

namespace haven::test {
namespace {

// A schema with one record type and the given tally declarations.
std::string schema_with(const std::string& tallies) {
  return R"({"version": 1, "record_types": {"visit": {"fields": {
      "day": {"type": "date"}, "until": {"type": "date"},
      "site": {"type": "code", "codes": ["a", "b"]},
      "tags": {"type": "set", "codes": ["x", "y"]},
      "count": {"type": "integer"}, "person": {"type": "pseudonym"}, "note": {"type": "code", "codes": ["n"]},
      "flag": {"type": "boolean"}},
    "derived": {"length": {"days_between": ["day", "until"], "min": 1}}}},
    "tallies": [)" +
         tallies + "]}";
}

// A valid declaration with one member replaced or added.
std::string tally_with(const std::string& members) {
  return R"({"id": "t1", "type": "visit", "rows": ["site"], "measures": [{"id": "n", "count": true}], )" +
         members + "}";
}

error refused(const std::string& tallies) {
  auto r = schema::parse(schema_with(tallies));
  if (r) FAIL("accepted: " << tallies);
  CHECK(r.err().code == errc::schema);
  return r.err();
}

}  // namespace

TEST_CASE("the shipped schema declares the contract tallies", "[server][tally]") {
  const schema& s = *shipped_schema();
  struct expected {
    const char* id;
    const char* type;
    std::vector<std::string> rows;
    std::optional<std::string> column;
    std::vector<std::pair<std::string, measure_kind>> measures;
    bool period;
  };
  const std::vector<expected> all{
      {"pats-individual-by-site",
       "pats_session",
       {"site"},
       std::nullopt,
       {{"persons", measure_kind::distinct}},
       false},
      {"pats-group-by-site",
       "pats_session",
       {"site"},
       std::nullopt,
       {{"participants", measure_kind::sum}, {"sessions", measure_kind::count}},
       false},
      {"assisted-by-nationality-sex",
       "assistance_case",
       {"programme", "nationality"},
       "sex",
       {{"persons", measure_kind::distinct}},
       true},
      {"assisted-by-exploitation-sex",
       "assistance_case",
       {"exploitation"},
       "sex",
       {{"persons", measure_kind::distinct}},
       true},
      {"care-days-by-nationality",
       "assistance_case",
       {"nationality"},
       std::nullopt,
       {{"care_days", measure_kind::sum}, {"persons", measure_kind::distinct}},
       true},
      {"on-call-by-outcome",
       "on_call_event",
       {"outcome"},
       "caller",
       {{"events", measure_kind::count}},
       false},
      {"workshops-by-audience-region",
       "prevention_workshop",
       {"audience", "region"},
       std::nullopt,
       {{"workshops", measure_kind::count},
        {"participants", measure_kind::sum},
        {"teachers", measure_kind::sum}},
       false},
      {"eurostat-victims-by-citizenship",
       "assistance_case",
       {"eurostat_citizenship"},
       "eurostat_sex",
       {{"victims", measure_kind::distinct}},
       false},
      {"eurostat-victims-by-age",
       "assistance_case",
       {"eurostat_age"},
       "eurostat_sex",
       {{"victims", measure_kind::distinct}},
       false},
      {"eurostat-victims-by-exploitation",
       "assistance_case",
       {"eurostat_exploitation"},
       "eurostat_sex",
       {{"victims", measure_kind::distinct}},
       false},
  };
  REQUIRE(s.tallies().size() == all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    const tally_def& t = s.tallies()[i];
    INFO(t.id);
    CHECK(t.id == all[i].id);
    CHECK(s.tally(all[i].id) == &t);
    CHECK(t.type == all[i].type);
    CHECK(t.rows == all[i].rows);
    CHECK(t.column == all[i].column);
    CHECK(!t.title.empty());
    REQUIRE(t.measures.size() == all[i].measures.size());
    for (std::size_t m = 0; m < t.measures.size(); ++m) {
      CHECK(t.measures[m].id == all[i].measures[m].first);
      CHECK(t.measures[m].kind == all[i].measures[m].second);
    }
    CHECK(t.dates.is_period() == all[i].period);
  }
  CHECK(s.tally("nope") == nullptr);
  const tally_def& care = *s.tally("care-days-by-nationality");
  REQUIRE(care.filter.size() == 1);
  CHECK(care.filter[0].field == "programme");
  CHECK(care.filter[0].codes == std::vector<std::string>{"crisis-accommodation"});
  CHECK(care.dates.from == "admitted");
  CHECK(care.dates.to == "discharged");
  CHECK(s.tally("pats-individual-by-site")->filter[0].codes ==
        std::vector<std::string>{"individual"});
  CHECK(s.tally("on-call-by-outcome")->dates.date == "date");
}

TEST_CASE("a well-formed declaration parses with defaults", "[server][tally]") {
  auto r = schema::parse(schema_with(
      R"({"id": "t1", "type": "visit", "filter": {"tags": ["x"], "flag": ["true"]}, "rows": ["site", "tags"],
          "column": "flag", "measures": [{"id": "n", "count": true}, {"id": "days", "title": "Days", "sum": "length"},
          {"id": "total", "sum": "count"}, {"id": "people", "distinct": "person"}],
          "period": {"from": "day", "to": "until"}})"));
  REQUIRE(r.ok());
  const tally_def& t = *r.value()->tally("t1");
  CHECK(t.title == "t1");
  CHECK(t.measure("n")->title == "n");
  CHECK(t.measure("days")->title == "Days");
  CHECK(t.measure("days")->field == "length");
  CHECK(t.measure("people")->kind == measure_kind::distinct);
  CHECK(t.measure("zzz") == nullptr);
  CHECK(t.column == "flag");
  CHECK(t.filter.size() == 2);
  CHECK(to_string(measure_kind::sum) == "sum");
  // A schema without tallies has none.
  auto bare = schema::parse(
      R"({"version": 1, "record_types": {"v": {"fields": {"d": {"type": "date"}}}}})");
  REQUIRE(bare.ok());
  CHECK(bare.value()->tallies().empty());
}

TEST_CASE("malformed tally declarations are refused, naming the tally", "[server][tally]") {
  struct bad {
    std::string tally;
    std::vector<std::string> words;  // the message names each
  };
  const std::vector<bad> cases{
      {R"({"id": "t1", "type": "nope", "rows": ["site"], "measures": [{"id": "n", "count": true}], "date": "day"})",
       {"\"t1\"", "unknown record type", "\"nope\""}},
      {tally_with(R"("filter": {"sight": ["a"]}, "date": "day")"),
       {"\"t1\"", "filter", "unknown field", "\"sight\""}},
      {tally_with(R"("filter": {"site": ["c"]}, "date": "day")"),
       {"\"t1\"", "filter.site", "\"c\""}},
      {tally_with(R"("filter": {"count": ["1"]}, "date": "day")"),
       {"\"t1\"", "\"count\"", "not a code"}},
      {R"({"id": "t1", "type": "visit", "rows": ["site", "place"], "measures": [{"id": "n", "count": true}], "date": "day"})",
       {"\"t1\"", "rows", "\"place\""}},
      {R"({"id": "t1", "type": "visit", "rows": ["person"], "measures": [{"id": "n", "count": true}], "date": "day"})",
       {"\"t1\"", "rows", "\"person\""}},
      {R"({"id": "t1", "type": "visit", "rows": [], "measures": [{"id": "n", "count": true}], "date": "day"})",
       {"\"t1\"", "rows"}},
      {R"({"id": "t1", "type": "visit", "rows": ["site", "site"], "measures": [{"id": "n", "count": true}], "date": "day"})",
       {"\"t1\"", "twice"}},
      {tally_with(R"("column": "colour", "date": "day")"), {"\"t1\"", "column", "\"colour\""}},
      {tally_with(R"("column": "site", "date": "day")"), {"\"t1\"", "twice"}},
      {R"({"id": "t1", "type": "visit", "rows": ["site"], "measures": [{"id": "s", "sum": "cont"}], "date": "day"})",
       {"\"t1\"", "\"s\"", "\"cont\""}},
      {R"({"id": "t1", "type": "visit", "rows": ["site"], "measures": [{"id": "s", "sum": "site"}], "date": "day"})",
       {"\"t1\"", "\"s\"", "\"site\"", "not an integer or derived"}},
      {R"({"id": "t1", "type": "visit", "rows": ["site"], "measures": [{"id": "p", "distinct": "persn"}], "date": "day"})",
       {"\"t1\"", "\"p\"", "\"persn\""}},
      {R"({"id": "t1", "type": "visit", "rows": ["site"], "measures": [{"id": "p", "distinct": "site"}], "date": "day"})",
       {"\"t1\"", "\"p\"", "\"site\"", "not a pseudonym"}},
      {R"({"id": "t1", "type": "visit", "rows": ["site"], "measures": [{"id": "p", "count": true, "sum": "count"}], "date": "day"})",
       {"\"t1\"", "exactly one"}},
      {R"({"id": "t1", "type": "visit", "rows": ["site"], "measures": [{"id": "p", "count": false}], "date": "day"})",
       {"\"t1\"", "count must be true"}},
      {R"({"id": "t1", "type": "visit", "rows": ["site"], "measures": [], "date": "day"})",
       {"\"t1\"", "measures"}},
      {R"({"id": "t1", "type": "visit", "rows": ["site"], "measures": [{"id": "n", "count": true}, {"id": "n", "sum": "count"}], "date": "day"})",
       {"\"t1\"", "measure \"n\" twice"}},
      {tally_with(R"("date": "site")"), {"\"t1\"", "date", "\"site\"", "not a date field"}},
      {tally_with(R"("date": "when")"), {"\"t1\"", "date", "\"when\""}},
      {tally_with(R"("period": {"from": "day", "to": "count"})"),
       {"\"t1\"", "period.to", "\"count\"", "not a date field"}},
      {tally_with(R"("period": {"from": "day"})"), {"\"t1\"", "\"to\""}},
      {tally_with(R"("period": {"from": "day", "to": "day"})"), {"\"t1\"", "same field"}},
      {tally_with(R"("title": "T")"), {"\"t1\"", "date rule"}},
      {tally_with(R"("date": "day", "period": {"from": "day", "to": "until"})"),
       {"\"t1\"", "both"}},
      {tally_with(R"("date": "day", "colum": "site")"), {"\"t1\"", "unknown member", "\"colum\""}},
      {tally_with(R"("date": "day")") + ", " + tally_with(R"("date": "until")"),
       {"\"t1\"", "declared twice"}},
      {R"({"id": "bad id", "type": "visit", "rows": ["site"], "measures": [{"id": "n", "count": true}], "date": "day"})",
       {"\"bad id\"", "not a code"}},
      {R"({"type": "visit", "rows": ["site"], "measures": [{"id": "n", "count": true}], "date": "day"})",
       {"tallies[0]", "\"id\""}},
  };
  for (const auto& c : cases) {
    INFO(c.tally);
    const error e = refused(c.tally);
    INFO(e.message);
    for (const auto& w : c.words) CHECK(e.message.find(w) != std::string::npos);
  }
}

TEST_CASE("a new tally needs only a declaration", "[server][tally]") {
  // Add a tally to the shipped schema's document: PATS individual sessions
  // by nationality and sex, counting sessions and persons.
  std::string doc(shipped_schema()->source());
  const std::string anchor = "\"tallies\": [";
  const auto at = doc.find(anchor);
  REQUIRE(at != std::string::npos);
  doc.insert(at + anchor.size(), R"(
    {"id": "pats-by-nationality", "type": "pats_session", "filter": {"format": ["individual"]},
     "rows": ["nationality"], "column": "sex",
     "measures": [{"id": "sessions", "count": true}, {"id": "persons", "distinct": "person"}], "date": "date"},)");
  auto parsed = schema::parse(doc);
  REQUIRE(parsed.ok());
  tally_fixture f(parsed.value());
  f.put("a", "pats_session",
        {{"date", "2026-02-01"},
         {"site", "vic"},
         {"format", "individual"},
         {"person", "P-0001H"},
         {"nationality", "UA"},
         {"sex", "female"}});
  f.put("b", "pats_session",
        {{"date", "2026-03-01"},
         {"site", "logatec"},
         {"format", "individual"},
         {"person", "P-0001H"},
         {"nationality", "UA"},
         {"sex", "female"}});
  f.put("c", "pats_session",
        {{"date", "2026-03-02"},
         {"site", "vic"},
         {"format", "individual"},
         {"person", "P-0002F"},
         {"nationality", "SY"}});
  const auto r = f.report("pats-by-nationality", 2026);
  CHECK(cell(r, {"UA"}, "female") ==
        std::map<std::string, std::int64_t>{{"sessions", 2}, {"persons", 1}});
  CHECK(cell(r, {"SY"}, "") ==
        std::map<std::string, std::int64_t>{{"sessions", 1}, {"persons", 1}});
  CHECK(total(r, "persons") == 2);
  CHECK(total(r, "sessions") == 3);
  f.check_all(2026);
}

}  // namespace haven::test

// record_type::validate and derive against every rule of the shipped schema:
// each with a record that breaks it and one that keeps it, and the issue must
// name the field a user has to correct.

#include <string>
#include <vector>

#include "shipped_schema.hpp"

using namespace haven;
using namespace haven::test;
using Catch::Matchers::Contains;

namespace {

using names = std::vector<std::string>;

field_map individual_interview() {
  return record_of(pats(), {{"date", "2025-03-01"},
                            {"site", "vic"},
                            {"format", "individual"},
                            {"participants", "1"},
                            {"person", "P-0001239"},
                            {"sex", "female"},
                            {"nationality", "ua"},
                            {"topics", "thb,gbv"}});
}

field_map group_session() {
  return record_of(
      pats(),
      {{"date", "2025-03-02"}, {"site", "logatec"}, {"format", "group"}, {"participants", "25"}});
}

field_map crisis_stay(const char* admitted, const char* discharged) {
  return record_of(assistance(), {{"programme", "crisis-accommodation"},
                                  {"person", "P-0001239"},
                                  {"sex", "female"},
                                  {"nationality", "XX"},
                                  {"admitted", admitted},
                                  {"discharged", discharged},
                                  {"services", "accommodation,food"}});
}

field_map short_stay() {
  return crisis_stay("2025-03-01", "2025-03-04");
}

field_map call() {
  return record_of(on_call(), {{"date", "2025-03-01"},
                               {"caller", "police"},
                               {"outcome", "admitted"},
                               {"response_minutes", "30"}});
}

field_map school_workshop() {
  return record_of(workshop(), {{"date", "2025-03-01"},
                                {"audience", "primary-school"},
                                {"region", "gorenjska"},
                                {"participants", "20"},
                                {"teachers", "2"}});
}

// `fields` with `key` set to `v` (null: not given).
field_map with(field_map fields, const std::string& key, value v) {
  fields[key] = std::move(v);
  return fields;
}

// `fields` without `key`.
field_map without(field_map fields, const std::string& key) {
  fields.erase(key);
  return fields;
}

// The one issue of `fields`; fails the test unless there is exactly one.
field_issue only_issue(const record_type& t, const field_map& fields) {
  const auto issues = t.validate(fields);
  INFO(describe(issues));
  REQUIRE(issues.size() == 1);
  return issues.front();
}

// The fields named by the issues of `fields`, with the issues shown on failure.
names issues_of(const record_type& t, const field_map& fields) {
  const auto issues = t.validate(fields);
  INFO(describe(issues));
  return fields_named(issues);
}

}  // namespace

TEST_CASE("a complete record of each type is valid", "[schema][validate]") {
  CHECK(issues_of(pats(), individual_interview()).empty());
  CHECK(issues_of(pats(), group_session()).empty());
  CHECK(issues_of(assistance(), short_stay()).empty());
  CHECK(issues_of(on_call(), call()).empty());
  CHECK(issues_of(workshop(), school_workshop()).empty());
}

TEST_CASE("required fields of each type", "[schema][validate]") {
  struct type_case {
    const record_type& type;
    field_map valid;
    names required;
  };
  const std::vector<type_case> cases = {
      {pats(), group_session(), {"date", "site", "format"}},
      {assistance(), short_stay(), {"programme", "person", "sex", "nationality", "admitted"}},
      {on_call(), call(), {"date", "caller", "outcome"}},
      {workshop(), school_workshop(), {"date", "audience", "region", "participants"}},
  };
  for (const auto& c : cases) {
    for (const auto& key : c.required) {
      CAPTURE(c.type.name, key);
      // Removing format also switches off the format rules, so only the
      // required-field issue remains in every case.
      CHECK(only_issue(c.type, without(c.valid, key)) ==
            field_issue{key, "is required for " + c.type.name});
      CHECK(issues_of(c.type, with(c.valid, key, value{})) == names{key});
    }
  }
  // An empty set counts as not given; no shipped set field is required, so
  // an empty one is simply valid.
  CHECK(issues_of(assistance(), with(short_stay(), "services", code_set{})).empty());
}

TEST_CASE("pats_session: an individual interview needs a person and one participant",
          "[schema][validate]") {
  CHECK(only_issue(pats(), without(individual_interview(), "person")) ==
        field_issue{"person", "is required when format is individual"});

  CHECK(only_issue(pats(), with(individual_interview(), "participants", std::int64_t{2})) ==
        field_issue{"participants", "must be 1 when format is individual (got 2)"});

  // participants may be left to its default of 1.
  CHECK(issues_of(pats(), without(individual_interview(), "participants")).empty());
}

TEST_CASE("pats_session: a group session names no person", "[schema][validate]") {
  CHECK(
      only_issue(pats(), with(group_session(), "person", parsed(pats(), "person", "P-0001239"))) ==
      field_issue{"person", "must be empty when format is group"});

  // A group may have any number of participants, and one is allowed.
  CHECK(issues_of(pats(), with(group_session(), "participants", std::int64_t{1})).empty());
}

TEST_CASE("pats_session: participants is at least 1", "[schema][validate]") {
  CHECK(only_issue(pats(), with(group_session(), "participants", std::int64_t{0})) ==
        field_issue{"participants", "must be at least 1 (got 0)"});

  CHECK(issues_of(pats(), with(group_session(), "participants", std::int64_t{-4})) ==
        names{"participants"});
}

TEST_CASE("assistance_case: discharged may not be before admitted", "[schema][validate]") {
  const field_map backwards = crisis_stay("2025-03-10", "2025-03-09");
  CHECK(only_issue(assistance(), backwards) ==
        field_issue{"discharged", "must not be before admitted (2025-03-09 < 2025-03-10)"});

  CHECK(issues_of(assistance(), crisis_stay("2025-03-10", "2025-03-10")).empty());
  CHECK(issues_of(assistance(), crisis_stay("2025-03-10", "2025-03-11")).empty());
  CHECK(issues_of(assistance(), without(crisis_stay("2025-03-10", "2025-03-11"), "discharged"))
            .empty());
}

TEST_CASE("assistance_case: crisis accommodation lasts at most 30 care days",
          "[schema][validate]") {
  CHECK(issues_of(assistance(), crisis_stay("2025-03-01", "2025-03-31")).empty());  // 30 days
  CHECK(only_issue(assistance(), crisis_stay("2025-03-01", "2025-04-01")) ==        // 31 days
        field_issue{"care_days",
                    "must be at most 30 when programme is crisis-accommodation (got 31)"});

  // Across a year end and a leap day: 2024-02-01 .. 2024-03-02 is 30 days.
  CHECK(issues_of(assistance(), crisis_stay("2024-02-01", "2024-03-02")).empty());
  CHECK(issues_of(assistance(), crisis_stay("2024-12-20", "2025-01-21")) == names{"care_days"});

  // The limit is only for crisis accommodation.
  for (const char* programme : {"safe-accommodation", "reintegration"}) {
    CAPTURE(programme);
    field_map long_stay = crisis_stay("2025-01-01", "2025-03-02");  // 60 days
    long_stay["programme"] = std::string(programme);
    CHECK(assistance().derive("care_days", long_stay) == 60);
    CHECK(issues_of(assistance(), long_stay).empty());
  }
}

TEST_CASE("assistance_case: care_days is max(1, discharged - admitted)", "[schema][validate]") {
  const record_type& t = assistance();
  CHECK(t.derive("care_days", short_stay()) == 3);
  CHECK(t.derive("care_days", crisis_stay("2025-03-01", "2025-03-01")) == 1);  // same-day stay
  CHECK(t.derive("care_days", crisis_stay("2025-03-01", "2025-03-02")) == 1);
  CHECK(t.derive("care_days", crisis_stay("2025-02-28", "2025-03-01")) == 1);
  CHECK(t.derive("care_days", crisis_stay("2024-02-28", "2024-03-01")) == 2);  // leap day
  // Refused by a rule, and still at least 1.
  CHECK(t.derive("care_days", crisis_stay("2025-03-05", "2025-03-01")) == 1);

  CHECK_FALSE(t.derive("care_days", without(short_stay(), "discharged")).has_value());
  CHECK_FALSE(t.derive("care_days", with(short_stay(), "discharged", value{})).has_value());
  CHECK_FALSE(t.derive("no_such_value", short_stay()).has_value());
}

TEST_CASE("a field the type does not have is refused by name", "[schema][validate]") {
  CHECK(only_issue(on_call(), with(call(), "name", std::string("Marija"))) ==
        field_issue{
            "name",
            "is not a field of on_call_event (fields: date, caller, outcome, response_minutes)"});

  // A field of another type is just as unknown, even when null.
  CHECK(issues_of(workshop(), with(school_workshop(), "site", value{})) == names{"site"});

  // A derived value cannot be stored.
  CHECK(issues_of(assistance(), with(short_stay(), "care_days", std::int64_t{3})) ==
        names{"care_days"});
}

TEST_CASE("on_call_event: response_minutes is at least 0", "[schema][validate]") {
  CHECK(only_issue(on_call(), with(call(), "response_minutes", std::int64_t{-1})) ==
        field_issue{"response_minutes", "must be at least 0 (got -1)"});

  CHECK(issues_of(on_call(), with(call(), "response_minutes", std::int64_t{0})).empty());
  CHECK(issues_of(on_call(), without(call(), "response_minutes")).empty());
}

TEST_CASE("prevention_workshop: participants at least 1, teachers at least 0",
          "[schema][validate]") {
  CHECK(issues_of(workshop(), with(school_workshop(), "participants", std::int64_t{0})) ==
        names{"participants"});
  CHECK(issues_of(workshop(), with(school_workshop(), "teachers", std::int64_t{0})).empty());
  CHECK(issues_of(workshop(), with(school_workshop(), "teachers", std::int64_t{-1})) ==
        names{"teachers"});
}

TEST_CASE("stored values are checked like typed ones", "[schema][validate]") {
  SECTION("a value of the wrong kind") {
    field_map wrong = school_workshop();
    wrong["participants"] = std::string("20");
    wrong["date"] = std::int64_t{20250301};
    wrong["region"] = true;
    const auto issues = workshop().validate(wrong);
    CHECK(fields_named(issues) == names{"date", "participants", "region"});
    for (const auto& issue : issues) CHECK(issue.message == "holds a value of the wrong type");
  }
  SECTION("a code that is not listed") {
    CHECK(issues_of(workshop(), with(school_workshop(), "region", std::string("dolenjska"))) ==
          names{"region"});
  }
  SECTION("a set element that is not listed") {
    field_map wrong = individual_interview();
    wrong["topics"] = code_set{"thb", "weather"};
    const field_issue issue = only_issue(pats(), wrong);
    CHECK(issue.field == "topics");
    CHECK_THAT(issue.message, Contains("(got \"weather\")"));
  }
  SECTION("a date out of range") {
    CHECK(issues_of(workshop(), with(school_workshop(), "date", from_civil(1850, 1, 1))) ==
          names{"date"});
  }
  SECTION("a pseudonym too short") {
    CHECK(issues_of(pats(), with(individual_interview(), "person", std::string("abc"))) ==
          names{"person"});
  }
  SECTION("several problems are all reported") {
    field_map wrong = individual_interview();
    wrong.erase("date");
    wrong["participants"] = std::int64_t{3};
    wrong["colour"] = std::string("red");
    CHECK(issues_of(pats(), wrong) == names{"colour", "date", "participants"});
  }
}

TEST_CASE("validate refuses an empty text where a code or pseudonym is required",
          "[schema][validate]") {
  // The empty string is not one of site's codes and not a pseudonym, and an
  // empty text means "not given"; yet a cell or API call can hold "".
  CHECK(issues_of(pats(), with(group_session(), "site", std::string())) == names{"site"});

  CHECK(issues_of(assistance(), with(short_stay(), "person", std::string())) == names{"person"});
}

TEST_CASE("validate refuses a country code that is not in its stored upper-case form",
          "[schema][validate]") {
  // parse() stores "SI" for "si"; a record holding "si" would be counted apart
  // from "SI" in the tallies by nationality.
  CHECK(issues_of(assistance(), with(short_stay(), "nationality", std::string("si"))) ==
        names{"nationality"});
}

TEST_CASE("validate refuses set elements that are not single codes", "[schema][validate]") {
  // The elements are re-checked through their comma-joined text, so an
  // element holding a comma or padding passes as if it were several codes.
  CHECK(issues_of(assistance(), with(short_stay(), "services", code_set{"food,escort"})) ==
        names{"services"});

  CHECK(issues_of(assistance(), with(short_stay(), "services", code_set{" food"})) ==
        names{"services"});
}

TEST_CASE("check_value takes a value exactly when its text parses back to it, for every field",
          "[schema][validate]") {
  // check_value decides most values without writing and parsing their text
  // (a pulled batch checks every cell); what it decides must be what the
  // text form says: for every field of the shipped schema and values at and
  // beyond each bound, of each kind, a value is refused exactly when
  // parsing its text fails or gives another value (then with the same
  // message as before), or when its date falls outside the field's range.
  const date today = from_civil(2026, 6, 15);
  std::vector<value> values{value{true},
                            value{false},
                            value{std::string()},
                            value{std::string("x")},
                            value{std::int64_t{0}},
                            value{std::int64_t{-1}},
                            value{max_integer_magnitude},
                            value{max_integer_magnitude + 1},
                            value{-max_integer_magnitude - 1},
                            value{from_civil(1899, 12, 31)},
                            value{from_civil(1900, 1, 1)},
                            value{from_civil(2200, 12, 31)},
                            value{from_civil(2201, 1, 1)},
                            value{today},
                            value{date{today.days + 1}},
                            value{date{-1000000}},
                            value{date{3000000}}};
  for (const auto& t : shipped_schema().types())
    for (const auto& f : t.fields) {
      for (auto bound : {f.min, f.max})
        if (bound)
          for (std::int64_t d : {-1, 0, 1}) values.push_back(value{*bound + d});
      for (const auto& code : f.codes) {
        values.push_back(value{code});
        std::string lower = code, padded = " " + code;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        values.push_back(value{lower});
        values.push_back(value{padded});
      }
    }
  std::size_t taken = 0, refused = 0;
  for (const auto& t : shipped_schema().types())
    for (const auto& f : t.fields) {
      if (f.is_set()) continue;
      for (const auto& v : values) {
        INFO(t.name << "." << f.key << " = " << to_text(v));
        const auto why = t.check_value(f, v, today);
        // The reference: the text form parsed, then the date range.
        std::optional<std::string> expected;
        const bool kind_fits = std::visit(
            [&](const auto& x) {
              using X = std::decay_t<decltype(x)>;
              switch (f.kind) {
                case field_kind::date:
                  return std::is_same_v<X, date>;
                case field_kind::integer:
                  return std::is_same_v<X, std::int64_t>;
                case field_kind::boolean:
                  return std::is_same_v<X, bool>;
                default:
                  return std::is_same_v<X, std::string>;
              }
            },
            v);
        if (!kind_fits) {
          CHECK(why.has_value());
          continue;
        }
        const auto parsed = f.parse(to_text(v));
        if (!parsed)
          expected = parsed.err().message;
        else if (parsed.value() != v)
          expected = "differs";
        if (!expected) {
          if (const date* d = std::get_if<date>(&v)) {
            const civil_date c = to_civil(today);
            const date latest = from_civil(c.year + t.dates.years_ahead, c.month, c.day);
            if (*d < t.dates.earliest || (f.not_future && *d > today) || *d > latest)
              expected = "out of range";
          }
        }
        CHECK(why.has_value() == expected.has_value());
        if (why && expected && !parsed) CHECK(*why == *expected);
        (why ? refused : taken)++;
      }
    }
  CHECK(taken > 100);  // both ways, many times
  CHECK(refused > 100);
}

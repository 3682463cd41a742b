// Labels: every code of the shipped schema has a label in each language, the
// fallbacks, and the loader's checks of a document's "labels".

#include <haven/schema/labels.hpp>
#include <string>

#include "shipped_schema.hpp"

using namespace haven;
using namespace haven::test;
using Catch::Matchers::Contains;

namespace {

// A one-type schema with a code field "site", a country field and a tally.
std::string schema_with_labels(const std::string& labels) {
  return R"({"version": 1, "code_lists": {"country": ["AT", "RS"]}, "labels": )" + labels + R"(,
    "record_types": {"visit": {"title": "A visit", "fields": {
      "site": {"type": "code", "codes": ["vic", "new-site"]},
      "nationality": {"type": "country"}, "admitted": {"type": "boolean"},
      "day": {"type": "date"}}}},
    "tallies": [{"id": "by-site", "title": "Visits by site", "type": "visit",
      "rows": ["site"], "measures": [{"id": "visits", "title": "Visits", "count": true}],
      "date": "day"}]})";
}

}  // namespace

TEST_CASE("every part of the shipped schema has a label in English and in Slovenian",
          "[schema][labels]") {
  const schema& s = shipped_schema();
  const labels& l = s.labels();
  for (language lang : languages) {
    INFO(to_string(lang));
    for (const auto& t : s.types()) {
      CHECK(l.type(lang, t.name) != t.name);
      for (const auto& f : t.fields) {
        CHECK(l.field(lang, f.key) != f.key);
        for (const auto& c : f.codes) {
          INFO(f.key << "." << c);
          CHECK(l.code(lang, f.key, c) != c);
        }
      }
    }
    for (const auto& t : s.tallies()) {
      CHECK_FALSE(l.tally(lang, t.id).empty());
      for (const auto& m : t.measures) CHECK(l.measure(lang, t.id, m.id) != m.id);
    }
  }
}

TEST_CASE("labels are in the language asked for, countries by their ISO 3166 short name",
          "[schema][labels]") {
  const labels& l = shipped_schema().labels();
  CHECK(l.code(language::en, "nationality", "RS") == "Serbia");
  CHECK(l.code(language::sl, "nationality", "RS") == "Srbija");
  CHECK(l.code(language::sl, "nationality", "DE") == "Nemčija");
  CHECK(l.code(language::en, "referral", "police") == "Police");
  CHECK(l.code(language::sl, "referral", "police") == "Policija");
  CHECK(l.code(language::en, "region", "osrednjeslovenska") == "Central Slovenia");
  CHECK(l.tally(language::en, "care-days-by-nationality") ==
        shipped_schema().tally("care-days-by-nationality")->title);
  CHECK(l.measure(language::sl, "care-days-by-nationality", "care_days") == "Oskrbni dnevi");
  // an empty field is "not recorded", in words
  CHECK(l.code(language::en, "sex", "") == "Not recorded");
  CHECK(l.code(language::sl, "sex", "") == "Ni podatka");
  // the whole table holds every country of a country field
  CHECK(l.all(language::sl).at("code.nationality.HR") == "Hrvaška");
  CHECK(country_name(language::en, "ZZ") == std::nullopt);
}

TEST_CASE("a label a language does not give falls back to English, then to the schema",
          "[schema][labels]") {
  auto s = schema::parse(schema_with_labels(
      R"({"en": {"code.site.vic": "Vič", "tally.by-site": "Visits"}, "sl": {"field.site": "Lokacija"}})"));
  REQUIRE(s);
  const labels& l = s.value()->labels();
  CHECK(l.code(language::sl, "site", "vic") == "Vič");            // English given
  CHECK(l.code(language::sl, "site", "new-site") == "new-site");  // the code
  CHECK(l.field(language::sl, "site") == "Lokacija");
  CHECK(l.field(language::en, "site") == "Site");     // the key, as words
  CHECK(l.type(language::sl, "visit") == "A visit");  // the type's title
  CHECK(l.tally(language::sl, "by-site") == "Visits");
  CHECK(l.measure(language::en, "by-site", "visits") == "Visits");
  CHECK(l.code(language::en, "admitted", "true") == "Yes");
  CHECK(l.code(language::sl, "nationality", "AT") == "Avstrija");   // not English's "Austria"
  CHECK(l.code(language::en, "site", "x.example") == "x.example");  // a code no schema lists
}

TEST_CASE("the loader refuses labels for parts the schema does not have, or bad labels",
          "[schema][labels]") {
  const auto refused = [](const std::string& labels, const std::string& says) {
    auto s = schema::parse(schema_with_labels(labels));
    REQUIRE_FALSE(s);
    CHECK(s.err().code == errc::schema);
    CHECK_THAT(s.err().message, Contains(says));
  };
  refused(R"({"de": {}})", "unknown language \"de\"");
  refused(R"({"sl": {"code.site.vicc": "Vič"}})", "labels.sl.\"code.site.vicc\": names no part");
  refused(R"({"en": {"field.sitee": "Site"}})", "\"field.sitee\"");
  refused(R"({"en": {"tally.nope": "x"}})", "\"tally.nope\"");
  refused(R"({"en": {"code.site.vic": ""}})", "1-200 characters");
  refused(R"({"en": {"code.site.vic": 5}})", "1-200 characters");
  refused(R"({"en": {"code.site.vic": "a\u0007b"}})", "control characters");
  refused(R"(["en"])", "expected an object of languages");
}

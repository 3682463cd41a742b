// Mapped fields: codes computed from another field by a mapping the schema
// declares (the Eurostat breakdowns), and the loader's checks of them.

#include <string>

#include "shipped_schema.hpp"

using namespace haven;
using namespace haven::test;
using Catch::Matchers::Contains;

namespace {

const mapped_def& shipped_mapping(const char* key) {
  const mapped_def* m = shipped_schema().type("assistance_case")->mapping(key);
  REQUIRE(m != nullptr);
  return *m;
}

// A type with a code field "site" and a set field "forms", and one mapped field.
std::string with_mapping(const std::string& mapped) {
  return R"({"version": 1, "record_types": {"visit": {"fields": {
      "site": {"type": "code", "codes": ["vic", "koper", "other"]},
      "forms": {"type": "set", "codes": ["a", "b", "c"]},
      "day": {"type": "date"}},
    "derived": {"place": )" +
         mapped + "}}}}";
}

}  // namespace

TEST_CASE("the shipped Eurostat mappings", "[schema][mapped]") {
  const auto& citizenship = shipped_mapping("eurostat_citizenship");
  CHECK(citizenship.field.codes ==
        std::vector<std::string>{"NAT", "EU27_2020_FOR", "NEU27_2020_FOR", "STLS", "UNK"});
  CHECK(citizenship.map(std::string("SI")) == value(std::string("NAT")));
  CHECK(citizenship.map(std::string("DE")) == value(std::string("EU27_2020_FOR")));
  CHECK(citizenship.map(std::string("RS")) == value(std::string("NEU27_2020_FOR")));
  CHECK(citizenship.map(std::string("XX")) == value(std::string("UNK")));
  CHECK(citizenship.map(value{}) == value(std::string("UNK")));  // not recorded
  CHECK_FALSE(citizenship.recorded("STLS"));  // no code of the schema is stateless only
  CHECK(citizenship.recorded("NEU27_2020_FOR"));
  // Of the EU's 27, every one but the reporting country is another EU country.
  int eu = 0;
  for (const auto& [source, target] : citizenship.target_of) eu += target == "EU27_2020_FOR";
  CHECK(eu == 26);

  const auto& exploitation = shipped_mapping("eurostat_exploitation");
  CHECK(exploitation.field.is_set());
  CHECK(exploitation.map(code_set{"sexual", "labour", "forced-labour"}) ==
        value(code_set{"ICCS02041", "ICCS02042"}));
  CHECK(exploitation.map(code_set{}) == value(code_set{"UNK"}));
  CHECK(shipped_mapping("eurostat_age").map(std::string("adolescent")) ==
        value(std::string("Y_LT18")));
  CHECK(shipped_mapping("eurostat_sex").map(std::string("other")) == value(std::string("UNK")));
  // A device never stores a mapped field: validation refuses it as unknown.
  const record_type& t = *shipped_schema().type("assistance_case");
  CHECK(t.field("eurostat_sex") == nullptr);
  CHECK(t.dimension("eurostat_sex") == &shipped_mapping("eurostat_sex").field);
}

TEST_CASE("mapped fields and their codes have labels in both languages", "[schema][mapped]") {
  const labels& l = shipped_schema().labels();
  for (const auto* key :
       {"eurostat_sex", "eurostat_age", "eurostat_citizenship", "eurostat_exploitation"})
    for (language lang : languages) {
      CHECK(l.field(lang, key) != key);
      for (const auto& c : shipped_mapping(key).field.codes) CHECK(l.code(lang, key, c) != c);
    }
  CHECK(l.code(language::sl, "eurostat_citizenship", "NAT") == "Državljani");
}

TEST_CASE("a mapping that does not add up is refused with where and why", "[schema][mapped]") {
  const auto refused = [](const std::string& mapped, const std::string& says) {
    auto s = schema::parse(with_mapping(mapped));
    REQUIRE_FALSE(s);
    CHECK(s.err().code == errc::schema);
    CHECK_THAT(s.err().message, Contains(says));
  };
  CHECK(schema::parse(with_mapping(
      R"({"map": "site", "to": {"IN": ["vic", "koper"], "OUT": "else"}, "not_recorded": "OUT"})")));
  refused(R"({"map": "nope", "to": {"A": "else"}})", "names \"nope\", which is not a code");
  refused(R"({"map": "day", "to": {"A": "else"}})", "not a code, set or country field");
  refused(R"({"map": "site", "to": {"A": ["vic"], "B": ["vic", "koper", "other"]}})",
          "\"vic\" maps to A already");
  refused(R"({"map": "site", "to": {"A": ["vic"]}})", "does not map \"koper\" of site");
  refused(R"({"map": "site", "to": {"A": "else", "B": "else"}})", "A does already");
  refused(R"({"map": "site", "to": {"A": ["nope"], "B": "else"}})",
          "\"nope\" is not a code of site");
  refused(R"({"map": "site", "to": {"A": "else"}, "not_recorded": "Z"})",
          "\"Z\" is not one of its codes");
  refused(R"({"map": "site", "to": {}})", "needs at least one code");
  refused(R"({"map": "site", "to": {"A": "else"}, "colour": 1})", "unknown member \"colour\"");
  refused(R"({"map": "site", "to": {"A": 5}})", "a list of codes of site, or \"else\"");
}

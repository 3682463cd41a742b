// The shipped schema document and the loader's checks of schema documents.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "shipped_schema.hpp"

using namespace haven;
using namespace haven::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Matches;

namespace {

std::vector<std::string> keys_of(const record_type& t) {
  std::vector<std::string> out;
  for (const auto& f : t.fields) out.push_back(f.key);
  return out;
}

using codes = std::vector<std::string>;

// A one-type schema document around the given "fields" and extra members.
std::string one_type_schema(const std::string& fields, const std::string& extra = "") {
  return R"({"version": 1, "record_types": {"t": {"fields": )" + fields + extra + "}}}";
}

}  // namespace

TEST_CASE("the shipped schema loads as version 1 with four record types", "[schema][document]") {
  const schema& s = shipped_schema();
  CHECK(s.version() == 1);
  std::vector<std::string> names;
  for (const auto& t : s.types()) names.push_back(t.name);
  CHECK(names == codes{"pats_session", "assistance_case", "on_call_event", "prevention_workshop"});
  CHECK(s.type("no_such_type") == nullptr);

  std::ifstream file(HAVEN_DEFAULT_SCHEMA, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  CHECK(s.source() == text.str());
}

TEST_CASE("pats_session fields and codes", "[schema][document]") {
  const record_type& t = shipped_type("pats_session");
  CHECK(t.title == "Outreach information session (PATS)");
  CHECK(keys_of(t) == codes{"date", "site", "format", "participants", "person", "sex", "age_band",
                            "nationality", "status", "topics", "referral"});
  CHECK(field_of(t, "date").kind == field_kind::date);
  CHECK(field_of(t, "date").required);
  CHECK(field_of(t, "site").codes == codes{"vic", "logatec", "postojna", "other"});
  CHECK(field_of(t, "site").required);
  CHECK(field_of(t, "format").codes == codes{"individual", "group"});
  CHECK(field_of(t, "format").required);
  const field_def& participants = field_of(t, "participants");
  CHECK(participants.kind == field_kind::integer);
  CHECK_FALSE(participants.required);
  CHECK(participants.min == 1);
  CHECK(participants.max == 10000);
  CHECK(participants.default_value == value{std::int64_t{1}});
  CHECK(field_of(t, "person").kind == field_kind::pseudonym);
  CHECK_FALSE(field_of(t, "person").required);
  CHECK(field_of(t, "sex").codes == codes{"female", "male", "other", "unknown"});
  CHECK(field_of(t, "age_band").codes == codes{"child", "adolescent", "adult", "unknown"});
  CHECK(field_of(t, "nationality").kind == field_kind::country);
  CHECK(field_of(t, "status").codes ==
        codes{"international-protection", "temporary-protection", "refugee", "other"});
  CHECK(field_of(t, "topics").kind == field_kind::code_set);
  CHECK(field_of(t, "topics").is_set());
  CHECK(field_of(t, "topics").codes == codes{"thb", "sexual-violence", "gbv"});
  CHECK(field_of(t, "referral").codes ==
        codes{"none", "police", "social-work-centre", "ngo", "health", "other"});
  CHECK(t.derived.empty());
  REQUIRE(t.rules.size() == 2);
  CHECK(t.rules[0].require == codes{"person"});
  CHECK(t.rules[1].forbid == codes{"person"});
}

TEST_CASE("assistance_case fields and codes", "[schema][document]") {
  const record_type& t = shipped_type("assistance_case");
  CHECK(keys_of(t) == codes{"programme", "person", "sex", "age_band", "nationality", "exploitation",
                            "offence", "referred_by", "admitted", "discharged", "services"});
  CHECK(field_of(t, "programme").codes ==
        codes{"crisis-accommodation", "safe-accommodation", "reintegration"});
  for (const char* key : {"programme", "person", "sex", "nationality", "admitted"})
    CHECK(field_of(t, key).required);
  for (const char* key :
       {"age_band", "exploitation", "offence", "referred_by", "discharged", "services"})
    CHECK_FALSE(field_of(t, key).required);
  CHECK(field_of(t, "person").kind == field_kind::pseudonym);
  CHECK(field_of(t, "exploitation").kind == field_kind::code_set);
  CHECK(field_of(t, "exploitation").codes == codes{"sexual", "forced-labour", "labour", "begging",
                                                   "criminal-activities", "forced-marriage",
                                                   "slavery-like", "organ-removal", "other"});
  CHECK(field_of(t, "offence").codes ==
        codes{"art113-thb", "art112-enslavement", "art175-prostitution", "art196-workers-rights"});
  CHECK(field_of(t, "referred_by").codes ==
        codes{"police", "ngo", "social-work-centre", "self", "embassy", "other"});
  CHECK(field_of(t, "admitted").kind == field_kind::date);
  CHECK(field_of(t, "discharged").kind == field_kind::date);
  const field_def& services = field_of(t, "services");
  CHECK(services.kind == field_kind::code_set);
  CHECK(services.codes.size() == 18);
  for (const char* code : {"accommodation", "food", "psychological", "legal-information",
                           "interpreting", "escort", "return-assistance", "job-search"})
    CHECK(services.has_code(code));
  CHECK_FALSE(services.has_code("Food"));

  REQUIRE(t.derived.size() == 1);
  CHECK(t.derived[0].key == "care_days");
  CHECK(t.derived[0].from == "admitted");
  CHECK(t.derived[0].to == "discharged");
  CHECK(t.derived[0].min == 1);
  REQUIRE(t.rules.size() == 2);
  CHECK(t.rules[0].not_before == std::pair<std::string, std::string>{"discharged", "admitted"});
  CHECK(t.rules[1].max == std::vector<std::pair<std::string, std::int64_t>>{{"care_days", 30}});
}

TEST_CASE("on_call_event fields and codes", "[schema][document]") {
  const record_type& t = shipped_type("on_call_event");
  CHECK(keys_of(t) == codes{"date", "caller", "outcome", "response_minutes"});
  CHECK(field_of(t, "caller").codes ==
        codes{"police", "ngo", "victim", "social-work-centre", "other"});
  CHECK(field_of(t, "outcome").codes ==
        codes{"admitted", "prepared-not-admitted", "advice-only", "referred-elsewhere"});
  for (const char* key : {"date", "caller", "outcome"}) CHECK(field_of(t, key).required);
  CHECK_FALSE(field_of(t, "response_minutes").required);
  CHECK(field_of(t, "response_minutes").min == 0);
  CHECK(t.rules.empty());
}

TEST_CASE("prevention_workshop fields and the twelve regions", "[schema][document]") {
  const record_type& t = shipped_type("prevention_workshop");
  CHECK(keys_of(t) == codes{"date", "audience", "region", "participants", "teachers"});
  CHECK(field_of(t, "audience").codes ==
        codes{"primary-school", "secondary-school", "professionals", "general-public"});
  CHECK(field_of(t, "region").codes ==
        codes{"gorenjska", "goriska", "jugovzhodna", "koroska", "notranjska", "obalno-kraska",
              "osrednjeslovenska", "podravska", "pomurska", "posavska", "savinjska", "zasavska"});
  for (const char* key : {"date", "audience", "region", "participants"})
    CHECK(field_of(t, key).required);
  CHECK(field_of(t, "participants").min == 1);
  CHECK(field_of(t, "teachers").min == 0);
  CHECK_FALSE(field_of(t, "teachers").required);
}

TEST_CASE("the shipped country list", "[schema][document]") {
  const field_def& nationality = field_of(shipped_type("assistance_case"), "nationality");
  CHECK(nationality.kind == field_kind::country);
  for (const char* code : {"SI", "UA", "HR", "AF", "SY", "NG", "XX", "ZW", "AD"})
    CHECK(nationality.has_code(code));
  for (const char* code : {"si", "QQ", "EU", "UK", "SVN"}) CHECK_FALSE(nationality.has_code(code));
  // Both types that record a nationality share the one list.
  CHECK(field_of(shipped_type("pats_session"), "nationality").codes == nationality.codes);
}

TEST_CASE("load reports a missing file as not_found and names the path of a bad one",
          "[schema][document]") {
  auto missing = schema::load("/nonexistent/haven.schema.json");
  REQUIRE_FALSE(missing);
  CHECK(missing.err().code == errc::not_found);
  CHECK_THAT(missing.err().message, Contains("/nonexistent/haven.schema.json"));

  const auto path = std::filesystem::temp_directory_path() / "haven_schema_test_bad.json";
  { std::ofstream(path) << R"({"record_types": {}})"; }
  auto bad = schema::load(path);
  std::filesystem::remove(path);
  REQUIRE_FALSE(bad);
  CHECK(bad.err().code == errc::schema);
  CHECK_THAT(bad.err().message, Contains(path.string()));
  CHECK_THAT(bad.err().message, Contains("version"));
}

TEST_CASE("schema documents that are refused name where they are wrong", "[schema][document]") {
  struct bad_document {
    const char* what;
    std::string json;
    std::vector<std::string> mentions;  // the place and the problem
  };
  const std::vector<bad_document> documents = {
      {"invalid JSON", R"({"version": 1, "record_types": {)", {"not valid JSON"}},
      {"not an object", "[1, 2]", {"schema", "expected an object"}},
      {"missing version",
       R"({"record_types": {"t": {"fields": {"a": {"type": "date"}}}}})",
       {"schema", "missing \"version\""}},
      {"version not an integer",
       R"({"version": "1", "record_types": {}})",
       {"schema.version", "integer"}},
      {"version zero",
       R"({"version": 0, "record_types": {"t": {"fields": {"a": {"type": "date"}}}}})",
       {"schema.version", "1 or more"}},
      {"missing record_types", R"({"version": 1})", {"record_types"}},
      {"no record type",
       R"({"version": 1, "record_types": {}})",
       {"schema.record_types", "no record type"}},
      {"unknown field type",
       one_type_schema(R"({"a": {"type": "colour"}})"),
       {"schema.record_types.t.fields.a.type", "unknown field type \"colour\""}},
      {"missing field type",
       one_type_schema(R"({"a": {"required": true}})"),
       {"schema.record_types.t.fields.a", "missing \"type\""}},
      {"duplicate codes",
       one_type_schema(R"({"a": {"type": "code", "codes": ["x", "y", "x"]}})"),
       {"schema.record_types.t.fields.a.codes", "twice"}},
      {"duplicate set codes",
       one_type_schema(R"({"a": {"type": "set", "codes": ["x", "x"]}})"),
       {"schema.record_types.t.fields.a.codes", "twice"}},
      {"empty code list",
       one_type_schema(R"({"a": {"type": "code", "codes": []}})"),
       {"schema.record_types.t.fields.a.codes", "at least one code"}},
      {"code with a space",
       one_type_schema(R"({"a": {"type": "code", "codes": ["x y"]}})"),
       {"schema.record_types.t.fields.a.codes", "\"x y\" is not a code"}},
      {"codes on a date",
       one_type_schema(R"({"a": {"type": "date", "codes": ["x"]}})"),
       {"schema.record_types.t.fields.a", "codes apply to"}},
      {"min on a code",
       one_type_schema(R"({"a": {"type": "code", "codes": ["x"], "min": 1}})"),
       {"schema.record_types.t.fields.a", "min and max"}},
      {"required not boolean",
       one_type_schema(R"({"a": {"type": "date", "required": "yes"}})"),
       {"schema.record_types.t.fields.a.required", "true or false"}},
      {"country without a list",
       one_type_schema(R"({"a": {"type": "country"}})"),
       {"schema.record_types.t.fields.a", "code_lists.country"}},
      {"bad default",
       one_type_schema(R"({"a": {"type": "integer", "min": 1, "default": 0}})"),
       {"schema.record_types.t.fields.a.default", "at least 1"}},
      {"field key starting with _",
       one_type_schema(R"({"_deleted": {"type": "boolean"}})"),
       {"schema.record_types.t.fields._deleted", "may not start with _"}},
      {"no fields", one_type_schema("{}"), {"schema.record_types.t.fields", "at least one field"}},
      {"rule requiring an unknown field",
       one_type_schema(R"({"a": {"type": "date"}})", R"(, "rules": [{"require": ["ghost"]}])"),
       {"schema.record_types.t.rules[0].require", "unknown field \"ghost\""}},
      {"rule with an unknown when field",
       one_type_schema(R"({"a": {"type": "date"}})",
                       R"(, "rules": [{"when": {"ghost": ["x"]}, "require": ["a"]}])"),
       {"schema.record_types.t.rules[0].when", "unknown field \"ghost\""}},
      {"rule with an unknown max field",
       one_type_schema(R"({"a": {"type": "integer"}})",
                       R"(, "rules": [{}, {"max": {"ghost": 3}}])"),
       {"schema.record_types.t.rules[1].max", "unknown field \"ghost\""}},
      {"unknown rule part",
       one_type_schema(R"({"a": {"type": "date"}})", R"(, "rules": [{"unless": {}}])"),
       {"schema.record_types.t.rules[0].unless", "unknown rule part"}},
      {"not_before with three fields",
       one_type_schema(R"({"a": {"type": "date"}})",
                       R"(, "rules": [{"not_before": ["a", "a", "a"]}])"),
       {"schema.record_types.t.rules[0].not_before", "two date fields"}},
      {"rules not an array",
       one_type_schema(R"({"a": {"type": "date"}})", R"(, "rules": {})"),
       {"schema.record_types.t.rules", "array"}},
      {"derived from a non-date",
       one_type_schema(R"({"a": {"type": "date"}, "b": {"type": "integer"}})",
                       R"(, "derived": {"d": {"days_between": ["a", "b"]}})"),
       {"schema.record_types.t.derived.d", "\"b\", which is not a date field"}},
      {"derived shadowing a field",
       one_type_schema(R"({"a": {"type": "date"}, "b": {"type": "date"}})",
                       R"(, "derived": {"a": {"days_between": ["a", "b"]}})"),
       {"schema.record_types.t.derived.a", "may not share"}},
  };
  for (const auto& doc : documents) {
    SECTION(doc.what) {
      const error e = schema_error(doc.json);
      CHECK(e.code == errc::schema);
      for (const auto& part : doc.mentions) CHECK_THAT(e.message, Contains(part));
    }
  }
}

TEST_CASE("invalid JSON is refused with the place of the error", "[schema][document]") {
  // A hand-edited schema file with a stray comma on line 3: the message
  // should say where, as every other schema error does.
  const error e = schema_error("{\n  \"version\": 1,\n  \"record_types\": {,}\n}\n");
  CHECK(e.code == errc::schema);
  CHECK_THAT(e.message, Matches(".*(line|offset|position|column|byte|character).*[0-9].*"));
}

TEST_CASE("rules that could never hold or never apply are refused", "[schema][document]") {
  // derived.days_between already refuses non-date fields; the rules do not
  // check the kinds and codes they name, so a typo silently disables a rule.
  const std::string fields =
      R"({"a": {"type": "date"}, "c": {"type": "code", "codes": ["x", "y"]}, "n": {"type": "integer"}})";
  SECTION("not_before naming a field that is not a date") {
    const error e =
        schema_error(one_type_schema(fields, R"(, "rules": [{"not_before": ["a", "c"]}])"));
    CHECK_THAT(e.message, Contains("schema.record_types.t.rules[0].not_before"));
  }
  SECTION("when listing a code the field does not have") {
    const error e = schema_error(
        one_type_schema(fields, R"(, "rules": [{"when": {"c": ["z"]}, "require": ["n"]}])"));
    CHECK_THAT(e.message, Contains("schema.record_types.t.rules[0].when"));
  }
  SECTION("equals on a field that is not an integer") {
    const error e = schema_error(one_type_schema(fields, R"(, "rules": [{"equals": {"a": 1}}])"));
    CHECK_THAT(e.message, Contains("schema.record_types.t.rules[0].equals"));
  }
  SECTION("an integer field whose min is above its max") {
    const error e =
        schema_error(one_type_schema(R"({"n": {"type": "integer", "min": 5, "max": 1}})"));
    CHECK_THAT(e.message, Contains("schema.record_types.t.fields.n"));
  }
}

TEST_CASE("a record type declared only in JSON works with no C++ change", "[schema][document]") {
  const auto loaded = schema::parse(R"({
    "version": 7,
    "code_lists": {"country": ["SI", "HR", "XX"]},
    "record_types": {
      "hotline_call": {
        "title": "Call to the hotline",
        "fields": {
          "day": {"type": "date", "required": true},
          "channel": {"type": "code", "codes": ["phone", "chat", "email"], "required": true},
          "minutes": {"type": "integer", "min": 0, "max": 240},
          "caller_country": {"type": "country"},
          "anonymous": {"type": "boolean", "default": true},
          "concerns": {"type": "set", "codes": ["labour", "sexual", "begging"]},
          "opened": {"type": "date"},
          "closed": {"type": "date"}
        },
        "derived": {"open_days": {"days_between": ["opened", "closed"], "min": 0}},
        "rules": [
          {"when": {"channel": ["phone"]}, "require": ["minutes"]},
          {"when": {"channel": ["email"]}, "forbid": ["minutes"]},
          {"max": {"open_days": 14}}
        ]
      }
    }
  })");
  REQUIRE(loaded);
  const schema& s = *loaded.value();
  CHECK(s.version() == 7);
  REQUIRE(s.types().size() == 1);
  const record_type& t = type_of(s, "hotline_call");
  CHECK(t.title == "Call to the hotline");
  CHECK(field_of(t, "anonymous").default_value == value{true});
  CHECK(parsed(t, "caller_country", "hr") == value{std::string("HR")});
  CHECK(parsed(t, "concerns", "sexual,labour") == value{code_set{"labour", "sexual"}});
  CHECK(refusal(t, "minutes", "241") == "must be at most 240 (got 241)");

  field_map phone = record_of(t, {{"day", "2025-05-05"}, {"channel", "phone"}, {"minutes", "12"}});
  CHECK(t.validate(phone).empty());
  phone.erase("minutes");
  CHECK(fields_named(t.validate(phone)) == std::vector<std::string>{"minutes"});

  field_map email = record_of(t, {{"day", "2025-05-05"}, {"channel", "email"}, {"minutes", "3"}});
  CHECK(fields_named(t.validate(email)) == std::vector<std::string>{"minutes"});

  field_map open = record_of(t, {{"day", "2025-05-05"},
                                 {"channel", "chat"},
                                 {"opened", "2025-05-01"},
                                 {"closed", "2025-05-15"}});
  CHECK(t.derive("open_days", open) == 14);
  CHECK(t.validate(open).empty());
  open["closed"] = parsed(t, "closed", "2025-05-16");
  CHECK(fields_named(t.validate(open)) == std::vector<std::string>{"open_days"});
}

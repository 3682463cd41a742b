// Every validation rule of the shipped schema, through the real shell: the
// command exits non-zero, names the field and the reason, and writes nothing.
#include <catch2/catch.hpp>

#include "shell_fixture.hpp"

namespace haven::test {
namespace {

struct refusal {
  std::vector<std::string> args;  // after "add"
  std::string field;              // the field the message must name
  std::string reason;             // a fragment of the reason
};

const std::vector<std::string> individual = {"pats_session", "date=2026-03-02", "site=vic",
                                             "format=individual", "person=Pk-0000011"};
const std::vector<std::string> stay = {"assistance_case",   "programme=crisis-accommodation",
                                       "person=CASE-00019", "sex=female",
                                       "nationality=SI",    "admitted=2026-01-01"};
const std::vector<std::string> call = {"on_call_event", "date=2026-01-05", "caller=police",
                                       "outcome=advice-only"};
const std::vector<std::string> workshop = {"prevention_workshop", "date=2026-02-01",
                                           "audience=secondary-school", "region=podravska",
                                           "participants=25"};

// base with `drop` removed (a field=... prefix) and `extra` added.
std::vector<std::string> with(std::vector<std::string> base, std::vector<std::string> extra,
                              std::string drop = "") {
  if (!drop.empty())
    std::erase_if(base, [&](const std::string& a) { return a.rfind(drop + "=", 0) == 0; });
  base.insert(base.end(), extra.begin(), extra.end());
  return base;
}

std::vector<refusal> refusals() {
  return {
      {{"bogus_type", "date=2026-01-01"}, "type", "must be one of: pats_session"},
      {with(individual, {"--team", "Team 1"}), "team", "a-z, 0-9"},
      {with(individual, {"name=Ana"}), "name", "is not a field of pats_session"},
      {with(individual, {"site=vic"}), "site", "given twice"},
      // pats_session
      {with(individual, {}, "date"), "date", "is required"},
      {with(individual, {"date=2026-02-30"}, "date"), "date", "YYYY-MM-DD"},
      {with(individual, {"date=02.03.2026"}, "date"), "date", "YYYY-MM-DD"},
      {with(individual, {}, "site"), "site", "is required"},
      {with(individual, {"site=ljubljana"}, "site"), "site",
       "must be one of: vic, logatec, postojna, other"},
      {with(individual, {}, "format"), "format", "is required"},
      {with(individual, {"format=pair"}, "format"), "format", "individual, group"},
      {with(individual, {"participants=3"}), "participants", "must be 1 when format is individual"},
      {with(individual, {"participants=many"}), "participants", "whole number"},
      {with(individual, {}, "person"), "person", "is required when format is individual"},
      {with(individual, {"person=abc"}, "person"), "person", "must be a person code"},
      {with(individual, {"person=Ana Novak"}, "person"), "person", "must be a person code"},
      {with(individual, {"person=" + std::string(65, 'x')}, "person"), "person",
       "must be a person code"},
      {with(individual, {"person=Pk-0000012"}, "person"), "person", "check character"},
      {{"pats_session", "date=2026-03-02", "site=vic", "format=group", "participants=9",
        "person=Pk-0000011"},
       "person",
       "must be empty when format is group"},
      {{"pats_session", "date=2026-03-02", "site=vic", "format=group", "participants=0"},
       "participants",
       "at least 1"},
      {with(individual, {"sex=f"}), "sex", "female, male, other, unknown"},
      {with(individual, {"age_band=old"}), "age_band", "child, adolescent, adult, unknown"},
      {with(individual, {"nationality=QQ"}), "nationality", "ISO 3166-1"},
      {with(individual, {"nationality=Ukraine"}), "nationality", "ISO 3166-1"},
      {with(individual, {"status=asylum"}), "status", "international-protection"},
      {with(individual, {"topics=thb,drugs"}), "topics", "thb, sexual-violence, gbv"},
      {with(individual, {"referral=friend"}), "referral", "social-work-centre"},
      // assistance_case
      {with(stay, {}, "programme"), "programme", "is required"},
      {with(stay, {"programme=shelter"}, "programme"), "programme", "crisis-accommodation"},
      {with(stay, {}, "person"), "person", "is required"},
      {with(stay, {}, "sex"), "sex", "is required"},
      {with(stay, {}, "nationality"), "nationality", "is required"},
      {with(stay, {}, "admitted"), "admitted", "is required"},
      {with(stay, {"discharged=2025-12-31"}), "discharged", "must not be before admitted"},
      {with(stay, {"discharged=2026-02-01"}), "care_days",
       "at most 30 when programme is crisis-accommodation"},
      {with(stay, {"exploitation=sexual,theft"}), "exploitation", "forced-labour"},
      {with(stay, {"offence=art999"}), "offence", "art113-thb"},
      {with(stay, {"referred_by=neighbour"}), "referred_by", "embassy"},
      {with(stay, {"services=food,massage"}), "services", "legal-information"},
      {with(stay, {"age_band=baby"}), "age_band", "adolescent"},
      // on_call_event
      {with(call, {}, "date"), "date", "is required"},
      {with(call, {}, "caller"), "caller", "is required"},
      {with(call, {"caller=fire-brigade"}, "caller"), "caller", "police, ngo, victim"},
      {with(call, {}, "outcome"), "outcome", "is required"},
      {with(call, {"outcome=done"}, "outcome"), "outcome", "prepared-not-admitted"},
      {with(call, {"response_minutes=-1"}), "response_minutes", "at least 0"},
      // prevention_workshop
      {with(workshop, {}, "date"), "date", "is required"},
      {with(workshop, {}, "audience"), "audience", "is required"},
      {with(workshop, {"audience=parents"}, "audience"), "audience", "primary-school"},
      {with(workshop, {}, "region"), "region", "is required"},
      {with(workshop, {"region=istra"}, "region"), "region", "osrednjeslovenska"},
      {with(workshop, {}, "participants"), "participants", "is required"},
      {with(workshop, {"participants=0"}, "participants"), "participants", "at least 1"},
      {with(workshop, {"teachers=-2"}), "teachers", "at least 0"},
  };
}

// What a store holds, as the shell reports it: records with fields, and cursors.
std::string snapshot(const shell& haven) {
  return haven.ok({"list", "--json"}) + haven.ok({"status", "--json"});
}

TEST_CASE("the shell refuses every invalid record, naming the field, and writes nothing",
          "[e2e][validation]") {
  shell haven;
  haven.ok({"init", "--team", "novo-mesto"});
  // A valid record of each type first, so "nothing written" is checked against a non-empty store.
  for (const auto& valid : {individual, stay, call, workshop}) {
    std::vector<std::string> args{"add"};
    args.insert(args.end(), valid.begin(), valid.end());
    haven.ok(args);
  }
  const std::string before = snapshot(haven);

  for (const auto& r : refusals()) {
    std::vector<std::string> args{"add"};
    args.insert(args.end(), r.args.begin(), r.args.end());
    const run_result result = haven(args);
    INFO("haven add " << Catch::Detail::stringify(r.args));
    INFO("stderr: " << result.err);
    CHECK(result.exit_code == 1);
    CHECK(result.err.find(r.field + ": ") != std::string::npos);
    CHECK(result.err.find(r.reason) != std::string::npos);
    CHECK(result.out.empty());
  }
  CHECK(snapshot(haven) == before);
}

TEST_CASE("an edit that breaks a rule is refused whole and changes nothing", "[e2e][validation]") {
  shell haven;
  haven.ok({"init", "--team", "ptuj"});
  std::vector<std::string> add{"add", "--quiet"};
  add.insert(add.end(), stay.begin(), stay.end());
  const std::string id = haven.ok(add);
  const std::string before = snapshot(haven);

  const std::vector<refusal> edits = {
      {{"discharged=2026-03-01", "services+=food"}, "care_days", "at most 30"},
      {{"programme="}, "programme", "is required"},
      {{"sex+=female"}, "sex", "is not a set field"},
      {{"services+=spa"}, "services", "must be codes from"},
      {{"name=Ana"}, "name", "is not a field"},
  };
  for (const auto& e : edits) {
    std::vector<std::string> args{"edit", id};
    args.insert(args.end(), e.args.begin(), e.args.end());
    const run_result result = haven(args);
    INFO("haven edit " << Catch::Detail::stringify(e.args) << "\nstderr: " << result.err);
    CHECK(result.exit_code == 1);
    CHECK(result.err.find(e.field + ": ") != std::string::npos);
    CHECK(result.err.find(e.reason) != std::string::npos);
  }
  CHECK(snapshot(haven) == before);
}

}  // namespace
}  // namespace haven::test

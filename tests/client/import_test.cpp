// JSON forms: import of JSON lines (all or nothing), import lines, edits,
// and the JSON shown for records and status.

#include <catch2/catch.hpp>
#include <haven/client/record_json.hpp>
#include <haven/client/store.hpp>
#include <set>
#include <string>
#include <vector>

#include "scratch_store.hpp"

using namespace haven;
using namespace haven::test;
using client::import_jsonl;
using client::parse_edits_json;
using client::parse_record_json;

namespace {

// One line of a year's export from the outreach team's spreadsheet.
const char* const valid_lines[] = {
    R"({"type": "pats_session", "fields": {"date": "2026-01-12", "site": "vic", "format": "individual", "person": "P-AA11-BB22B", "sex": "male", "nationality": "AF", "topics": ["thb"]}})",
    R"({"type": "pats_session", "team": "pats-postojna", "fields": {"date": "2026-01-13", "site": "postojna", "format": "group", "participants": 23, "topics": ["thb", "gbv"]}})",
    R"({"type": "assistance_case", "fields": {"programme": "reintegration", "person": "R-99C0-FFEEH", "sex": "female", "nationality": "SI", "admitted": "2025-11-03", "services": ["social", "learning", "job-search"]}})",
    R"({"type": "on_call_event", "fields": {"date": "2026-01-20", "caller": "ngo", "outcome": "prepared-not-admitted", "response_minutes": null}})",
    R"({"type": "prevention_workshop", "fields": {"date": "2026-02-02", "audience": "primary-school", "region": "pomurska", "participants": 31, "teachers": 3}})",
};

std::string join_lines(std::initializer_list<std::string> lines, const char* eol = "\n") {
  std::string out;
  for (const auto& l : lines) out += l + eol;
  return out;
}

}  // namespace

TEST_CASE("import_jsonl: a valid file imports every line", "[client][import]") {
  scratch_store db("pats-vic");
  std::string text;
  for (const char* l : valid_lines) text += std::string(l) + "\n";
  const auto ids = must(import_jsonl(*db, text));
  REQUIRE(ids.size() == 5);

  const auto all = must(db->list());
  REQUIRE(all.size() == 5);
  for (std::size_t i = 0; i < ids.size(); ++i) CHECK(all[i].id == ids[i]);
  CHECK(all[0].team == "pats-vic");
  CHECK(all[0].fields.at("participants") == value{std::int64_t{1}});
  CHECK(all[1].team == "pats-postojna");
  CHECK(text_of(all[1], "topics") == "gbv,thb");
  CHECK(text_of(all[2], "services") == "job-search,learning,social");
  CHECK(all[3].fields.count("response_minutes") == 0);
  CHECK(text_of(all[4], "region") == "pomurska");
  CHECK(must(db->status()).records == 5);
}

TEST_CASE("import_jsonl: blank lines are skipped, CRLF is accepted, no final newline is needed",
          "[client][import]") {
  scratch_store db;
  const std::string text = std::string("\n") + valid_lines[0] + "\r\n   \r\n\t\n" + valid_lines[3] +
                           "\r\n\n" + valid_lines[4];
  const auto ids = must(import_jsonl(*db, text));
  CHECK(ids.size() == 3);
  CHECK(must(db->list()).size() == 3);

  CHECK(must(import_jsonl(*db, "")).empty());
  CHECK(must(import_jsonl(*db, "\n\n  \n")).empty());
  CHECK(must(db->status()).records == 3);
}

TEST_CASE("import_jsonl: one bad line and nothing is written, and every bad line is listed",
          "[client][import]") {
  scratch_store db;
  must(db->add(on_call()));
  const std::string before = state_of(*db);

  const std::string text = join_lines({
      valid_lines[0],                                                 // 1
      R"({"type": "pats_session", "fields": {"date": "2026-01-12")",  // 2: not JSON
      valid_lines[1],                                                 // 3
      "",                                                             // 4
      R"({"type": "prevention_workshop", "fields": {"date": "2026-02-02", "audience": "primary-school", "region": "ljubljana", "participants": 31}})",  // 5
      R"({"type": "shelter", "fields": {}})",  // 6
      R"({"type": "on_call_event", "fields": {"date": "2026-01-20", "caller": "ngo", "outcome": "admitted", "mood": "calm"}})",  // 7
      R"({"type": "pats_session", "fields": {"date": "2026-01-12", "site": "vic", "format": "individual", "person": "P-AA11-BB22B", "participants": 2}})",  // 8
      R"({"type": "assistance_case", "fields": {"programme": "crisis-accommodation", "person": "C-1234-ABCDJ", "sex": "female", "nationality": "SI", "admitted": "2026-01-01", "discharged": "2026-03-01"}})",  // 9
      R"({"type": "pats_session", "fields": {"date": 20260112, "site": "vic", "format": "group"}})",  // 10
      R"({"type": "pats_session", "fields": {"topics": [1, 2]}})",  // 11
      R"({"fields": {}})",                                          // 12
      R"(["pats_session"])",                                        // 13
      R"({"type": "pats_session", "colour": "red"})",               // 14
      valid_lines[4],                                               // 15
  });
  const auto r = import_jsonl(*db, text);
  const auto e = must_fail(r, errc::invalid_input);
  const std::string all = e.describe();
  INFO(all);
  CHECK_THAT(e.message, Catch::Contains("11 of 14"));
  CHECK(names_field(e.issues, "line 2"));
  CHECK(names_field(e.issues, "line 5: region"));
  CHECK(names_field(e.issues, "line 6: type"));
  CHECK(names_field(e.issues, "line 7: mood"));
  CHECK(names_field(e.issues, "line 8: participants"));
  CHECK(names_field(e.issues, "line 9: care_days"));
  CHECK(names_field(e.issues, "line 10: date"));
  CHECK(names_field(e.issues, "line 11: topics"));
  CHECK(names_field(e.issues, "line 12"));
  CHECK(names_field(e.issues, "line 13"));
  CHECK(names_field(e.issues, "line 14"));
  // Only the bad lines are named.
  std::set<std::string> named;
  for (const auto& i : e.issues) named.insert(i.field.substr(0, i.field.find(':')));
  CHECK(named == std::set<std::string>{"line 2", "line 5", "line 6", "line 7", "line 8", "line 9",
                                       "line 10", "line 11", "line 12", "line 13", "line 14"});
  CHECK(state_of(*db) == before);
}

TEST_CASE("import_jsonl: a file whose only bad line is the last writes nothing",
          "[client][import]") {
  scratch_store db;
  std::string text;
  for (const char* l : valid_lines) text += std::string(l) + "\n";
  text += R"({"type": "on_call_event", "fields": {"date": "2026-01-20", "caller": "ngo"}})";
  const auto e = must_fail(import_jsonl(*db, text), errc::invalid_input);
  CHECK(names_field(e.issues, "line 6: outcome"));
  CHECK(e.issues.size() == 1);
  CHECK(counts_of(*db) ==
        "records=0 pending_records=0 pending_cells=0 local_seq=0 acked=0 pulled=0");
}

TEST_CASE("add_all: issues name the line counted from first_line", "[client][import]") {
  scratch_store db;
  auto bad = pats_group();
  bad.fields.emplace_back("colour", "red");
  const auto e = must_fail(db->add_all({pats_group(), workshop(), bad}, 10), errc::invalid_input);
  CHECK(names_field(e.issues, "line 12: colour"));
  CHECK(must(db->status()).records == 0);
  CHECK(must(db->add_all({})).empty());
}

// An import large enough to be prepared on several threads (runs of 64
// records taken in turn): each id is its own input's record, and the issues
// come in line order from every run.
TEST_CASE("add_all: a large batch keeps each record with its id and its issues in line order",
          "[client][import]") {
  scratch_store db;
  std::vector<record_input> inputs;
  for (int i = 0; i < 2000; ++i) {
    inputs.push_back(i % 3 == 0 ? workshop() : pats_group());
    for (auto& [key, text] : inputs.back().fields)
      if (key == "participants") text = std::to_string(1 + i % 50);
  }
  auto refused = inputs;
  for (const std::size_t line : {1999, 2, 700, 64, 65})  // across runs, given out of order
    refused[line].fields.emplace_back("colour", "red");
  const auto e = must_fail(db->add_all(refused, 0), errc::invalid_input);
  CHECK(e.message == "nothing imported: 5 of 2000 records are not valid");
  std::vector<std::string> lines;
  for (const auto& i : e.issues) lines.push_back(i.field);
  CHECK(lines == std::vector<std::string>{"line 2: colour", "line 64: colour", "line 65: colour",
                                          "line 700: colour", "line 1999: colour"});
  CHECK(must(db->status()).records == 0);

  const auto ids = must(db->add_all(inputs));
  REQUIRE(ids.size() == inputs.size());
  CHECK(std::set<sync::record_id>(ids.begin(), ids.end()).size() == ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto r = must(db->get(ids[i]));
    REQUIRE(r);
    CHECK(r->type == inputs[i].type);
    CHECK(r->fields.at("participants") == value{std::int64_t{1 + static_cast<int>(i) % 50}});
  }
  CHECK(must(db->status()).records == 2000);
}

TEST_CASE("parse_record_json: type, team and fields as text", "[client][json]") {
  const auto in = must(parse_record_json(
      R"({"type": "assistance_case", "team": "crisis", "fields": {"services": ["food", "escort"], "discharged": null, "age": 17, "flag": true}})"));
  CHECK(in.type == "assistance_case");
  CHECK(in.team == "crisis");
  using texts = std::vector<std::pair<std::string, std::string>>;
  CHECK(in.fields ==
        texts{{"services", "food,escort"}, {"discharged", ""}, {"age", "17"}, {"flag", "true"}});

  for (const char* bad :
       {"", "{", "[]", "\"x\"", R"({"fields": {}})", R"({"type": 1})",
        R"({"type": "x", "fields": []})", R"({"type": "x", "fields": {"a": 1.5}})",
        R"({"type": "x", "fields": {"a": {"b": 1}}})", R"({"type": "x", "fields": {"a": [true]}})",
        R"({"type": "x", "extra": 1})"}) {
    INFO(bad);
    must_fail(parse_record_json(bad), errc::invalid_input);
  }
}

TEST_CASE("parse_edits_json: set, add with +, remove with -, clear with null", "[client][json]") {
  const auto edits = must(parse_edits_json(
      R"({"site": "vic", "services+": ["escort", "food"], "services-": "food", "discharged": null, "participants": 3})"));
  REQUIRE(edits.size() == 5);
  using op = client::field_edit::op;
  CHECK(edits[0].field == "site");
  CHECK(edits[0].action == op::set);
  CHECK(edits[0].text == "vic");
  CHECK(edits[1].field == "services");
  CHECK(edits[1].action == op::add);
  CHECK(edits[1].text == "escort,food");
  CHECK(edits[2].field == "services");
  CHECK(edits[2].action == op::remove);
  CHECK(edits[2].text == "food");
  CHECK(edits[3].field == "discharged");
  CHECK(edits[3].action == op::set);
  CHECK(edits[3].text.empty());
  CHECK(edits[4].text == "3");

  for (const char* bad : {"", "[]", "null", R"({"site": 1.5})", R"({"services+": [1]})"}) {
    INFO(bad);
    must_fail(parse_edits_json(bad), errc::invalid_input);
  }
}

TEST_CASE("parsed JSON edits apply to a record", "[client][json]") {
  scratch_store db;
  const record_id id = must(db->add(crisis_case()));
  must(db->edit(
      id,
      must(parse_edits_json(
          R"({"services+": ["escort"], "services-": ["food"], "discharged": null, "referred_by": "ngo"})"))));
  const record r = get_record(*db, id);
  CHECK(text_of(r, "services") == "accommodation,escort,psychological");
  CHECK(r.fields.count("discharged") == 0);
  CHECK(text_of(r, "referred_by") == "ngo");
}

TEST_CASE("to_json: records and status", "[client][json]") {
  scratch_store db("team-a");
  const record_id id = must(db->add(crisis_case()));
  const std::string json = to_json(get_record(*db, id));
  CHECK_THAT(json, Catch::StartsWith("{\"id\":\"" + id.hex() + "\""));
  for (const char* part :
       {R"("type":"assistance_case")", R"("team":"team-a")", R"("deleted":false)",
        R"("pending":true)", R"("admitted":"2026-03-01")", R"("person":"C-19B2-E04DT")",
        R"("services":["accommodation","food","psychological"])", R"("derived":{"care_days":3})"}) {
    INFO(part);
    CHECK_THAT(json, Catch::Contains(part));
  }
  CHECK(to_json(std::vector<record>{}) == "[]");
  CHECK_THAT(to_json(must(db->list())), Catch::StartsWith("[{\"id\""));

  const auto s = must(db->status());
  const std::string status = to_json(s);
  for (const std::string& part :
       {std::string("\"node\":\"") + std::to_string(s.node) + "\"",
        std::string(R"("default_team":"team-a")"), std::string(R"("records":1)"),
        std::string(R"("pending_changes":13)"), std::string(R"("local_seq":13)"),
        std::string(R"("acked_seq":0)"), std::string(R"("pulled_seq":0)"),
        std::string(R"("last_sync_ms":null)")}) {
    INFO(part);
    CHECK_THAT(status, Catch::Contains(part));
  }

  must(db->remove(id));
  const std::string gone = to_json(get_record(*db, id));
  CHECK_THAT(gone, Catch::Contains(R"("deleted":true)"));
  CHECK_THAT(gone, Catch::Contains(R"("fields":{})"));
  CHECK_THAT(gone, Catch::Contains(R"("derived":{})"));
}

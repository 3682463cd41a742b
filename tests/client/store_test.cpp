// The local store: lifecycle, add/get/list, validation that writes nothing,
// edits and deletions.

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <haven/client/record_json.hpp>
#include <haven/client/store.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "../support/packed_layout.hpp"
#include "scratch_store.hpp"

using namespace haven;
using namespace haven::test;

// --- lifecycle ---------------------------------------------------------------

TEST_CASE("store: create gives a fresh node id and the default team", "[client][store]") {
  scratch_store a("pats-vic"), b("pats-vic");
  const auto s = must(a->status());
  CHECK(s.node != 0);
  CHECK(s.node == a->node());
  CHECK(a->node() != b->node());
  CHECK(s.default_team == "pats-vic");
  CHECK(s.schema_version == a->schema().version());
  CHECK(counts_of(*a) ==
        "records=0 pending_records=0 pending_cells=0 local_seq=0 acked=0 pulled=0");
  CHECK_FALSE(s.last_sync_ms.has_value());
  CHECK(std::filesystem::exists(a.file()));
}

TEST_CASE("store: reopening keeps node id, team, records and cursors", "[client][store]") {
  scratch_store db("crisis-line");
  const sync::node_id node = db->node();
  const record_id id = must(db->add(on_call()));
  must(db->add(workshop()));
  const auto before = must(db->status());
  must(db->acknowledge(4));  // the on-call event's 4 cells: a batch ends between records
  must(db->apply_remote({}, 77));

  db.reopen();
  const auto after = must(db->status());
  CHECK(after.node == node);
  CHECK(db->node() == node);
  CHECK(after.default_team == "crisis-line");
  CHECK(after.records == 2);
  CHECK(after.local_seq == before.local_seq);
  CHECK(after.acked_seq == 4);
  CHECK(after.pulled_seq == 77);
  CHECK(after.pending_cells == before.local_seq - 4);  // the workshop's
  CHECK(text_of(get_record(*db, id), "caller") == "police");

  // The sequence continues where it stopped.
  must(db->edit(id, {set_field("response_minutes", "30")}));
  CHECK(must(db->status()).local_seq == before.local_seq + 1);
}

TEST_CASE("store: a store of format 2 is migrated to 3: its cells, outbox, cursors and flags",
          "[client][store][upgrade]") {
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  const record_id a = must(db->add(on_call()));  // seq 1..4
  const record_id b = must(db->add(workshop()));
  must(db->acknowledge(4));
  must(db->edit(b, {set_field("participants", "30")}));
  must(db->apply_remote({remote_change(record_id::random(),
                                       {remote_cell("outcome", std::string("admitted"),
                                                    sync::hlc::make(time.now() + 1000, 0))},
                                       "on_call_event")},
                        3));
  const auto status = must(db->status());
  const auto box = must(db->outbox());
  const auto listed = must(db->list({}));
  const std::string cells = cell_lines(db.file());
  db.close();
  unpack_to_format_2(db.file());
  {
    sqlite::database raw(db.file(), sqlite::database::mode::open_existing);
    raw.exec(
        "UPDATE meta SET value = 2 WHERE key = 'store_format'; DELETE FROM meta WHERE key = "
        "'sent_seq'");
  }
  db.reopen(with_clock(time));
  CHECK(cell_lines(db.file()) == cells);
  const auto now = must(db->status());
  CHECK(now.pending_cells == status.pending_cells);
  CHECK(now.pending_records == status.pending_records);
  CHECK(now.acked_seq == 4);
  CHECK(now.local_seq == status.local_seq);
  const auto migrated = must(db->outbox());
  CHECK(migrated.changes == box.changes);
  CHECK(migrated.last_seq == box.last_seq);
  const auto relisted = must(db->list({}));
  REQUIRE(relisted.size() == listed.size());
  for (std::size_t i = 0; i < listed.size(); ++i) {
    CHECK(relisted[i].id == listed[i].id);
    CHECK(relisted[i].fields == listed[i].fields);
    CHECK(relisted[i].pending == listed[i].pending);
  }
  CHECK_FALSE(get_record(*db, a).pending);
  CHECK(get_record(*db, b).pending);
  // And it records on top, its seq counting on.
  must(db->edit(a, {set_field("response_minutes", "12")}));
  CHECK(must(db->status()).local_seq == status.local_seq + 1);
}

TEST_CASE(
    "store: after reopening, local writes follow the stored clock even if the wall clock went back",
    "[client][store]") {
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  const record_id id = must(db->add(on_call()));
  const sync::hlc first = all_cells(must(db->outbox())).front().at.time;

  time.set(time.now() - 3'600'000);  // the device clock was set an hour back
  db.reopen(with_clock(time));
  must(db->edit(id, {set_field("outcome", "advice-only")}));
  const auto cells = cells_of(must(db->outbox()), id);
  REQUIRE(cells.size() == 4);
  const auto outcome = std::find_if(cells.begin(), cells.end(),
                                    [](const sync::cell& c) { return c.key == "outcome"; });
  REQUIRE(outcome != cells.end());
  CHECK(outcome->at.time > first);
}

TEST_CASE("store: opening a missing store is not_found and creates nothing", "[client][store]") {
  temp_dir dir;
  const auto file = dir.file("nowhere.db");
  const auto e = must_fail(store::open(file), errc::not_found);
  CHECK_THAT(e.message, Catch::Contains(file.string()));
  CHECK_FALSE(std::filesystem::exists(file));
}

TEST_CASE("store: creating over an existing store is already_exists and leaves it as it was",
          "[client][store]") {
  scratch_store db("team-a");
  const record_id id = must(db->add(pats_group()));
  const std::string before = state_of(*db);
  const sync::node_id node = db->node();

  must_fail(store::create(db.file(), "team-b"), errc::already_exists);
  CHECK(state_of(*db) == before);

  db.reopen();
  CHECK(db->node() == node);
  CHECK(must(db->status()).default_team == "team-a");
  CHECK(text_of(get_record(*db, id), "site") == "logatec");
}

TEST_CASE("store: creating over any existing file is refused", "[client][store]") {
  temp_dir dir;
  const auto file = dir.file("notes.txt");
  { std::ofstream(file) << "not a store"; }
  must_fail(store::create(file, "team-a"), errc::already_exists);
  std::ifstream in(file);
  std::string text;
  std::getline(in, text);
  CHECK(text == "not a store");
}

TEST_CASE("store: a bad default team is refused and no file is made", "[client][store]") {
  temp_dir dir;
  for (const char* team :
       {"", "Team-A", "team a", "-team", "team_a", "a-team-name-that-is-far-too-long-x"}) {
    INFO("team \"" << team << "\"");
    const auto file = dir.file("bad.db");
    const auto e = must_fail(store::create(file, team), errc::invalid_input);
    CHECK(names_field(e.issues, "team"));
    CHECK_FALSE(std::filesystem::exists(file));
  }
  scratch_store ok("a-team-name-that-is-32-chars-lon");
  CHECK(must(ok->status()).default_team.size() == 32);
}

// --- add / get / list ----------------------------------------------------------

TEST_CASE("store: add and get a record of each type", "[client][store]") {
  scratch_store db("team-a");

  SECTION("individual PATS interview") {
    const record r = get_record(*db, must(db->add(pats_individual())));
    CHECK(r.type == "pats_session");
    CHECK(r.team == "team-a");
    CHECK_FALSE(r.deleted);
    CHECK(r.pending);
    CHECK(text_of(r, "date") == "2026-03-02");
    CHECK(text_of(r, "site") == "vic");
    CHECK(text_of(r, "format") == "individual");
    CHECK(text_of(r, "person") == "P-7F3A-9C21J");
    CHECK(text_of(r, "nationality") == "UA");
    CHECK(text_of(r, "topics") == "gbv,thb");
    CHECK(r.fields.at("topics") == value{code_set{"gbv", "thb"}});
    CHECK(r.fields.at("date") == value{*parse_date("2026-03-02")});
    // The default participants = 1 is applied on add.
    CHECK(r.fields.at("participants") == value{std::int64_t{1}});
    CHECK(r.derived.empty());
  }
  SECTION("group PATS session keeps its own participant count") {
    const record r = get_record(*db, must(db->add(pats_group())));
    CHECK(r.fields.at("participants") == value{std::int64_t{14}});
    CHECK(r.fields.count("person") == 0);
  }
  SECTION("crisis accommodation shows its care days") {
    const record r = get_record(*db, must(db->add(crisis_case())));
    CHECK(r.type == "assistance_case");
    CHECK(text_of(r, "services") == "accommodation,food,psychological");
    CHECK(text_of(r, "admitted") == "2026-03-01");
    CHECK(derived_of(r, "care_days") == 3);
  }
  SECTION("on-call event") {
    const record r = get_record(*db, must(db->add(on_call())));
    CHECK(r.type == "on_call_event");
    CHECK(r.fields.at("response_minutes") == value{std::int64_t{45}});
    CHECK(text_of(r, "outcome") == "admitted");
  }
  SECTION("prevention workshop in another team") {
    auto in = workshop();
    in.team = "schools-east";
    const record r = get_record(*db, must(db->add(in)));
    CHECK(r.team == "schools-east");
    CHECK(r.fields.at("participants") == value{std::int64_t{27}});
    CHECK(r.fields.at("teachers") == value{std::int64_t{2}});
  }
}

TEST_CASE("store: care_days is at least 1 and undefined while the person is in care",
          "[client][store]") {
  scratch_store db;
  auto same_day = crisis_case();
  same_day.fields.back() = {"services", "food"};
  for (auto& [k, v] : same_day.fields)
    if (k == "discharged") v = "2026-03-01";
  CHECK(derived_of(get_record(*db, must(db->add(same_day))), "care_days") == 1);

  auto in_care = crisis_case();
  std::erase_if(in_care.fields, [](const auto& f) { return f.first == "discharged"; });
  const record r = get_record(*db, must(db->add(in_care)));
  CHECK_FALSE(derived_of(r, "care_days").has_value());
  CHECK(r.fields.count("discharged") == 0);

  auto thirty = crisis_case();
  for (auto& [k, v] : thirty.fields)
    if (k == "discharged") v = "2026-03-31";
  CHECK(derived_of(get_record(*db, must(db->add(thirty))), "care_days") == 30);
}

TEST_CASE("store: list returns live records oldest first, optionally by type", "[client][store]") {
  scratch_store db;
  std::vector<record_id> ids;
  ids.push_back(must(db->add(pats_individual())));
  ids.push_back(must(db->add(crisis_case())));
  ids.push_back(must(db->add(pats_group())));
  ids.push_back(must(db->add(on_call())));
  ids.push_back(must(db->add(workshop())));

  const auto all = must(db->list());
  REQUIRE(all.size() == 5);
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i].id.hex() == ids[i].hex());

  const auto pats = must(db->list("pats_session"));
  REQUIRE(pats.size() == 2);
  CHECK(pats[0].id == ids[0]);
  CHECK(pats[1].id == ids[2]);
  const auto cases = must(db->list("assistance_case"));
  REQUIRE(cases.size() == 1);
  CHECK(derived_of(cases[0], "care_days") == 3);
  CHECK(must(db->list("on_call_event")).size() == 1);
  CHECK(must(db->list("prevention_workshop")).size() == 1);
  CHECK(must(db->list("no_such_type")).empty());
  // A typed list does not stick to the next untyped one.
  CHECK(must(db->list()).size() == 5);

  // list and get agree.
  for (const auto& r : all) CHECK(to_json(r) == to_json(get_record(*db, r.id)));
  CHECK(must(db->status()).records == 5);
}

TEST_CASE("store: ids are unique 32-hex-character ids", "[client][store]") {
  scratch_store db;
  std::set<std::string> seen;
  auto ids = must(db->add_all(std::vector<record_input>(40, pats_group())));
  ids.push_back(must(db->add(pats_group())));
  for (const auto& id : ids) {
    const std::string hex = id.hex();
    CHECK(hex.size() == 32);
    CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(record_id::parse(hex) == id);
    seen.insert(hex);
  }
  CHECK(seen.size() == 41);
  CHECK(must(db->status()).records == 41);
}

TEST_CASE("store: get of an id the store never saw is nullopt", "[client][store]") {
  scratch_store db;
  must(db->add(pats_group()));
  CHECK_FALSE(must(db->get(record_id::random())).has_value());
}

// --- validation writes nothing ---------------------------------------------------

namespace {

struct invalid_case {
  const char* what;
  record_input in;
  const char* field;  // a field an issue must name
};

std::vector<invalid_case> invalid_cases() {
  auto with = [](record_input in, std::string key, std::string text) {
    in.fields.emplace_back(std::move(key), std::move(text));
    return in;
  };
  auto replace = [](record_input in, const std::string& key, std::string text) {
    for (auto& f : in.fields)
      if (f.first == key) f.second = text;
    return in;
  };
  auto without = [](record_input in, const std::string& key) {
    std::erase_if(in.fields, [&](const auto& f) { return f.first == key; });
    return in;
  };
  return {
      {"unknown type", input("shelter_visit", {{"date", "2026-03-01"}}), "type"},
      {"unknown field", with(pats_group(), "colour", "red"), "colour"},
      {"bad code", replace(pats_group(), "site", "ljubljana"), "site"},
      {"bad code in a set", replace(crisis_case(), "services", "food,cash"), "services"},
      {"bad country", replace(pats_individual(), "nationality", "Ukraine"), "nationality"},
      {"missing required date", without(pats_group(), "date"), "date"},
      {"missing required person", without(crisis_case(), "person"), "person"},
      {"individual with 3 participants", with(pats_individual(), "participants", "3"),
       "participants"},
      {"individual without a person", without(pats_individual(), "person"), "person"},
      {"group with a person", with(pats_group(), "person", "P-7F3A-9C21J"), "person"},
      {"crisis accommodation for 31 days", replace(crisis_case(), "discharged", "2026-04-01"),
       "care_days"},
      {"discharged before admitted", replace(crisis_case(), "discharged", "2026-02-27"),
       "discharged"},
      {"pseudonym with a space", replace(pats_individual(), "person", "Ana Novak"), "person"},
      {"pseudonym too short", replace(pats_individual(), "person", "P-1"), "person"},
      {"field given twice", with(pats_group(), "site", "vic"), "site"},
      {"bad team",
       [&] {
         auto in = pats_group();
         in.team = "Team A";
         return in;
       }(),
       "team"},
      {"impossible date", replace(on_call(), "date", "2026-02-30"), "date"},
      {"participants below minimum", replace(workshop(), "participants", "0"), "participants"},
      {"participants not a number", replace(workshop(), "participants", "many"), "participants"},
      {"negative response time", replace(on_call(), "response_minutes", "-5"), "response_minutes"},
  };
}

}  // namespace

TEST_CASE(
    "store: an invalid record is refused with an issue naming the field, and nothing is written",
    "[client][store][validation]") {
  const auto cases = invalid_cases();
  const auto index = GENERATE_COPY(range(std::size_t{0}, cases.size()));
  const invalid_case& c = cases[index];
  INFO(c.what);

  scratch_store db;
  must(db->add(pats_group()));  // something already there, with a pending outbox
  const std::string before = state_of(*db);

  const auto e = must_fail(db->add(c.in), errc::invalid_input);
  INFO(e.describe());
  CHECK(names_field(e.issues, c.field));
  CHECK_THAT(e.describe(), Catch::Contains(c.field));
  CHECK(state_of(*db) == before);

  // check() reports the same issues, and writes nothing either.
  const auto issues = must(db->check(c.in));
  CHECK(issues == e.issues);
  CHECK(state_of(*db) == before);

  // Nor does a batch holding the bad record.
  const auto batch = must_fail(db->add_all({pats_group(), c.in}), errc::invalid_input);
  CHECK(names_field(batch.issues, std::string("line 2: ") + c.field));
  CHECK(state_of(*db) == before);
}

TEST_CASE("store: one issue per problem, each field reported once", "[client][store][validation]") {
  scratch_store db;
  auto in = input("pats_session",
                  {{"site", "ljubljana"}, {"format", "individual"}, {"participants", "0"}});
  const auto e = must_fail(db->add(in), errc::invalid_input);
  INFO(e.describe());
  CHECK(names_field(e.issues, "date"));
  CHECK(names_field(e.issues, "site"));
  CHECK(names_field(e.issues, "participants"));
  CHECK(names_field(e.issues, "person"));
  for (const char* f : {"site", "participants", "date"})
    CHECK(std::count_if(e.issues.begin(), e.issues.end(),
                        [&](const field_issue& i) { return i.field == f; }) == 1);
  CHECK(must(db->status()).local_seq == 0);
}

TEST_CASE("store: check of a valid record is empty and writes nothing",
          "[client][store][validation]") {
  scratch_store db;
  for (const auto& in : {pats_individual(), pats_group(), crisis_case(), on_call(), workshop()})
    CHECK(must(db->check(in)).empty());
  const auto s = must(db->status());
  CHECK(s.local_seq == 0);
  CHECK(s.records == 0);
}

// --- edit ------------------------------------------------------------------------

TEST_CASE("store: edit sets and clears scalar fields", "[client][store][edit]") {
  scratch_store db;
  const record_id id = must(db->add(crisis_case()));
  must(db->acknowledge(must(db->status()).local_seq));

  must(db->edit(id, {set_field("referred_by", "ngo"), set_field("discharged", "2026-03-11")}));
  record r = get_record(*db, id);
  CHECK(text_of(r, "referred_by") == "ngo");
  CHECK(derived_of(r, "care_days") == 10);
  CHECK(r.pending);

  must(db->edit(id, {set_field("discharged", ""), set_field("age_band", "")}));
  r = get_record(*db, id);
  CHECK(r.fields.count("discharged") == 0);
  CHECK(r.fields.count("age_band") == 0);
  CHECK_FALSE(derived_of(r, "care_days").has_value());

  // A cleared field travels as a null cell.
  const auto cells = cells_of(must(db->outbox()), id);
  // referred_by from the first edit, then age_band and discharged.
  auto keys = keys_of(cells);
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::string>{"age_band", "discharged", "referred_by"});
  for (const auto& c : cells)
    if (c.key == "discharged" || c.key == "age_band") CHECK(is_null(c.val));
}

TEST_CASE("store: edit adds and removes set elements, one cell per element",
          "[client][store][edit]") {
  scratch_store db;
  const record_id id = must(db->add(crisis_case()));
  must(db->acknowledge(must(db->status()).local_seq));

  must(db->edit(id, {add_elements("services", "escort,legal-information"),
                     remove_elements("services", "food")}));
  CHECK(text_of(get_record(*db, id), "services") ==
        "accommodation,escort,legal-information,psychological");
  auto cells = all_cells(must(db->outbox()));
  REQUIRE(cells.size() == 3);
  for (const auto& c : cells) {
    INFO(describe(c));
    if (c.key == "services.food")
      CHECK(c.val == value{false});
    else
      CHECK(c.val == value{true});
  }

  // Adding what is there or removing what is not writes nothing.
  const auto seq = must(db->status()).local_seq;
  must(db->edit(id,
                {add_elements("services", "escort"), remove_elements("services", "interpreting")}));
  CHECK(must(db->status()).local_seq == seq);

  // Removing every element leaves an empty set.
  must(db->edit(
      id, {remove_elements("services", "accommodation,escort,legal-information,psychological")}));
  CHECK(text_of(get_record(*db, id), "services") == "");
}

TEST_CASE("store: setting a whole set writes only the elements that changed",
          "[client][store][edit]") {
  scratch_store db;
  const record_id id = must(db->add(crisis_case()));  // accommodation, food, psychological
  must(db->acknowledge(must(db->status()).local_seq));

  must(db->edit(id, {set_field("services", "food,escort,counselling")}));
  CHECK(text_of(get_record(*db, id), "services") == "counselling,escort,food");
  auto cells = all_cells(must(db->outbox()));
  std::map<std::string, std::string> got;
  for (const auto& c : cells) got[c.key] = to_text(c.val);
  CHECK(got == std::map<std::string, std::string>{{"services.accommodation", "false"},
                                                  {"services.counselling", "true"},
                                                  {"services.escort", "true"},
                                                  {"services.psychological", "false"}});

  // Setting a set to empty text clears it.
  must(db->edit(id, {set_field("services", "")}));
  CHECK(text_of(get_record(*db, id), "services") == "");
}

TEST_CASE("store: an edit that would make the record invalid is refused and changes nothing",
          "[client][store][edit]") {
  scratch_store db;
  const record_id crisis = must(db->add(crisis_case()));
  const record_id individual = must(db->add(pats_individual()));
  const record_id group = must(db->add(pats_group()));

  struct refused {
    record_id id;
    std::vector<field_edit> edits;
    const char* field;
  };
  const std::vector<refused> cases = {
      {crisis, {set_field("discharged", "2026-04-15")}, "care_days"},
      {crisis, {set_field("discharged", "2026-02-01")}, "discharged"},
      {crisis, {set_field("person", "")}, "person"},
      {crisis, {set_field("services", "food,cash")}, "services"},
      {crisis, {add_elements("services", "cash")}, "services"},
      {crisis, {add_elements("sex", "female")}, "sex"},
      {individual, {set_field("participants", "2")}, "participants"},
      {individual, {set_field("site", "")}, "site"},
      {individual, {set_field("colour", "red")}, "colour"},
      {group, {set_field("person", "P-7F3A-9C21J")}, "person"},
      {group, {set_field("format", "individual")}, "person"},
      // one bad edit refuses the good one with it
      {group, {set_field("site", "vic"), set_field("date", "yesterday")}, "date"},
  };
  for (const auto& c : cases) {
    INFO("field " << c.field);
    const std::string before = state_of(*db);
    const auto e = must_fail(db->edit(c.id, c.edits), errc::invalid_input);
    INFO(e.describe());
    CHECK(names_field(e.issues, c.field));
    CHECK(state_of(*db) == before);
  }
  CHECK(text_of(get_record(*db, group), "site") == "logatec");
}

TEST_CASE("store: editing an unknown or deleted record is not_found", "[client][store][edit]") {
  scratch_store db;
  const record_id id = must(db->add(on_call()));
  must_fail(db->edit(record_id::random(), {set_field("caller", "ngo")}), errc::not_found);
  must(db->remove(id));
  const std::string before = state_of(*db);
  must_fail(db->edit(id, {set_field("caller", "ngo")}), errc::not_found);
  CHECK(state_of(*db) == before);
}

TEST_CASE("store: an edit to the value already there writes nothing", "[client][store][edit]") {
  scratch_store db;
  const record_id id = must(db->add(crisis_case()));
  const auto acked = must(db->status()).local_seq;
  must(db->acknowledge(acked));
  const std::string before = state_of(*db);

  must(db->edit(id, {set_field("sex", "female"), set_field("discharged", "2026-03-04"),
                     set_field("services", "psychological,food,accommodation"),
                     set_field("nationality", "ng"), add_elements("services", "food"),
                     remove_elements("offence", "art112-enslavement")}));
  CHECK(state_of(*db) == before);
  CHECK(must(db->outbox()).cells == 0);
  CHECK_FALSE(get_record(*db, id).pending);
}

TEST_CASE("store: edit with an empty list of set elements is a harmless no-op",
          "[client][store][edit]") {
  // "services+": [] from the C ABI or a shell: nothing to add.
  scratch_store db;
  const record_id id = must(db->add(crisis_case()));
  const std::string before = state_of(*db);
  for (auto e : {add_elements("services", ""), remove_elements("services", "")}) {
    const auto r = db->edit(id, {e});
    INFO((r.ok() ? std::string("ok") : r.err().describe()));
    // Either accepted as a no-op or refused as invalid input; never an internal error.
    CHECK((r.ok() || r.err().code == errc::invalid_input));
    CHECK(state_of(*db) == before);
  }
}

// --- delete ------------------------------------------------------------------------

TEST_CASE("store: delete erases the record's values and leaves only the marker",
          "[client][store][delete]") {
  scratch_store db;
  const record_id keep = must(db->add(pats_group()));
  const record_id gone = must(db->add(crisis_case()));
  must(db->edit(gone, {set_field("referred_by", "ngo")}));
  must(db->acknowledge(must(db->status()).local_seq));

  must(db->remove(gone));
  const record r = get_record(*db, gone);
  CHECK(r.deleted);
  CHECK(r.fields.empty());
  CHECK(r.derived.empty());
  CHECK(r.type == "assistance_case");
  CHECK(r.pending);

  const auto live = must(db->list());
  REQUIRE(live.size() == 1);
  CHECK(live[0].id == keep);
  CHECK(must(db->list("assistance_case")).empty());
  CHECK(must(db->status()).records == 1);

  const auto box = must(db->outbox());
  REQUIRE(box.changes.size() == 1);
  CHECK(box.changes[0].id == gone);
  REQUIRE(box.changes[0].cells.size() == 1);
  CHECK(box.changes[0].cells[0].key == sync::deleted_key);
  CHECK(box.changes[0].cells[0].val == value{true});
  CHECK(box.changes[0].cells[0].at.node == db->node());
}

TEST_CASE("store: deleting before the first push sends only the deletion",
          "[client][store][delete]") {
  scratch_store db;
  const record_id id = must(db->add(pats_individual()));
  must(db->edit(id, {add_elements("topics", "sexual-violence")}));
  must(db->remove(id));
  const auto box = must(db->outbox());
  CHECK(keys_of(cells_of(box, id)) == std::vector<std::string>{"_deleted"});
  CHECK(box.cells == 1);
  // 12 cells of the interview, 1 edit, 1 deletion; only the deletion is left.
  CHECK(counts_of(*db) ==
        "records=0 pending_records=1 pending_cells=1 local_seq=14 acked=0 pulled=0");
}

TEST_CASE("store: a second delete, or deleting an unknown id, is not_found",
          "[client][store][delete]") {
  scratch_store db;
  const record_id id = must(db->add(workshop()));
  must(db->remove(id));
  const std::string before = state_of(*db);
  must_fail(db->remove(id), errc::not_found);
  must_fail(db->remove(record_id::random()), errc::not_found);
  CHECK(state_of(*db) == before);
}

TEST_CASE("store: deletion survives reopening", "[client][store][delete]") {
  scratch_store db;
  const record_id id = must(db->add(crisis_case()));
  must(db->remove(id));
  db.reopen();
  const record r = get_record(*db, id);
  CHECK(r.deleted);
  CHECK(r.fields.empty());
  CHECK(must(db->list()).empty());
}

// --- a newer schema from the server, the last sync, two handles ----------------------

namespace {

// The shipped schema as version 2, with a new service code.
std::string schema_v2() {
  std::string json(schema::builtin_source());
  const auto replace = [&](std::string_view from, std::string_view to) {
    const auto at = json.find(from);
    REQUIRE(at != std::string::npos);
    json.replace(at, from.size(), to);
  };
  replace("\"version\": 1,", "\"version\": 2,");
  replace("\"learning\", \"job-search\"]", "\"learning\", \"job-search\", \"peer-support\"]");
  return json;
}

}  // namespace

TEST_CASE("store: a newer schema is adopted, kept, and used to validate",
          "[client][store][schema]") {
  scratch_store db;
  auto in = crisis_case();
  in.fields.back().second = "food,peer-support";
  CHECK(names_field(must_fail(db->add(in), errc::invalid_input).issues, "services"));

  CHECK_FALSE(must(db->adopt_schema(schema::builtin_source())));  // not newer
  must_fail(db->adopt_schema("{\"version\": 3"), errc::schema);
  CHECK(db->schema().version() == 1);

  CHECK(must(db->adopt_schema(schema_v2())));
  CHECK(db->schema().version() == 2);
  CHECK(must(db->status()).schema_version == 2);
  const record_id id = must(db->add(in));
  CHECK(text_of(get_record(*db, id), "services") == "food,peer-support");
  CHECK_FALSE(must(db->adopt_schema(schema_v2())));

  db.reopen();
  CHECK(db->schema().version() == 2);
  must(db->edit(id, {set_field("referred_by", "ngo")}));
  CHECK(text_of(get_record(*db, id), "services") == "food,peer-support");
}

TEST_CASE("store: mark_synced shows in status and survives reopening", "[client][store]") {
  scratch_store db;
  CHECK_FALSE(must(db->status()).last_sync_ms.has_value());
  must(db->mark_synced(1'772'323'200'123));
  CHECK(must(db->status()).last_sync_ms == 1'772'323'200'123);
  CHECK_THAT(to_json(must(db->status())), Catch::Contains("\"last_sync_ms\":1772323200123"));
  db.reopen();
  CHECK(must(db->status()).last_sync_ms == 1'772'323'200'123);
}

TEST_CASE("store: sync_status and outbox_cells say what status says, without counting records",
          "[client][store]") {
  scratch_store db;
  must(db->add(on_call()));
  const record_id second = must(db->add(workshop()));
  const auto outbox = must(db->outbox(1000));
  must(db->acknowledge(outbox.last_seq));  // both pushed
  must(db->edit(second, {set_field("participants", "31")}));
  must(db->mark_synced(1'772'323'200'123));

  const client::store_status full = must(db->status());
  const client::sync_state state = must(db->sync_status());
  CHECK(state.node == full.node);
  CHECK(state.default_team == full.default_team);
  CHECK(state.schema_version == full.schema_version);
  CHECK(state.local_seq == full.local_seq);
  CHECK(state.acked_seq == full.acked_seq);
  CHECK(state.acked_seq == outbox.last_seq);
  CHECK(state.pulled_seq == full.pulled_seq);
  CHECK(state.last_sync_ms == full.last_sync_ms);
  CHECK(state.device_id == full.device_id);
  CHECK(full.records == 2);
  CHECK(full.pending_cells == 1);  // the edit
  CHECK(must(db->outbox_cells()) == full.pending_cells);
}

// store.hpp: "two stores on the same file in two processes are fine" (the
// shell's `sync --watch` next to an `add`). Two handles in one process
// behave the same way: each sees the other's writes at once, and their
// writes interleave without "database is locked".
TEST_CASE("store: a second handle on the file sees every write of the first", "[client][store]") {
  scratch_store a;
  const record_id first = must(a->add(on_call()));
  auto b = must(store::open(a.file()));
  CHECK(b->node() == a->node());
  CHECK(text_of(get_record(*b, first), "caller") == "police");

  const record_id second = must(a->add(workshop()));
  CHECK(must(b->get(second)).has_value());
  CHECK(must(b->list()).size() == 2);
  const auto sa = must(a->status()), sb = must(b->status());
  CHECK(sb.records == 2);
  CHECK(sb.local_seq == sa.local_seq);
  CHECK(must(b->outbox()).cells == must(a->outbox()).cells);
}

TEST_CASE("store: two handles on one file take turns writing", "[client][store]") {
  scratch_store a;
  auto b = must(store::open(a.file()));

  const record_id first = must(a->add(on_call()));              // seq 1..4
  const record_id second = must(b->add(workshop()));            // seq 5..9, not 1..5 again
  must(a->edit(first, {set_field("outcome", "advice-only")}));  // seq 10
  must(b->edit(second, {set_field("teachers", "1")}));          // seq 11
  for (store* s : {&*a, b.get()}) {
    const auto st = must(s->status());
    CHECK(st.local_seq == 11);
    CHECK(st.records == 2);
    const auto box = must(s->outbox());
    CHECK(box.cells == 9);
    CHECK(box.last_seq == 11);
  }
  must(b->acknowledge(11));
  CHECK(must(a->status()).acked_seq == 11);
  CHECK_FALSE(get_record(*a, second).pending);
  must(a->apply_remote({}, 4));
  CHECK(must(b->status()).pulled_seq == 4);
}

TEST_CASE("store: resolve_id takes a record's id or a unique prefix of 4 or more hex characters",
          "[client][store][resolve_id]") {
  scratch_store db("pats-vic");
  // Enough records that two ids share their first 4 hex characters (65536 values).
  const auto ids = must(db->add_all(std::vector<client::record_input>(3000, on_call())));
  std::map<std::string, std::vector<record_id>> by_prefix;
  for (const auto& id : ids) by_prefix[id.hex().substr(0, 4)].push_back(id);
  const auto shared = std::find_if(by_prefix.begin(), by_prefix.end(),
                                   [](const auto& p) { return p.second.size() > 1; });
  REQUIRE(shared != by_prefix.end());
  const record_id one = shared->second[0], other = shared->second[1];

  // The whole id, in either case, and the shortest unique prefix of it.
  CHECK(must(db->resolve_id(one.hex())) == one);
  std::string upper = one.hex();
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(must(db->resolve_id(upper)) == one);
  std::size_t common = 4;
  while (one.hex()[common] == other.hex()[common]) ++common;
  CHECK(must(db->resolve_id(one.hex().substr(0, common + 1))) == one);
  CHECK(must(db->resolve_id(other.hex().substr(0, common + 1))) == other);

  // Ambiguous: named with two of the ids it could be.
  const auto ambiguous = db->resolve_id(one.hex().substr(0, 4));
  REQUIRE_FALSE(ambiguous);
  CHECK(ambiguous.err().code == errc::ambiguous);
  CHECK_THAT(ambiguous.err().message, Catch::Matchers::Contains("ambiguous") &&
                                          Catch::Matchers::Contains(one.hex().substr(0, 4)));
  // A deleted record is still named (show says it is deleted).
  must(db->remove(one));
  CHECK(must(db->resolve_id(one.hex())) == one);

  // Unknown, too short, not hex.
  std::string unknown = one.hex();
  unknown[31] = unknown[31] == '0' ? '1' : '0';
  CHECK(db->resolve_id(unknown).err().code == errc::not_found);
  for (const std::string& bad :
       std::vector<std::string>{"", "abc", "xyz0", "12 34", std::string(33, 'a'), "3f2a-"}) {
    CAPTURE(bad);
    const auto r = db->resolve_id(bad);
    REQUIRE_FALSE(r);
    CHECK(r.err().code == errc::invalid_input);
    CHECK_THAT(r.err().message, Catch::Matchers::Contains("not a record id"));
  }
}

// Devices that were offline converge through a real havend, and the tally it
// keeps incrementally equals a recomputation from scratch.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <haven/client/record_json.hpp>

#include "sync_fixture.hpp"

namespace haven::test {
namespace {

using client::field_edit;

// A random live record of the device, or nullopt.
std::optional<client::record> any_record(device& d, field_work& work) {
  auto list = d.db->list();
  REQUIRE(list.ok());
  if (list->empty()) return std::nullopt;
  return list.value()[static_cast<std::size_t>(work.pick(static_cast<int>(list->size())))];
}

// Adds, edits and deletes at random, as field staff would while offline.
void work_offline(device& d, field_work& work, int operations) {
  for (int i = 0; i < operations; ++i) {
    const int what = work.pick(10);
    if (what < 5) {
      REQUIRE(d.db->add(work.new_record()).ok());
    } else if (auto r = any_record(d, work); r && what < 9) {
      (void)d.db->edit(r->id, work.edit(*r));  // a refused edit changes nothing
    } else if (r) {
      REQUIRE(d.db->remove(r->id).ok());
    }
  }
}

TEST_CASE(
    "offline devices converge through havend in any sync order, and the tally equals a "
    "recomputation",
    "[e2e][sync][property]") {
  for (unsigned seed : {1u, 2u, 3u}) {
    sync_fixture f;
    field_work work(seed);
    for (const char* team : {"outreach", "outreach", "outreach", "crisis", "crisis"})
      f.add_device(team);
    for (int round = 0; round < 5; ++round) {
      for (auto& d : f.devices()) work_offline(*d, work, work.pick(8));
      // A random subset syncs, in random order.
      std::vector<device*> order;
      for (auto& d : f.devices())
        if (work.pick(3) != 0) order.push_back(d.get());
      std::shuffle(order.begin(), order.end(), work.rng());
      for (device* d : order) {
        auto r = f.sync(*d);
        INFO("seed " << seed << " round " << round << " " << d->name << ": "
                     << (r.ok() ? "" : r.err().describe()));
        REQUIRE(r.ok());
      }
      INFO("seed " << seed << " round " << round);
      f.check_tallies({2025, 2026});  // exact at every moment, not only at the end
    }
    f.sync_everyone();
    INFO("seed " << seed);
    f.check_teams_agree();
    f.check_tallies();
    for (auto& d : f.devices()) CHECK(d->db->status()->pending_cells == 0);
  }
}

std::string tally(sync_fixture& f, const std::string& id, int year) {
  const http_response r =
      http_get(f.server().address(), "/api/tallies/" + id + "?year=" + std::to_string(year));
  REQUIRE(r.status == 200);
  return r.body;
}

bool has(const std::string& json, const std::string& part) {
  return json.find(part) != std::string::npos;
}

TEST_CASE("one person met on two devices counts once, and a deletion and an edit move the tally",
          "[e2e][sync]") {
  sync_fixture f;
  device& vic = f.add_device("outreach");
  device& logatec = f.add_device("outreach");
  auto add = [](device& d, client::record_input in) {
    auto id = d.db->add(in);
    REQUIRE(id.ok());
    return id.value();
  };
  add(vic, {"pats_session",
            "",
            {{"date", "2026-03-02"},
             {"site", "vic"},
             {"format", "individual"},
             {"person", "PK-SAME-014"},
             {"nationality", "UA"}}});
  add(logatec, {"pats_session",
                "",
                {{"date", "2026-04-14"},
                 {"site", "logatec"},
                 {"format", "individual"},
                 {"person", "PK-SAME-014"},
                 {"nationality", "UA"}}});
  const auto other = add(logatec, {"pats_session",
                                   "",
                                   {{"date", "2026-04-14"},
                                    {"site", "logatec"},
                                    {"format", "individual"},
                                    {"person", "PK-0THER-25"}}});
  const auto stay = add(vic, {"assistance_case",
                              "",
                              {{"programme", "crisis-accommodation"},
                               {"person", "PK-SAME-014"},
                               {"sex", "female"},
                               {"nationality", "UA"},
                               {"admitted", "2026-05-01"},
                               {"discharged", "2026-05-07"}}});
  f.sync_everyone();

  std::string persons = tally(f, "pats-individual-by-site", 2026);
  CHECK(has(persons, R"({"row":["vic"],"column":null,"values":{"persons":1}})"));
  CHECK(has(persons, R"({"row":["logatec"],"column":null,"values":{"persons":2}})"));
  CHECK(
      has(persons, R"("total":{"persons":2})"));  // the same person at two sites: once in the total

  // Deleted on one device: it leaves every tally once synced.
  REQUIRE(logatec.db->remove(other).ok());
  f.sync_everyone();
  persons = tally(f, "pats-individual-by-site", 2026);
  CHECK(has(persons, R"({"row":["logatec"],"column":null,"values":{"persons":1}})"));
  CHECK(has(persons, R"("total":{"persons":1})"));
  CHECK(vic.db->get(other)->value().deleted);

  // Nationality corrected on the other device: the person moves between rows.
  CHECK(has(tally(f, "care-days-by-nationality", 2026),
            R"({"row":["UA"],"column":null,"values":{"care_days":6,"persons":1}})"));
  REQUIRE(logatec.db->edit(stay, {{"nationality", field_edit::op::set, "MD"}}).ok());
  f.sync_everyone();
  const std::string care = tally(f, "care-days-by-nationality", 2026);
  CHECK(has(care, R"({"row":["MD"],"column":null,"values":{"care_days":6,"persons":1}})"));
  CHECK_FALSE(has(care, R"("row":["UA"])"));
  f.check_teams_agree();
  f.check_tallies({2026});
}

}  // namespace
}  // namespace haven::test

namespace haven::test {
namespace {

TEST_CASE("a central store restored from an older backup gets every record back from the devices",
          "[e2e][sync][restore]") {
  sync_fixture f;
  field_work work(21);
  device& a = f.add_device("outreach");
  device& b = f.add_device("outreach");
  for (int i = 0; i < 20; ++i) REQUIRE(a.db->add(work.new_record()).ok());
  f.sync_everyone();

  // The backup: taken while havend is stopped, so the file is complete.
  const std::string central = f.dir().file("central.db"), backup = f.dir().file("backup.db");
  f.server().stop();
  std::filesystem::copy_file(central, backup);
  f.server().restart();

  // Work goes on and syncs; then the server is restored from the backup.
  for (int i = 0; i < 15; ++i) REQUIRE(b.db->add(work.new_record()).ok());
  for (int i = 0; i < 5; ++i) REQUIRE(a.db->add(work.new_record()).ok());
  f.sync_everyone();
  f.server().stop();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(central + suffix);
  std::filesystem::copy_file(backup, central);
  f.server().restart();

  // The devices notice the shorter log and send again what it lost.
  f.sync_everyone();
  f.check_teams_agree();
  f.check_tallies();
  CHECK(a.db->status()->records == 40);
  const http_response health = http_get(f.server().address(), "/healthz");
  CHECK(health.body.find("\"records\":40") != std::string::npos);
}

}  // namespace
}  // namespace haven::test

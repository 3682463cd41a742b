// Changes from other devices: apply_remote's merge with local cells, remote
// deletions, unknown fields, the pull cursor, idempotence, the clock, and a
// failed batch that must leave the store as it was.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <haven/client/record_json.hpp>
#include <haven/client/store.hpp>
#include <string>
#include <vector>

#include "scratch_store.hpp"

using namespace haven;
using namespace haven::test;

namespace {

// The stamp of the cell the store wrote for `key` of record `id` (must be in the outbox).
sync::stamp local_stamp(store& db, const record_id& id, std::string_view key) {
  for (const auto& c : cells_of(must(db.outbox()), id))
    if (c.key == key) return c.at;
  FAIL("no outbox cell " << key);
  return {};
}

// A crisis-accommodation case as another device would send it.
record_change remote_case(const record_id& id, sync::hlc t, sync::node_id node = 0x5eed) {
  return remote_change(id,
                       {remote_cell("admitted", *parse_date("2026-02-10"), t, node),
                        remote_cell("nationality", std::string("RO"), t, node),
                        remote_cell("person", std::string("R-0A1B-2C3DD"), t, node),
                        remote_cell("programme", std::string("crisis-accommodation"), t, node),
                        remote_cell("services.food", true, t, node),
                        remote_cell("sex", std::string("male"), t, node)},
                       "assistance_case");
}

}  // namespace

TEST_CASE("apply_remote: a new record from another device, not pending, not in the outbox",
          "[client][remote]") {
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  const record_id id = record_id::random();
  const auto stats =
      must(db->apply_remote({remote_case(id, sync::hlc::make(time.now() - 5000, 3))}, 1));
  CHECK(stats.applied == 6);
  CHECK(stats.superseded == 0);
  CHECK(stats.discarded == 0);

  const record r = get_record(*db, id);
  CHECK(r.type == "assistance_case");
  CHECK(r.team == "team-a");
  CHECK_FALSE(r.pending);
  CHECK(text_of(r, "services") == "food");
  CHECK(text_of(r, "admitted") == "2026-02-10");
  CHECK_FALSE(derived_of(r, "care_days").has_value());
  CHECK(counts_of(*db) ==
        "records=1 pending_records=0 pending_cells=0 local_seq=0 acked=0 pulled=1");
  CHECK(must(db->outbox()).changes.empty());
  REQUIRE(must(db->list()).size() == 1);
}

TEST_CASE("apply_remote: last writer wins per field against local cells", "[client][remote]") {
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  const record_id id = must(db->add(pats_group()));
  const sync::stamp local = local_stamp(*db, id, "site");
  CHECK(local.node == db->node());
  CHECK(local.time.millis() == time.now());

  const auto newer = sync::hlc::make(local.time.millis() + 1000, 0);
  const auto older = sync::hlc::make(local.time.millis() - 1000, 7);
  const auto stats = must(
      db->apply_remote({remote_change(id, {remote_cell("site", std::string("postojna"), newer),
                                           remote_cell("participants", std::int64_t{20}, older)})},
                       1));
  CHECK(stats.applied == 1);
  CHECK(stats.superseded == 1);
  record r = get_record(*db, id);
  CHECK(text_of(r, "site") == "postojna");
  CHECK(text_of(r, "participants") == "14");

  // The local site lost: it leaves the outbox; the participants cell stays to be pushed.
  auto keys = keys_of(cells_of(must(db->outbox()), id));
  CHECK(std::find(keys.begin(), keys.end(), "site") == keys.end());
  CHECK(std::find(keys.begin(), keys.end(), "participants") != keys.end());
  CHECK(must(db->status()).pending_cells == 5);

  SECTION("an equal HLC is decided by node id") {
    const sync::stamp date_at = local_stamp(*db, id, "date");
    must(db->apply_remote(
        {remote_change(
            id, {remote_cell("date", *parse_date("2026-01-05"), date_at.time, db->node() - 1),
                 remote_cell("format", std::string("individual"), date_at.time, db->node() + 1)})},
        2));
    r = get_record(*db, id);
    CHECK(text_of(r, "date") == "2026-03-03");
    CHECK(text_of(r, "format") == "individual");
  }
  SECTION("set elements merge one by one") {
    must(db->apply_remote(
        {remote_change(
            id, {remote_cell("topics.gbv", true, newer), remote_cell("topics.thb", false, newer),
                 remote_cell("topics.sexual-violence", false, older)})},
        2));
    CHECK(text_of(get_record(*db, id), "topics") == "gbv,sexual-violence");
  }
}

TEST_CASE(
    "apply_remote: a record whose latest local cell a pulled one replaced keeps its place in the "
    "outbox",
    "[client][remote]") {
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  const record_id a = must(db->add(on_call()));              // seq 1..4
  const record_id b = must(db->add(workshop()));             // seq 5..9
  must(db->edit(a, {set_field("outcome", "advice-only")}));  // seq 10
  const auto newer = sync::hlc::make(time.now() + 1000, 0);
  must(db->apply_remote(
      {remote_change(a, {remote_cell("outcome", std::string("admitted"), newer)}, "on_call_event")},
      1));
  // A batch of b alone is acknowledged at 9; a's own cells (seq 1, 2 and 4)
  // are still to go, below that position.
  const auto first = must(db->outbox(5));
  REQUIRE(first.changes.size() == 1);
  CHECK(first.changes[0].id == b);
  must(db->acknowledge(first.last_seq));
  CHECK(get_record(*db, a).pending);
  const auto rest = must(db->outbox());
  CHECK(rest.cells == 3);
  CHECK(keys_of(cells_of(rest, a)).size() == 3);
  must(db->acknowledge(rest.last_seq));
  CHECK(must(db->status()).pending_cells == 0);
  CHECK_FALSE(get_record(*db, a).pending);
}

TEST_CASE("apply_remote: a remote deletion erases the local record", "[client][remote]") {
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  const record_id keep = must(db->add(on_call()));
  const record_id id = must(db->add(crisis_case()));
  must(db->edit(id, {add_elements("services", "escort")}));  // pending, unpushed
  const auto local_seq = must(db->status()).local_seq;

  const auto deletion =
      remote_cell(std::string(sync::deleted_key), true, sync::hlc::make(time.now() - 60'000, 0));
  const auto stats = must(db->apply_remote({remote_change(id, {deletion}, "assistance_case")}, 3));
  CHECK(stats.applied == 1);

  const record r = get_record(*db, id);
  CHECK(r.deleted);
  CHECK(r.fields.empty());
  CHECK(r.derived.empty());
  CHECK_FALSE(r.pending);
  const auto live = must(db->list());
  REQUIRE(live.size() == 1);
  CHECK(live[0].id == keep);
  CHECK(cells_of(must(db->outbox()), id).empty());
  // The call is still pending; the case's cells are gone from the outbox.
  CHECK(counts_of(*db) == "records=1 pending_records=1 pending_cells=4 local_seq=" +
                              std::to_string(local_seq) + " acked=0 pulled=3");

  // The record is gone for local writes too.
  must_fail(db->edit(id, {set_field("sex", "male")}), errc::not_found);
  must_fail(db->remove(id), errc::not_found);

  SECTION("cells arriving after the deletion are discarded") {
    const auto later = sync::hlc::make(time.now() + 60'000, 0);
    const auto late =
        must(db->apply_remote({remote_change(id,
                                             {remote_cell("sex", std::string("male"), later),
                                              remote_cell("services.food", true, later)},
                                             "assistance_case")},
                              4));
    CHECK(late.discarded == 2);
    CHECK(late.applied == 0);
    CHECK(get_record(*db, id).fields.empty());
    CHECK(get_record(*db, id).deleted);
  }
  SECTION("a later deletion stamp replaces the marker; an earlier one does not") {
    const auto again = must(db->apply_remote(
        {remote_change(
             id,
             {remote_cell(std::string(sync::deleted_key), true, sync::hlc::make(time.now(), 9))},
             "assistance_case"),
         remote_change(id,
                       {remote_cell(std::string(sync::deleted_key), true, sync::hlc::make(1, 0))},
                       "assistance_case")},
        4));
    CHECK(again.applied == 1);
    CHECK(again.superseded == 1);
    CHECK(get_record(*db, id).fields.empty());
  }
}

TEST_CASE("apply_remote: a deletion of a record never seen here arrives as deleted",
          "[client][remote]") {
  scratch_store db;
  const record_id id = record_id::random();
  must(db->apply_remote(
      {remote_change(id, {remote_cell(std::string(sync::deleted_key), true, sync::hlc::make(5, 0))},
                     "prevention_workshop")},
      1));
  const record r = get_record(*db, id);
  CHECK(r.deleted);
  CHECK(r.type == "prevention_workshop");
  CHECK(must(db->list()).empty());
  CHECK(must(db->status()).records == 0);
}

TEST_CASE("apply_remote: a local deletion wins over remote cells of any stamp",
          "[client][remote]") {
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  const record_id id = must(db->add(workshop()));
  must(db->remove(id));
  const auto stats = must(db->apply_remote(
      {remote_change(
          id,
          {remote_cell("participants", std::int64_t{99}, sync::hlc::make(time.now() + 100'000, 0))},
          "prevention_workshop")},
      1));
  CHECK(stats.discarded == 1);
  CHECK(get_record(*db, id).fields.empty());
  CHECK(keys_of(cells_of(must(db->outbox()), id)) == std::vector<std::string>{"_deleted"});
}

TEST_CASE("apply_remote: fields of a newer schema are kept and shown", "[client][remote]") {
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  const record_id id = record_id::random();
  auto change = remote_case(id, sync::hlc::make(time.now() - 1000, 0));
  change.cells.push_back(remote_cell("new_field", std::int64_t{7}, change.cells[0].at.time));
  change.cells.push_back(remote_cell("services.newcode", true, change.cells[0].at.time));
  must(db->apply_remote({change}, 1));

  const record r = get_record(*db, id);
  CHECK(r.fields.at("new_field") == value{std::int64_t{7}});
  CHECK(r.fields.at("services") == value{code_set{"food", "newcode"}});
  const std::string json = to_json(r);
  CHECK_THAT(json, Catch::Contains("\"new_field\":7"));
  CHECK_THAT(json, Catch::Contains("\"services\":[\"food\",\"newcode\"]"));
  CHECK_THAT(to_json(must(db->list())), Catch::Contains("newcode"));
}

TEST_CASE("apply_remote: a local edit keeps a newer schema's field untouched", "[client][remote]") {
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  const record_id id = record_id::random();
  auto change = remote_case(id, sync::hlc::make(time.now() - 1000, 0));
  change.cells.push_back(remote_cell("new_field", std::string("x"), change.cells[0].at.time));
  must(db->apply_remote({change}, 1));

  must(db->edit(id,
                {set_field("referred_by", "embassy"), add_elements("services", "interpreting")}));
  const record r = get_record(*db, id);
  CHECK(text_of(r, "new_field") == "x");
  CHECK(text_of(r, "referred_by") == "embassy");
  CHECK(keys_of(all_cells(must(db->outbox()))) ==
        std::vector<std::string>{"referred_by", "services.interpreting"});
}

TEST_CASE("apply_remote: a record holding a newer schema's set element can still be edited",
          "[client][remote]") {
  // A device on schema v1 receives services.newcode from a v2 device; the
  // worker then records the discharge date. Unknown data is "kept, unchecked",
  // so the edit of another field should go through.
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  const record_id id = record_id::random();
  auto change = remote_case(id, sync::hlc::make(time.now() - 1000, 0));
  change.cells.push_back(remote_cell("services.newcode", true, change.cells[0].at.time));
  must(db->apply_remote({change}, 1));

  const auto r = db->edit(id, {set_field("discharged", "2026-02-20")});
  INFO((r.ok() ? std::string("ok") : r.err().describe()));
  CHECK(r.ok());
  CHECK(text_of(get_record(*db, id), "services") == "food,newcode");
}

TEST_CASE("apply_remote: the pull cursor moves to the batch's position", "[client][remote]") {
  scratch_store db;
  CHECK(must(db->status()).pulled_seq == 0);
  must(db->apply_remote({}, 10));
  CHECK(must(db->status()).pulled_seq == 10);
  must(db->apply_remote({remote_case(record_id::random(), sync::hlc::make(1000, 0))}, 25));
  CHECK(must(db->status()).pulled_seq == 25);
  // Pulling does not touch the push side.
  CHECK(must(db->status()).acked_seq == 0);
  CHECK(must(db->status()).local_seq == 0);
}

TEST_CASE("apply_remote: applying the same batch twice changes nothing the second time",
          "[client][remote]") {
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  const record_id local = must(db->add(pats_group()));
  const record_id remote = record_id::random();
  const auto t = sync::hlc::make(time.now() + 500, 0);
  const std::vector<record_change> batch = {
      remote_case(remote, t),
      remote_change(local, {remote_cell("site", std::string("other"), t),
                            remote_cell("topics.gbv", true, t)}),
      remote_change(remote,
                    {remote_cell("discharged", *parse_date("2026-02-14"), sync::hlc{t.packed + 1})},
                    "assistance_case"),
  };
  const auto first = must(db->apply_remote(batch, 5));
  CHECK(first.applied == 9);
  const std::string after_first = state_of(*db);

  const auto second = must(db->apply_remote(batch, 5));
  CHECK(second.applied == 0);
  CHECK(second.superseded == 9);
  CHECK(state_of(*db) == after_first);
  CHECK(derived_of(get_record(*db, remote), "care_days") == 4);
}

TEST_CASE("apply_remote: local writes after a remote batch are stamped after it",
          "[client][remote]") {
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  const record_id mine = must(db->add(on_call()));
  must(db->acknowledge(must(db->status()).local_seq));

  // Another device's clock is two minutes ahead of this one (within the skew bound).
  const auto ahead = sync::hlc::make(time.now() + 120'000, 41);
  const record_id theirs = record_id::random();
  must(db->apply_remote(
      {remote_case(theirs, ahead),
       remote_change(mine, {remote_cell("caller", std::string("ngo"), ahead)}, "on_call_event")},
      1));
  CHECK(text_of(get_record(*db, mine), "caller") == "ngo");

  time.advance(10);  // the local wall clock is still far behind
  must(db->edit(mine, {set_field("caller", "victim")}));
  must(db->edit(theirs, {add_elements("services", "escort")}));
  const record_id later = must(db->add(workshop()));
  const auto box = must(db->outbox());
  REQUIRE_FALSE(box.changes.empty());
  for (const auto& c : all_cells(box)) {
    INFO(describe(c));
    CHECK(c.at.time > ahead);
    CHECK(c.at.node == db->node());
  }
  // So this device's later edit wins here and everywhere.
  CHECK(text_of(get_record(*db, mine), "caller") == "victim");
  CHECK(text_of(get_record(*db, theirs), "services") == "escort,food");
  CHECK_FALSE(cells_of(box, later).empty());

  // Also after reopening.
  const auto last = all_cells(box).back().at.time;
  db.reopen(with_clock(time));
  must(db->edit(mine, {set_field("caller", "police")}));
  CHECK(cells_of(must(db->outbox()), mine).back().at.time > last);
}

TEST_CASE("apply_remote: a cell stamped over twice the skew ahead of the device is refused",
          "[client][remote][clock]") {
  // Found by fuzz_pull_apply: a pulled cell stamped with the greatest HLC
  // moved the device's clock to its end, and the next edit was stamped 0,
  // lost the merge to the pulled cell and was silently dropped. Any stamp far
  // ahead moved the clock so far that the server refused the device's pushes.
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  const record_id id = must(db->add(on_call()));
  must(db->acknowledge(must(db->status()).local_seq));
  const std::string before = state_of(*db);
  constexpr std::uint64_t bound = 2 * sync::hlc_clock::default_max_skew_ms;

  const auto ahead = GENERATE(as<sync::hlc>{}, sync::hlc{~std::uint64_t{0}},
                              sync::hlc::make(1'772'323'200'000 + 3 * 86'400'000, 0),
                              sync::hlc::make(1'772'323'200'000 + bound + 1, 0));
  INFO("stamp " << ahead.packed);
  const auto refused = db->apply_remote(
      {remote_case(record_id::random(), sync::hlc::make(time.now(), 0)),
       remote_change(id, {remote_cell("caller", std::string("ngo"), ahead)}, "on_call_event")},
      4);
  const error e = must_fail(refused, errc::clock_skew);
  CHECK_THAT(e.message,
             Catch::Matchers::Contains("ahead of this device's clock (record " + id.hex() + ")"));
  CHECK(state_of(*db) == before);

  // The device's own edit still wins, stamped after what it holds.
  must(db->edit(id, {set_field("caller", "victim")}));
  CHECK(text_of(get_record(*db, id), "caller") == "victim");
  CHECK(local_stamp(*db, id, "caller").time > sync::hlc::make(time.now(), 0));

  // Up to the bound, a pulled stamp is taken in, and writes follow it.
  must(db->apply_remote(
      {remote_change(
          id, {remote_cell("caller", std::string("ngo"), sync::hlc::make(time.now() + bound, 0))},
          "on_call_event")},
      5));
  CHECK(text_of(get_record(*db, id), "caller") == "ngo");
  must(db->edit(id, {set_field("caller", "police")}));
  CHECK(text_of(get_record(*db, id), "caller") == "police");
}

TEST_CASE("apply_remote: a device whose clock is behind the server's takes what the server took",
          "[client][remote][clock]") {
  // A tablet an hour slow pulls a cell a device with a correct clock stamped
  // just now: refused against its own clock, taken once the server's welcome
  // said what time it is there.
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  constexpr std::uint64_t hour = 3'600'000;
  const auto stamped_now_at_server = sync::hlc::make(time.now() + hour, 0);
  const std::vector<sync::record_change> batch{
      remote_case(record_id::random(), stamped_now_at_server)};
  must_fail(db->apply_remote(batch, 1), errc::clock_skew);

  db->note_server_clock(sync::hlc::make(time.now() + hour, 0));
  CHECK(must(db->apply_remote(batch, 1)).applied > 0);
  // The server's clock moves the bound, not further: twice the skew past it is refused.
  const auto beyond =
      sync::hlc::make(time.now() + hour + 2 * sync::hlc_clock::default_max_skew_ms + 1, 0);
  must_fail(db->apply_remote({remote_case(record_id::random(), beyond)}, 2), errc::clock_skew);
  // A server clock behind this device's leaves the device's own as the reference.
  db->note_server_clock(sync::hlc::make(time.now() - hour, 0));
  must_fail(db->apply_remote(batch, 2), errc::clock_skew);
}

TEST_CASE("apply_remote: merge counts of a batch", "[client][remote]") {
  scratch_store db;
  const record_id a = record_id::random(), b = record_id::random();
  const auto t = sync::hlc::make(1'000'000, 0);
  const auto stats = must(db->apply_remote(
      {remote_case(a, t),
       remote_change(b, {remote_cell(std::string(sync::deleted_key), true, t)}, "on_call_event"),
       remote_change(b, {remote_cell("caller", std::string("ngo"), sync::hlc{t.packed + 1})},
                     "on_call_event")},
      1));
  CHECK(stats.applied == 7);
  CHECK(stats.discarded == 1);
  CHECK(stats.superseded == 0);
}

TEST_CASE("apply_remote: the batch's stats say that records were created and deleted",
          "[client][remote]") {
  // merge_stats carries record_created / record_deleted; apply_remote adds
  // up the per-outcome counts of its changes but drops these two flags.
  scratch_store db;
  const record_id a = record_id::random(), b = record_id::random();
  const auto t = sync::hlc::make(1'000'000, 0);
  const auto stats = must(db->apply_remote(
      {remote_case(a, t),
       remote_change(b, {remote_cell(std::string(sync::deleted_key), true, t)}, "on_call_event")},
      1));
  CHECK(stats.record_created);
  CHECK(stats.record_deleted);
}

TEST_CASE("apply_remote: a batch that fails halfway leaves the store as it was",
          "[client][remote][transaction]") {
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  const record_id local = must(db->add(crisis_case()));  // 13 cells
  must(db->acknowledge(13));
  must(db->apply_remote({}, 8));
  const std::string before = state_of(*db);
  const auto seq = must(db->status()).local_seq;

  const record_id fresh = record_id::random();
  const auto t = sync::hlc::make(time.now() + 1000, 0);
  // The third change holds a code_set in a cell, which no cell may hold.
  const std::vector<record_change> batch = {
      remote_case(fresh, t),
      remote_change(local,
                    {remote_cell("sex", std::string("other"), t),
                     remote_cell(std::string(sync::deleted_key), true, t)},
                    "assistance_case"),
      remote_change(fresh, {remote_cell("services", code_set{"food", "escort"}, t)},
                    "assistance_case"),
  };
  const auto r = db->apply_remote(batch, 9);
  REQUIRE_FALSE(r.ok());
  INFO(r.err().describe());
  CHECK(r.err().code != errc::ok);

  CHECK(state_of(*db) == before);
  CHECK_FALSE(must(db->get(fresh)).has_value());
  const record kept = get_record(*db, local);
  CHECK_FALSE(kept.deleted);
  CHECK(text_of(kept, "sex") == "female");
  CHECK(must(db->status()).pulled_seq == 8);

  // Later writes work, with sequence numbers that continue without a gap.
  must(db->edit(local, {set_field("referred_by", "ngo")}));
  const record_id added = must(db->add(on_call()));
  const auto s = must(db->status());
  CHECK(s.local_seq == seq + 1 + 4);
  const auto box = must(db->outbox());
  CHECK(box.last_seq == s.local_seq);
  // The case was acknowledged whole: the edit's one cell, and the call's 4.
  CHECK(box.cells == 1 + 4);
  CHECK(cells_of(box, added).size() == 4);

  // The good part of the batch applies on its own.
  must(db->apply_remote({batch[0], batch[1]}, 9));
  CHECK(get_record(*db, local).deleted);
  CHECK(text_of(get_record(*db, fresh), "programme") == "crisis-accommodation");
  CHECK(must(db->status()).pulled_seq == 9);

  // And it all survives reopening.
  db.reopen(with_clock(time));
  CHECK(must(db->status()).local_seq == s.local_seq);
  CHECK(get_record(*db, local).deleted);
}

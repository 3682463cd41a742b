// The outbox of local changes and the acknowledgement cursor.

#include <catch2/catch.hpp>
#include <cstdint>
#include <haven/client/store.hpp>
#include <string>
#include <vector>

#include "scratch_store.hpp"

using namespace haven;
using namespace haven::test;

TEST_CASE("outbox: a new record's cells, stamped by this node, pending", "[client][outbox]") {
  scratch_store db;
  const record_id id = must(db->add(pats_group()));
  const auto box = must(db->outbox());
  REQUIRE(box.changes.size() == 1);
  const auto& change = box.changes[0];
  CHECK(change.id == id);
  CHECK(change.type == "pats_session");
  CHECK(change.team == "team-a");
  // participants came from the input; no person, no null cells for absent fields.
  CHECK(keys_of(change.cells) == std::vector<std::string>{"date", "format", "participants", "site",
                                                          "topics.sexual-violence", "topics.thb"});
  for (const auto& c : change.cells) {
    CHECK(c.at.node == db->node());
    CHECK(c.at == change.cells.front().at);  // one write, one stamp
  }
  CHECK(box.cells == 6);
  CHECK(box.last_seq == 6);
  CHECK(counts_of(*db) ==
        "records=1 pending_records=1 pending_cells=6 local_seq=6 acked=0 pulled=0");
}

TEST_CASE(
    "outbox: records come in the order of their latest local write, each whole, within max_cells",
    "[client][outbox]") {
  scratch_store db;
  const record_id a = must(db->add(on_call()));              // seq 1..4
  const record_id b = must(db->add(workshop()));             // seq 5..9
  must(db->edit(a, {set_field("outcome", "advice-only")}));  // seq 10
  const record_id c = must(db->add(pats_individual()));      // seq 11..

  const auto all = must(db->outbox());
  REQUIRE(all.changes.size() == 3);
  CHECK(all.changes[0].id == b);
  CHECK(all.changes[1].id == a);
  CHECK(all.changes[1].cells.size() == 4);  // its first write's 3 cells and the edit's
  CHECK(all.changes[2].id == c);
  // The outcome edit replaced the cell written at seq 3, so 1 cell fewer than local_seq.
  const auto s = must(db->status());
  CHECK(all.cells == s.local_seq - 1);
  CHECK(all.last_seq == s.local_seq);
  CHECK(all.cells == s.pending_cells);
  CHECK(s.pending_records == 3);

  SECTION("max_cells cuts the batch after the record it reaches, and last_seq says where") {
    // A record's cells are never split: all of b's 5, then all of a's 4.
    const auto first = must(db->outbox(5));
    CHECK(first.cells == 5);
    REQUIRE(first.changes.size() == 1);
    CHECK(first.changes[0].id == b);
    CHECK(first.last_seq == 9);
    const auto two = must(db->outbox(6));
    CHECK(two.cells == 9);
    REQUIRE(two.changes.size() == 2);
    CHECK(two.changes[1].id == a);
    CHECK(two.last_seq == 10);

    const auto one = must(db->outbox(1));
    CHECK(one.cells == 5);
    CHECK(one.last_seq == 9);
    CHECK(must(db->outbox(0)).cells == 0);
    CHECK(must(db->outbox(0)).last_seq == 0);
  }
  SECTION("max_records cuts the batch at a record boundary") {
    const auto two = must(db->outbox(1000, 2));
    REQUIRE(two.changes.size() == 2);
    CHECK(two.changes[0].id == b);
    CHECK(two.changes[1].id == a);
    CHECK(two.cells == 9);
    CHECK(two.last_seq == 10);  // every record written up to seq 10 is in the batch
    const auto one = must(db->outbox(1000, 1));
    REQUIRE(one.changes.size() == 1);
    CHECK(one.cells == 5);
    CHECK(one.last_seq == 9);
    CHECK(must(db->outbox(1000, 0)).cells == 0);
  }
  SECTION("paging by acknowledgement walks the whole outbox once") {
    std::vector<cell> walked;
    std::uint64_t rounds = 0;
    for (;;) {
      const auto page = must(db->outbox(4));
      if (page.cells == 0) break;
      // It stops at the first record boundary at or after 4 cells.
      CHECK(page.cells - page.changes.back().cells.size() < 4);
      const auto cells = all_cells(page);
      walked.insert(walked.end(), cells.begin(), cells.end());
      must(db->acknowledge(page.last_seq));
      CHECK(must(db->status()).acked_seq == page.last_seq);
      ++rounds;
    }
    CHECK(rounds >= 2);
    // a comes after b was acknowledged at seq 9 with its cells of seq 1, 2
    // and 4: the cells' cursor stays where the round began.
    std::vector<std::string> expected, got;
    for (const auto& x : all_cells(all)) expected.push_back(describe(x));
    for (const auto& x : walked) got.push_back(describe(x));
    CHECK(got == expected);
    CHECK(must(db->status()).pending_cells == 0);
  }
}

TEST_CASE("outbox: acknowledge moves the cursor and the pending flags", "[client][outbox]") {
  scratch_store db;
  const record_id a = must(db->add(crisis_case()));
  const auto after_a = must(db->status()).local_seq;
  const record_id b = must(db->add(on_call()));

  must(db->acknowledge(after_a));
  auto s = must(db->status());
  CHECK(s.acked_seq == after_a);
  CHECK(s.pending_records == 1);
  CHECK(s.pending_cells == s.local_seq - after_a);
  CHECK_FALSE(get_record(*db, a).pending);
  CHECK(get_record(*db, b).pending);
  for (const auto& r : must(db->list())) CHECK(r.pending == (r.id == b));

  // Only the later cells are left to push.
  auto box = must(db->outbox());
  REQUIRE(box.changes.size() == 1);
  CHECK(box.changes[0].id == b);

  // An edit makes a record pending again; only its new cell is sent.
  must(db->acknowledge(s.local_seq));
  must(db->edit(a, {add_elements("services", "escort")}));
  CHECK(get_record(*db, a).pending);
  CHECK_FALSE(get_record(*db, b).pending);
  box = must(db->outbox());
  REQUIRE(box.cells == 1);
  CHECK(box.changes[0].id == a);
  CHECK(box.changes[0].cells[0].key == "services.escort");
  CHECK(box.last_seq == s.local_seq + 1);

  // An acknowledgement that is not ahead changes nothing.
  must(db->acknowledge(after_a));
  CHECK(must(db->status()).acked_seq == s.local_seq);
  must(db->acknowledge(0));
  CHECK(must(db->status()).acked_seq == s.local_seq);
}

TEST_CASE("outbox: acknowledging beyond local_seq is an error and changes nothing",
          "[client][outbox]") {
  scratch_store db;
  must(db->add(on_call()));
  const auto s = must(db->status());
  const std::string before = state_of(*db);
  const auto e = must_fail(db->acknowledge(s.local_seq + 1), errc::protocol);
  CHECK_THAT(e.message, Catch::Contains(std::to_string(s.local_seq + 1)));
  CHECK(state_of(*db) == before);

  scratch_store empty;
  must_fail(empty->acknowledge(1), errc::protocol);
  must(empty->acknowledge(0));
}

TEST_CASE("outbox: a field edited three times offline is sent once, at its last value",
          "[client][outbox]") {
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  const record_id id = must(db->add(workshop()));
  const auto added = must(db->status()).local_seq;
  must(db->acknowledge(added));

  for (const char* n : {"28", "31", "30"}) {
    time.advance(60'000);
    must(db->edit(id, {set_field("participants", n)}));
  }
  const auto s = must(db->status());
  CHECK(s.local_seq == added + 3);
  CHECK(s.pending_cells == 1);

  const auto box = must(db->outbox());
  REQUIRE(box.cells == 1);
  const cell& c = box.changes[0].cells[0];
  CHECK(c.key == "participants");
  CHECK(c.val == value{std::int64_t{30}});
  CHECK(c.at.time.millis() == time.now());
  CHECK(box.last_seq == added + 3);
  CHECK(text_of(get_record(*db, id), "participants") == "30");

  // Also when the earlier values were already in an unacknowledged push.
  const auto earlier = must(db->outbox());
  must(db->edit(id, {set_field("teachers", "3")}));
  must(db->edit(id, {set_field("teachers", "4")}));
  const auto later = must(db->outbox());
  CHECK(later.cells == earlier.cells + 1);
  CHECK(text_of(get_record(*db, id), "teachers") == "4");
}

TEST_CASE("outbox: stamps increase with every local write, even when the clock stands still",
          "[client][outbox]") {
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  const record_id id = must(db->add(on_call()));
  sync::hlc last = all_cells(must(db->outbox())).front().at.time;
  for (int i = 0; i < 5; ++i) {
    must(db->acknowledge(must(db->status()).local_seq));
    must(db->edit(id, {set_field("response_minutes", std::to_string(10 + i))}));
    const auto now = all_cells(must(db->outbox())).at(0).at.time;
    CHECK(now > last);
    CHECK(now.millis() == time.now());
    last = now;
  }
}

TEST_CASE("outbox: cursors persist across reopening", "[client][outbox]") {
  scratch_store db;
  must(db->add(on_call()));
  must(db->add(workshop()));
  must(db->acknowledge(4));
  must(db->apply_remote({}, 12));
  const auto before = must(db->outbox());
  db.reopen();
  const auto s = must(db->status());
  CHECK(s.acked_seq == 4);
  CHECK(s.pulled_seq == 12);
  const auto after = must(db->outbox());
  CHECK(after.cells == before.cells);
  CHECK(after.last_seq == before.last_seq);
}

TEST_CASE("outbox: a rewind within a round sends the records past it with all their local cells",
          "[client][outbox]") {
  scratch_store db;
  const record_id a = must(db->add(on_call()));              // seq 1..4
  const record_id b = must(db->add(workshop()));             // seq 5..9
  must(db->edit(a, {set_field("outcome", "advice-only")}));  // seq 10
  const auto first = must(db->outbox(5));
  REQUIRE(first.changes.size() == 1);
  CHECK(first.changes[0].id == b);
  must(db->acknowledge(first.last_seq));
  must(db->acknowledge(must(db->outbox()).last_seq));
  CHECK(must(db->status()).pending_cells == 0);
  // The server was restored to what it held at 9: b, and none of a.
  must(db->resend_after(first.last_seq));
  const auto again = must(db->outbox());
  CHECK(cells_of(again, a).size() == 4);  // seq 1, 2, 4 and 10
  CHECK(cells_of(again, b).empty());
  CHECK(must(db->status()).pending_cells == 4);
}

TEST_CASE("outbox: records whose unsent cells pulled ones replaced are read past",
          "[client][outbox]") {
  fake_time time;
  scratch_store db("team-a", with_clock(time));
  const record_id a = must(db->add(on_call()));  // seq 1..4
  must(db->acknowledge(4));
  must(db->edit(a, {set_field("outcome", "advice-only")}));  // seq 5
  must(db->apply_remote({remote_change(a,
                                       {remote_cell("outcome", std::string("admitted"),
                                                    sync::hlc::make(time.now() + 1000, 0))},
                                       "on_call_event")},
                        1));
  // a's local cells were all sent; it has nothing left to send.
  CHECK(must(db->status()).pending_cells == 0);
  CHECK_FALSE(get_record(*db, a).pending);
  const record_id b = must(db->add(workshop()));  // seq 6..10
  // a comes first and its cells read reach max_cells, but none is to send.
  const auto box = must(db->outbox(1));
  REQUIRE(box.changes.size() == 1);
  CHECK(box.changes[0].id == b);
  CHECK(box.last_seq == 10);
  must(db->acknowledge(box.last_seq));
  CHECK(must(db->outbox()).changes.empty());
  CHECK(must(db->status()).pending_cells == 0);
}

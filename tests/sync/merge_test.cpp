// The per-field merge: the order of writes, and memory_replica::apply.

#include <catch2/catch.hpp>
#include <haven/sync/merge.hpp>
#include <string>
#include <vector>

#include "test_cells.hpp"

using namespace haven;
using namespace haven::sync;
using namespace haven::test;

namespace {

cell site(const char* code, stamp s) {
  return make_cell("site", std::string(code), s);
}

const memory_replica::record_state& state_of(const memory_replica& r, record_id id) {
  return r.records().at(id);
}

}  // namespace

TEST_CASE("supersedes: a greater hlc wins whatever the node", "[sync][merge]") {
  const cell older = site("vic", at(1000, 5, 99));
  const cell newer = site("logatec", at(1000, 6, 1));
  const cell much_newer = site("postojna", at(1001, 0, 1));
  CHECK(supersedes(newer, older));
  CHECK_FALSE(supersedes(older, newer));
  CHECK(supersedes(much_newer, newer));
  CHECK(supersedes(much_newer, older));
  CHECK_FALSE(supersedes(older, much_newer));
}

TEST_CASE("supersedes: for an equal hlc the greater node wins", "[sync][merge]") {
  const cell a = site("vic", at(1000, 5, 1));
  const cell b = site("logatec", at(1000, 5, 2));
  CHECK(supersedes(b, a));
  CHECK_FALSE(supersedes(a, b));
  const cell top = site("vic", at(1000, 5, ~node_id{0}));
  CHECK(supersedes(top, b));
}

TEST_CASE("supersedes: for an equal stamp the greater value wins", "[sync][merge]") {
  const stamp s = at(1000, 5, 7);
  CHECK(supersedes(site("vic", s), site("logatec", s)));
  CHECK_FALSE(supersedes(site("logatec", s), site("vic", s)));
  CHECK(supersedes(make_cell("n", std::int64_t{3}, s), make_cell("n", std::int64_t{2}, s)));
  CHECK(supersedes(make_cell("n", std::int64_t{0}, s), make_cell("n", value{}, s)));
  CHECK(supersedes(make_cell("b", true, s), make_cell("b", false, s)));
  // A cell never supersedes itself: applying it again changes nothing.
  CHECK_FALSE(supersedes(site("vic", s), site("vic", s)));
}

TEST_CASE("is_deletion: only _deleted = true", "[sync][merge]") {
  const stamp s = at(1000, 0, 1);
  CHECK(is_deletion(deletion(s)));
  CHECK_FALSE(is_deletion(make_cell(std::string(deleted_key), false, s)));
  CHECK_FALSE(is_deletion(make_cell(std::string(deleted_key), value{}, s)));
  CHECK_FALSE(is_deletion(make_cell("deleted", true, s)));
  CHECK_FALSE(is_deletion(make_cell("services.food", true, s)));
}

TEST_CASE("decide: the rule for one incoming cell", "[sync][merge]") {
  const cell current = site("vic", at(1000, 0, 1));
  CHECK(decide(site("logatec", at(1001, 0, 1)), &current, false).outcome == cell_outcome::applied);
  CHECK(decide(site("logatec", at(999, 0, 1)), &current, false).outcome ==
        cell_outcome::superseded);
  CHECK(decide(current, &current, false).outcome == cell_outcome::superseded);
  CHECK(decide(current, nullptr, false).outcome == cell_outcome::applied);
  CHECK_FALSE(decide(current, nullptr, false).erase_record);

  const merge_decision del = decide(deletion(at(1, 0, 1)), nullptr, false);
  CHECK(del.outcome == cell_outcome::applied);
  CHECK(del.erase_record);

  const cell held = deletion(at(1000, 0, 1));
  CHECK(decide(site("vic", at(5000, 0, 9)), nullptr, true).outcome == cell_outcome::discarded);
  CHECK(decide(deletion(at(2000, 0, 1)), &held, true).outcome == cell_outcome::applied);
  CHECK_FALSE(decide(deletion(at(2000, 0, 1)), &held, true).erase_record);
  CHECK(decide(deletion(at(500, 0, 1)), &held, true).outcome == cell_outcome::superseded);
  CHECK(
      decide(make_cell(std::string(deleted_key), false, at(2000, 0, 1)), nullptr, false).outcome ==
      cell_outcome::discarded);
}

TEST_CASE("memory_replica: last writer wins per key, in any order", "[sync][merge]") {
  const record_id id = id_of(1);
  const auto first = change_of(id, {site("vic", at(1000, 0, 1)),
                                    make_cell("participants", std::int64_t{3}, at(1000, 0, 1))});
  const auto second = change_of(id, {site("logatec", at(2000, 0, 2))});
  const auto third = change_of(id, {make_cell("participants", std::int64_t{4}, at(1500, 0, 3))});

  memory_replica forward, backward;
  const merge_stats created = forward.apply(first);
  CHECK(created.record_created);
  CHECK(created.applied == 2);
  forward.apply(second);
  forward.apply(third);

  backward.apply(third);
  const merge_stats late = backward.apply(first);
  CHECK_FALSE(late.record_created);
  CHECK(late.applied == 1);
  CHECK(late.superseded == 1);
  backward.apply(second);

  CHECK(forward == backward);
  const auto& rec = state_of(forward, id);
  CHECK(rec.type == "pats_session");
  CHECK(rec.team == "team-a");
  CHECK_FALSE(rec.deleted);
  CHECK(rec.cells.size() == 2);
  CHECK(rec.cells.at("site") == site("logatec", at(2000, 0, 2)));
  CHECK(rec.cells.at("participants").val == value{std::int64_t{4}});
}

TEST_CASE("memory_replica: a record's type and team come from its first change", "[sync][merge]") {
  memory_replica r;
  r.apply(change_of(id_of(1), {site("vic", at(1, 0, 1))}, "on_call_event", "team-b"));
  r.apply(change_of(id_of(1), {site("vic", at(2, 0, 1))}, "pats_session", "team-c"));
  CHECK(state_of(r, id_of(1)).type == "on_call_event");
  CHECK(state_of(r, id_of(1)).team == "team-b");
}

TEST_CASE("memory_replica: applying a change again is a no-op", "[sync][merge]") {
  const auto edit = change_of(
      id_of(2), {site("vic", at(1000, 0, 1)), make_cell("topics.thb", true, at(1000, 0, 1))});
  const auto del = change_of(id_of(2), {deletion(at(3000, 0, 1))});
  memory_replica once, twice;
  for (const auto& change : {edit, del}) {
    once.apply(change);
    twice.apply(change);
    const merge_stats again = twice.apply(change);
    CHECK(again.applied == 0);
    CHECK(again.superseded == change.cells.size());
    CHECK_FALSE(again.record_created);
    CHECK_FALSE(again.record_deleted);
    CHECK(once == twice);
  }
}

TEST_CASE("memory_replica: a deletion erases the other cells", "[sync][merge]") {
  const record_id id = id_of(3);
  memory_replica r;
  r.apply(
      change_of(id, {site("vic", at(1000, 0, 1)), make_cell("services.food", true, at(1000, 0, 1)),
                     make_cell("person", std::string("P-0001239"), at(5000, 0, 1))}));
  // The deletion is older than one of the cells, and still erases it.
  const merge_stats stats = r.apply(change_of(id, {deletion(at(2000, 0, 2))}));
  CHECK(stats.record_deleted);
  CHECK(stats.applied == 1);
  const auto& rec = state_of(r, id);
  CHECK(rec.deleted);
  REQUIRE(rec.cells.size() == 1);
  CHECK(rec.cells.at(std::string(deleted_key)) == deletion(at(2000, 0, 2)));
  CHECK(rec.type == "pats_session");
}

TEST_CASE("memory_replica: cells arriving after a deletion are discarded", "[sync][merge]") {
  const record_id id = id_of(4);
  memory_replica r;
  r.apply(change_of(id, {deletion(at(2000, 0, 2))}));
  const merge_stats late =
      r.apply(change_of(id, {site("vic", at(1000, 0, 1)),      // older
                             site("logatec", at(9000, 0, 1)),  // newer
                             make_cell("services.food", true, at(9000, 1, 3)),
                             make_cell(std::string(deleted_key), false, at(9999, 0, 3))}));
  CHECK(late.discarded == 4);
  CHECK(late.applied == 0);
  CHECK_FALSE(late.record_created);
  const auto& rec = state_of(r, id);
  CHECK(rec.deleted);
  REQUIRE(rec.cells.size() == 1);
  CHECK(rec.cells.count(std::string(deleted_key)) == 1);

  SECTION("and so are cells after a deletion in the same change") {
    memory_replica s;
    const merge_stats one =
        s.apply(change_of(id_of(5), {site("vic", at(1000, 0, 1)), deletion(at(1001, 0, 1)),
                                     site("logatec", at(1002, 0, 1))}));
    CHECK(one.record_created);
    CHECK(one.record_deleted);
    CHECK(one.applied == 2);
    CHECK(one.discarded == 1);
    REQUIRE(state_of(s, id_of(5)).cells.size() == 1);
  }
}

TEST_CASE("memory_replica: concurrent deletions converge on the greatest stamp", "[sync][merge]") {
  const record_id id = id_of(6);
  const auto a = change_of(id, {deletion(at(2000, 0, 1))});
  const auto b = change_of(id, {deletion(at(2000, 0, 2))});
  const auto edit = change_of(id, {site("vic", at(3000, 0, 3))});
  memory_replica x, y;
  x.apply(a);
  x.apply(edit);
  x.apply(b);
  y.apply(edit);
  y.apply(b);
  y.apply(a);
  CHECK(x == y);
  CHECK(state_of(x, id).cells.at(std::string(deleted_key)).at == at(2000, 0, 2));
}

TEST_CASE("memory_replica equality compares every record", "[sync][merge]") {
  memory_replica a, b;
  CHECK(a == b);
  a.apply(change_of(id_of(1), {site("vic", at(1, 0, 1))}));
  CHECK_FALSE(a == b);
  b.apply(change_of(id_of(1), {site("vic", at(1, 0, 2))}));
  CHECK_FALSE(a == b);  // same value, another writer
  a.apply(change_of(id_of(1), {site("vic", at(1, 0, 2))}));
  CHECK(a == b);
  b.apply(change_of(id_of(2), {site("vic", at(1, 0, 1))}, "pats_session", "team-b"));
  a.apply(change_of(id_of(2), {site("vic", at(1, 0, 1))}, "pats_session", "team-c"));
  CHECK_FALSE(a == b);
}

#pragma once
// The storage conformance suite: the contracts of the central store's
// interfaces (change_log, device_cursors, tally_store) and of the access
// registry, as test bodies that take a backend's opener. A backend passes
// them by instantiating the suite in one file of its own:
//
//   HAVEN_STORE_CONFORMANCE("sqlite", haven::test::open_sqlite_in)
//   HAVEN_REGISTRY_CONFORMANCE("sqlite", haven::test::open_sqlite_registry_in)
//
// (see sqlite_store_conformance_test.cpp). What they cover: push is one
// transaction, idempotent, and a refused batch changes nothing; pull's order,
// paging, limits, team isolation and skip of the pulling node's own cells;
// cursors and device lookup; counts; tally amounts equal to the independent
// oracle's for random records; standing transitions; durability across
// reopening.

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <haven/server/access_registry.hpp>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "central_fixture.hpp"

namespace haven::test::conformance {

using Catch::Matchers::Contains;

// (record id, key) of each cell of a batch: the records in order, a
// record's keys sorted (a store reads them in the order it keeps them).
inline std::vector<std::pair<std::string, std::string>> keys_of(const sync::change_batch& b) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& c : b.changes) {
    const auto from = out.size();
    for (const auto& cell : c.cells) out.emplace_back(c.id.hex(), cell.key);
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(from), out.end());
  }
  return out;
}

// Everything that a refused or repeated push must leave as it was.
struct observable {
  std::uint64_t head, records, deleted, cells;
  std::vector<std::uint64_t> acked;
  std::string tally;
  sync::change_batch log;
  bool operator==(const observable&) const = default;
};

inline observable observe(central_fixture& f) {
  const auto c = f.store().counts();
  std::vector<std::uint64_t> acked;
  for (const auto& d : f.store().devices()) acked.push_back(d.acked_seq);
  return {c.head,
          c.records,
          c.deleted_records,
          c.cells,
          acked,
          f.tallies().json("pats-group-by-site", 2026, {}).value(),
          f.store().pull("team-a", 0, 0, 100000)};
}

// ---- change_log, device_cursors, tally_store ----

// push merges a batch in one transaction and moves acked_seq to the greatest last_seq
inline void push_is_one_transaction(const store_opener& open) {
  central_fixture f(open);
  auto a = f.enroll("dev-a", "team-a", 1);
  const auto r1 = a.record(test_id(1), "pats_session", group_session("2026-03-01", "vic", "12"));
  const auto r2 =
      a.record(test_id(2), "pats_session", group_session("2026-03-02", "postojna", "30"));
  const auto first = a.batch({r1, r2});
  REQUIRE(first.last_seq == 8);

  const auto pushed = f.store().push(a.peer(), first, 2000);
  CHECK(pushed.acked_seq == 8);
  CHECK(pushed.head == 8);
  CHECK(pushed.stats.applied == 8);
  CHECK(pushed.stats.superseded == 0);
  auto c = f.store().counts();
  CHECK(c.records == 2);
  CHECK(c.cells == 8);
  CHECK(c.head == 8);
  CHECK(total(f.report("pats-group-by-site", 2026), "participants") == 42);

  SECTION("an older batch resent changes nothing and leaves the cursor where it was") {
    const auto again = f.store().push(a.peer(), sync::push_batch{4, {r1}}, 3000);
    CHECK(again.acked_seq == 8);
    CHECK(again.head == 8);
    CHECK(again.stats.applied == 0);
    CHECK(again.stats.superseded == 4);
    CHECK(f.store().counts().head == 8);
    CHECK(f.store().devices().at(0).acked_seq == 8);
  }
  SECTION("an edit is stamped with the next log position and moves the tally") {
    const auto edit = a.batch({a.record(test_id(1), "pats_session", {{"participants", "20"}})});
    const auto r = f.store().push(a.peer(), edit, 3000);
    CHECK(r.acked_seq == 9);
    CHECK(r.head == 9);
    CHECK(f.store().counts().cells == 8);
    CHECK(total(f.report("pats-group-by-site", 2026), "participants") == 50);
    CHECK(f.store().devices().at(0).last_seen_ms == 3000);
  }
  SECTION("an empty batch still moves the cursor") {
    const auto r = f.store().push(a.peer(), sync::push_batch{12, {}}, 3000);
    CHECK(r.acked_seq == 12);
    CHECK(r.head == 8);
  }
}

// a new record's cells may come in two batches, and an edit is merged whatever the rules say
inline void new_record_in_two_batches(const store_opener& open) {
  central_fixture f(open);
  auto a = f.enroll("dev-a", "team-a", 1), b = f.enroll("dev-b", "team-a", 2);
  // The device's outbox may end a batch inside a new record's cells (when a
  // later edit moved one of them past the batch's end): nothing is required yet.
  f.push(a, {a.record(test_id(1), "pats_session", {{"date", "2026-03-01"}, {"site", "vic"}})});
  f.push(a, {a.record(test_id(1), "pats_session", {{"format", "group"}, {"participants", "12"}})});
  CHECK(f.store().counts().records == 1);
  // Device b set a person while device a made it a group: each state was
  // valid, the merge is not, and refusing either edit would stop its device
  // from syncing for good; the record is stored as merged.
  f.push(b, {b.record(test_id(1), "pats_session", {{"person", "P-0001H"}})});
  const auto pulled = f.store().pull("team-a", 0, 0, 100);
  REQUIRE(pulled.changes.size() == 1);
  CHECK(pulled.changes[0].cells.size() == 5);
}

// a refused batch changes nothing, and the log goes on from where it was
inline void refused_batch_changes_nothing(const store_opener& open) {
  central_fixture f(open);
  auto a = f.enroll("dev-a", "team-a", 1);
  f.push(a, {a.record(test_id(1), "pats_session", group_session("2026-03-01", "vic", "12"))});
  const observable before = observe(f);
  REQUIRE(before.head == 4);

  // A good record first, so that a store applying part of the batch would show it.
  const auto good =
      a.record(test_id(2), "pats_session", group_session("2026-03-02", "logatec", "7"));
  sync::record_change bad =
      a.record(test_id(3), "pats_session", group_session("2026-03-03", "vic", "3"));
  std::string why;
  SECTION("an unknown record type") {
    bad.type = "interview";
    why = "(unknown type, 9 bytes): type: is not a record type of this schema";
  }
  SECTION("an invalid team") {
    bad.team = "Team A";
    why = "team: is not a team code";
  }
  SECTION("a deletion marker that is false") {
    bad.cells.push_back({std::string(sync::deleted_key), false, a.next()});
    why = "_deleted: must be true";
  }
  SECTION("a cell without a key") {
    bad.cells.push_back({"", std::int64_t{1}, a.next()});
    why = "(unknown, 0 bytes): is not a field of pats_session";
  }
  SECTION("a set value in one cell (refused inside the transaction)") {
    bad.cells.push_back({"topics", code_set{"thb"}, a.next()});
    why = "topics: is a set field, whose elements are cells of their own";
  }
  SECTION("free text where a code belongs") {
    bad.cells.push_back(
        {"nationality", std::string("Olena Kovalenko, born 1990-04-12, Kyiv"), a.next()});
    why = "nationality: must be an ISO 3166-1 alpha-2 country code";
  }
  SECTION("a field the type does not have") {
    bad.cells.push_back({"notes", std::string("trafficker +386 40 123 456"), a.next()});
    why = "(unknown, 5 bytes): is not a field of pats_session";
  }
  SECTION("a set element that is not one of its codes") {
    bad.cells.push_back({"topics.smuggling", true, a.next()});
    why = "topics.(unknown, 9 bytes): is not a code of topics";
  }
  SECTION("an integer below its minimum") {
    bad.cells.push_back({"participants", std::int64_t{-5}, a.next()});
    why = "participants: must be at least 1";
  }
  SECTION("an integer beyond what any field holds") {
    bad.cells.push_back({"participants", std::int64_t{INT64_MAX}, a.next()});
    why = "participants: must be at most 10000";
  }
  SECTION("a session in the future (today is 2026-06-15 here)") {
    bad.cells.push_back({"date", *parse_date("2026-06-17"), a.next()});
    why = "date: must not be in the future";
  }
  SECTION("a date before the schema's earliest") {
    bad.cells.push_back({"date", *parse_date("1900-01-01"), a.next()});
    why = "date: must not be before 1990-01-01";
  }
  SECTION("a pseudonym that is a name") {
    bad.cells.push_back({"person", std::string("Olena Kovalenko"), a.next()});
    why = "person: must be a person code";
  }
  // A record new to the server is held to its type's cross-field rules.
  SECTION("a new group session with a person") {
    bad.cells.push_back({"person", std::string("P-0001H"), a.next()});
    why = "person: must be empty when format is group";
  }
  SECTION("a new individual session of 3 participants") {
    bad = a.record(test_id(3), "pats_session",
                   {{"date", "2026-03-03"},
                    {"site", "vic"},
                    {"format", "individual"},
                    {"person", "P-0001H"},
                    {"participants", "3"}});
    why = "participants: must be 1 when format is individual";
  }
  SECTION("a new stay longer than its maximum") {
    bad = a.record(test_id(3), "assistance_case",
                   {{"programme", "crisis-accommodation"},
                    {"person", "P-0001H"},
                    {"sex", "female"},
                    {"nationality", "UA"},
                    {"admitted", "2015-01-01"},
                    {"discharged", "2026-01-01"}});
    why = "discharged: must be at most 3660 days after admitted";
  }
  try {
    f.push(a, {good, bad}, 3000);
    FAIL("the batch was accepted");
  } catch (const failure& e) {
    CHECK(e.err().code == errc::invalid_input);
    CHECK_THAT(e.err().message, Contains(why));
    // The rule, never the value: the refusal is logged and audited.
    CHECK_FALSE(Contains("(got ").match(e.err().message));
    for (const char* value :
         {"Kovalenko", "+386", "-5", "2026-06-17", "1900-01-01", "interview", "notes", "smuggling"})
      CHECK_FALSE(Contains(value).match(e.err().message));
  }
  CHECK(observe(f) == before);

  // The next good push takes the next log positions: none were used up.
  const auto r = f.push(a, {good}, 4000);
  CHECK(r.head == before.head + good.cells.size());
  CHECK(f.store().pull("team-a", 0, before.head, 100).changes.at(0).id == test_id(2));
}

// pull gives a team's cells in log order, without skip_node's, and still moves up_to
inline void pull_by_team_in_log_order(const store_opener& open) {
  central_fixture f(open);
  auto a = f.enroll("dev-a", "team-a", 0xa), b = f.enroll("dev-b", "team-a", 0xb),
       c = f.enroll("dev-c", "team-b", 0xc);
  f.push(a, {a.record(test_id(1), "on_call_event",
                      {{"date", "2026-02-01"}, {"caller", "police"}, {"outcome", "admitted"}}),
             a.record(test_id(2), "prevention_workshop",
                      {{"date", "2026-02-02"},
                       {"audience", "professionals"},
                       {"region", "gorenjska"},
                       {"participants", "9"}})});
  f.push(c, {c.record(test_id(3), "on_call_event",
                      {{"date", "2026-02-03"}, {"caller", "ngo"}, {"outcome", "advice-only"}})});
  b.ms() += 10;
  f.push(b, {b.record(test_id(4), "on_call_event",
                      {{"date", "2026-02-04"}, {"caller", "victim"}, {"outcome", "advice-only"}}),
             b.record(test_id(1), "on_call_event", {{"outcome", "referred-elsewhere"}})});
  const std::uint64_t head = f.store().counts().head;
  REQUIRE(head == 3 + 4 + 3 + 3 + 1);
  const std::string r1 = test_id(1).hex(), r2 = test_id(2).hex(), r4 = test_id(4).hex();

  const auto all = f.store().pull("team-a", 0, 0, 1000);
  CHECK_FALSE(all.more);
  CHECK(all.up_to == head);
  // r1 moved to the end of the log, with its cells, when b changed its outcome.
  CHECK(keys_of(all) == std::vector<std::pair<std::string, std::string>>{{r2, "audience"},
                                                                         {r2, "date"},
                                                                         {r2, "participants"},
                                                                         {r2, "region"},
                                                                         {r4, "caller"},
                                                                         {r4, "date"},
                                                                         {r4, "outcome"},
                                                                         {r1, "caller"},
                                                                         {r1, "date"},
                                                                         {r1, "outcome"}});
  CHECK(all.changes.at(0).type == "prevention_workshop");
  CHECK(all.changes.at(0).team == "team-a");
  CHECK(all.changes.at(2).type == "on_call_event");
  // Since a's push (r1's 3 cells, r2's 4), r1 comes whole: a device that
  // pulled up to there may not have had it.
  const auto since_a = f.store().pull("team-a", 0, 3 + 4, 1000);
  CHECK(keys_of(since_a) == std::vector<std::pair<std::string, std::string>>{{r4, "caller"},
                                                                             {r4, "date"},
                                                                             {r4, "outcome"},
                                                                             {r1, "caller"},
                                                                             {r1, "date"},
                                                                             {r1, "outcome"}});

  const auto not_a = f.store().pull("team-a", a.peer().node, 0, 1000);
  CHECK(keys_of(not_a) == std::vector<std::pair<std::string, std::string>>{
                              {r4, "caller"}, {r4, "date"}, {r4, "outcome"}, {r1, "outcome"}});
  CHECK(not_a.up_to == head);
  for (const auto& ch : not_a.changes)
    for (const auto& cell : ch.cells) CHECK(cell.at.node != a.peer().node);

  const auto team_b = f.store().pull("team-b", 0, 0, 1000);
  REQUIRE(team_b.changes.size() == 1);
  CHECK(team_b.changes[0].id == test_id(3));
  // A device whose team has only its own cells gets nothing, and is caught up.
  const auto only_own = f.store().pull("team-b", c.peer().node, 0, 1000);
  CHECK(only_own.changes.empty());
  CHECK_FALSE(only_own.more);
  CHECK(only_own.up_to == head);

  const auto since_head = f.store().pull("team-a", 0, head, 1000);
  CHECK(since_head.changes.empty());
  CHECK(since_head.up_to == head);
  CHECK(f.store().pull("team-c", 0, 0, 1000).changes.empty());
}

// pull withholds a node's own cells only while that node has been no other device's
inline void pull_withholds_own_cells(const store_opener& open) {
  central_fixture f(open);
  auto first = f.enroll("d00000000000000a1", "team-a", 0xa);
  f.push(first,
         {first.record(test_id(1), "on_call_event",
                       {{"date", "2026-02-01"}, {"caller", "police"}, {"outcome", "admitted"}})});
  // The device that wrote them still has them: they are not sent back.
  CHECK(f.store().pull("team-a", 0xa, 0, 1000).changes.empty());

  // The same store enrolled again as a new device but under its old node id
  // (as releases before wipes drew new node ids left it) has lost them.
  f.enroll("d00000000000000a2", "team-a", 0xa);
  const auto again = f.store().pull("team-a", 0xa, 0, 1000);
  REQUIRE(again.changes.size() == 1);
  CHECK(again.changes[0].id == test_id(1));
  CHECK(again.changes[0].cells.size() == 3);
  // Another node's pull is as it was.
  CHECK(f.store().pull("team-a", 0xb, 0, 1000).changes.size() == 1);
}

// pull pages at record boundaries with more, and paging returns every cell once
inline void pull_pages_at_record_boundaries(const store_opener& open) {
  central_fixture f(open);
  auto a = f.enroll("dev-a", "team-a", 0xa), b = f.enroll("dev-b", "team-a", 0xb),
       c = f.enroll("dev-c", "team-b", 0xc);
  // Records of 2 to 5 cells from two devices of team-a, with team-b's between them.
  const char* regions[] = {"gorenjska", "goriska", "koroska"};
  for (int n = 0; n < 40; ++n) {
    field_device& d = n % 5 == 4 ? c : n % 2 ? b : a;
    typed_fields fields{{"date", "2026-05-01"}, {"audience", "general-public"}};
    if (n % 3 > 0) fields.push_back({"region", regions[n % 3]});
    if (n % 4 > 1) fields.push_back({"participants", std::to_string(n + 1)});
    if (n % 6 == 5) fields.push_back({"teachers", "2"});
    std::vector<sync::record_change> changes{
        d.record(test_id(100 + n), "prevention_workshop", fields)};
    if (n % 7 == 6) {  // an edit of an earlier team-a record, interleaved in the log
      const int earlier = (n - 3) % 5 == 4 ? n - 4 : n - 3;
      changes.push_back(
          d.record(test_id(100 + earlier), "prevention_workshop", {{"teachers", "1"}}, "team-a"));
    }
    f.push(d, changes);
  }
  const std::uint64_t head = f.store().counts().head;

  for (const sync::node_id skip : {sync::node_id{0}, sync::node_id{0xa}}) {
    const auto whole = f.store().pull("team-a", skip, 0, 100000);
    REQUIRE_FALSE(whole.more);
    for (const std::uint32_t max : {1u, 2u, 3u, 5u, 8u, 1000u}) {
      CAPTURE(skip, max);
      std::vector<std::pair<std::string, std::string>> paged;
      std::vector<sync::cell> cells;
      std::uint64_t since = 0;
      int pages = 0;
      for (bool more = true; more && pages < 1000; ++pages) {
        const auto page = f.store().pull("team-a", skip, since, max);
        CHECK(page.up_to > since);
        if (skip == 0 && !page.changes.empty()) {
          // Cut only before a record, once max cells are read.
          const std::size_t before_last = cells_in(page.changes) - page.changes.back().cells.size();
          CHECK(before_last < max);
          CHECK((!page.more || cells_in(page.changes) >= max));
        }
        const auto k = keys_of(page);
        paged.insert(paged.end(), k.begin(), k.end());
        for (const auto& ch : page.changes)
          cells.insert(cells.end(), ch.cells.begin(), ch.cells.end());
        since = page.up_to;
        more = page.more;
      }
      CHECK(since == head);
      CHECK(paged == keys_of(whole));
      std::vector<sync::cell> whole_cells;
      for (const auto& ch : whole.changes)
        whole_cells.insert(whole_cells.end(), ch.cells.begin(), ch.cells.end());
      CHECK(cells == whole_cells);
      if (max == 1) CHECK(pages > 20);
    }
  }
}

// pull keeps to the frame's record limit
inline void pull_keeps_record_limit(const store_opener& open) {
  central_fixture f(open);
  auto a = f.enroll("dev-a", "team-a", 0xa);
  const std::size_t max_records = sync::frame_limits{}.max_records;
  std::vector<sync::record_change> changes;
  for (std::size_t i = 0; i < max_records + 100; ++i)
    changes.push_back(a.record(test_id(i + 1), "on_call_event", {{"caller", "police"}}));
  f.push(a, changes);

  const auto first = f.store().pull("team-a", 0, 0, 100000);
  CHECK(first.changes.size() == max_records);
  CHECK(first.more);
  const auto second = f.store().pull("team-a", 0, first.up_to, 100000);
  CHECK(second.changes.size() == 100);
  CHECK_FALSE(second.more);
  CHECK(second.up_to == f.store().counts().head);
}

// a deletion leaves only the deletion cell, which pulls deliver, and later cells are discarded
inline void deletion_erases(const store_opener& open) {
  central_fixture f(open);
  auto a = f.enroll("dev-a", "team-a", 0xa), b = f.enroll("dev-b", "team-a", 0xb);
  const auto r1 = a.record(test_id(1), "pats_session", group_session("2026-03-01", "vic", "12"));
  f.push(a, {r1, a.record(test_id(2), "pats_session", group_session("2026-03-02", "vic", "5"))});
  REQUIRE(total(f.report("pats-group-by-site", 2026), "participants") == 17);
  const std::uint64_t before = f.store().counts().head;

  const auto r = f.push(a, {a.deletion(test_id(1), "pats_session")}, 3000);
  CHECK(r.stats.record_deleted);
  CHECK(r.head == before + 1);
  const auto c = f.store().counts();
  CHECK(c.records == 2);
  CHECK(c.deleted_records == 1);
  CHECK(c.cells == 4 + 1);
  CHECK(total(f.report("pats-group-by-site", 2026), "participants") == 5);

  const auto from_start = f.store().pull("team-a", b.peer().node, 0, 1000);
  const auto deleted = std::find_if(from_start.changes.begin(), from_start.changes.end(),
                                    [](const auto& ch) { return ch.id == test_id(1); });
  REQUIRE(deleted != from_start.changes.end());
  REQUIRE(deleted->cells.size() == 1);
  CHECK(deleted->cells[0].key == sync::deleted_key);
  CHECK(deleted->cells[0].val == value{true});
  const auto since = f.store().pull("team-a", b.peer().node, before, 1000);
  REQUIRE(since.changes.size() == 1);
  CHECK(since.changes[0].id == test_id(1));
  CHECK(since.changes[0].cells.size() == 1);

  // A later edit from another device finds the record deleted.
  b.ms() += 1000;
  const auto late =
      f.push(b, {b.record(test_id(1), "pats_session", {{"participants", "99"}})}, 4000);
  CHECK(late.stats.discarded == 1);
  CHECK(late.stats.applied == 0);
  CHECK(late.head == before + 1);
  CHECK(late.acked_seq == 1);
  CHECK(f.store().counts().cells == 5);
  CHECK(total(f.report("pats-group-by-site", 2026), "participants") == 5);
}

// admit registers a device and updates it, and synced records the last sync
inline void admit_and_synced(const store_opener& open) {
  central_fixture f(open);
  const auto first = f.store().admit({"dev-a", "team-a", 1, ""}, 1000);
  CHECK(first.device_id == "dev-a");
  CHECK(first.team == "team-a");
  CHECK(first.node == 1);
  CHECK(first.acked_seq == 0);
  CHECK(first.first_seen_ms == 1000);
  CHECK(first.last_seen_ms == 1000);
  CHECK_FALSE(first.last_sync_ms.has_value());

  field_device a("dev-a", "team-a", 1);
  f.push(a, {a.record(test_id(1), "on_call_event", {{"caller", "police"}})}, 1500);
  const auto moved = f.store().admit({"dev-a", "team-b", 2, ""}, 2000);
  CHECK(moved.team == "team-b");
  CHECK(moved.node == 2);
  CHECK(moved.acked_seq == 1);  // kept
  CHECK(moved.first_seen_ms == 1000);
  CHECK(moved.last_seen_ms == 2000);

  f.store().admit({"dev-0", "team-z", 3, ""}, 2500);
  f.store().synced("dev-a", 3000);
  const auto all = f.store().devices();
  REQUIRE(all.size() == 2);
  CHECK(all[0].device_id == "dev-a");  // ordered by team, then id
  CHECK(all[0].last_sync_ms == std::optional<std::int64_t>(3000));
  CHECK(all[0].last_seen_ms == 3000);
  CHECK(all[1].device_id == "dev-0");
  CHECK_FALSE(all[1].last_sync_ms.has_value());
  CHECK(f.store().device_count() == 2);
}

// team_syncs lists the teams holding records of a type, with their devices' latest sync
inline void team_syncs_of_a_type(const store_opener& open) {
  central_fixture f(open);
  CHECK(f.store().team_syncs("on_call_event").empty());
  auto a1 = f.enroll("dev-a1", "team-a", 1), a2 = f.enroll("dev-a2", "team-a", 2);
  auto b = f.enroll("dev-b", "team-b", 3);
  f.enroll("dev-c", "team-c", 4);  // no records at all
  f.push(a1, {a1.record(test_id(1), "on_call_event", {{"caller", "police"}})}, 1000);
  f.push(b, {b.record(test_id(2), "pats_session", group_session("2026-03-01", "vic", "12"))}, 1000);
  f.store().synced("dev-a1", 2000);
  f.store().synced("dev-a2", 5000);
  CHECK(f.store().team_syncs("on_call_event") == std::vector<server::team_sync>{{"team-a", 5000}});
  CHECK(f.store().team_syncs("pats_session") ==
        std::vector<server::team_sync>{{"team-b", std::nullopt}});  // pushed, never caught up
  // A record deleted since still says that its team records the type.
  f.push(a2, {a2.record(test_id(3), "pats_session", group_session("2026-03-02", "vic", "3"))},
         6000);
  f.push(a2, {a2.deletion(test_id(3), "pats_session")}, 6100);
  f.store().synced("dev-b", 7000);
  CHECK(f.store().team_syncs("pats_session") ==
        std::vector<server::team_sync>{{"team-a", 5000}, {"team-b", 7000}});
  CHECK(f.store().team_syncs("no_such_type").empty());
}

// counts() numbers records, deletions, cells, devices, head and bytes
inline void counts_of_the_log(const store_opener& open) {
  central_fixture f(open);
  auto c = f.store().counts();
  CHECK(c.records == 0);
  CHECK(c.cells == 0);
  CHECK(c.head == 0);
  auto a = f.enroll("dev-a", "team-a", 1);
  f.push(a, {a.record(test_id(1), "pats_session", group_session("2026-03-01", "vic", "12")),
             a.record(test_id(2), "on_call_event", {{"caller", "police"}, {"outcome", "admitted"}}),
             a.deletion(test_id(3), "on_call_event")});
  c = f.store().counts();
  CHECK(c.records == 3);
  CHECK(c.deleted_records == 1);
  CHECK(c.cells == 4 + 2 + 1);
  CHECK(f.store().device_count() == 1);
  CHECK(c.head == 7);
}

// a reopened store keeps its head, devices, cells and tally
inline void durable_across_reopen(const store_opener& open) {
  central_fixture f(open);
  auto a = f.enroll("dev-a", "team-a", 1);
  f.push(a, {a.record(test_id(1), "pats_session", group_session("2026-03-01", "vic", "12")),
             a.record(test_id(2), "pats_session", group_session("2026-04-01", "logatec", "8"))});
  f.store().synced("dev-a", 2500);
  const auto counts = f.store().counts();
  const auto devices = f.store().devices();
  const auto log = f.store().pull("team-a", 0, 0, 1000);
  const std::string tally = f.tallies().json("pats-group-by-site", 2026, {}).value();

  f.close();
  f.reopen();
  const auto after = f.store().counts();
  CHECK(after.head == counts.head);
  CHECK(after.records == counts.records);
  CHECK(after.cells == counts.cells);
  const auto devices_after = f.store().devices();
  REQUIRE(devices_after.size() == 1);
  CHECK(devices_after[0].acked_seq == devices[0].acked_seq);
  CHECK(devices_after[0].last_sync_ms == devices[0].last_sync_ms);
  CHECK(f.store().pull("team-a", 0, 0, 1000) == log);
  CHECK(f.tallies().json("pats-group-by-site", 2026, {}).value() == tally);

  // The log goes on from the stored head.
  const auto r = f.push(a, {a.record(test_id(1), "pats_session", {{"participants", "13"}})}, 3000);
  CHECK(r.head == counts.head + 1);
  CHECK(total(f.report("pats-group-by-site", 2026), "participants") == 21);
}

// device(id) finds one device as devices() lists it, and nothing for an id never seen
inline void device_lookup(const store_opener& open) {
  central_fixture f(open);
  CHECK_FALSE(f.store().device("dev-a").has_value());
  CHECK(f.store().device_count() == 0);
  auto a = f.enroll("dev-a", "team-a", 1, 1000);
  f.enroll("dev-b", "team-b", 2, 1100);
  f.push(a, {a.record(test_id(1), "on_call_event", {{"caller", "police"}})}, 1500);
  f.store().synced("dev-a", 1600);
  const auto found = f.store().device("dev-a");
  REQUIRE(found.has_value());
  CHECK(found->acked_seq == 1);
  CHECK(found->last_sync_ms == std::optional<std::int64_t>(1600));
  CHECK(*found == f.store().devices().at(0));
  CHECK(f.store().device("dev-b")->team == "team-b");
  CHECK_FALSE(f.store().device("dev-c").has_value());
  CHECK_FALSE(f.store().device("").has_value());
  f.store().synced("dev-c", 1700);  // unknown: changes nothing
  CHECK(f.store().device_count() == 2);
}

// a batch pushed again, whole or in part, changes nothing but the cursor's last-seen time
inline void push_is_idempotent(const store_opener& open) {
  central_fixture f(open);
  auto a = f.enroll("dev-a", "team-a", 0xa);
  const auto batch = a.batch(
      {a.record(test_id(1), "pats_session", group_session("2026-03-01", "vic", "12")),
       a.record(test_id(2), "on_call_event", {{"caller", "police"}, {"outcome", "admitted"}}),
       a.deletion(test_id(3), "on_call_event")});
  const auto first = f.store().push(a.peer(), batch, 2000);
  const observable once = observe(f);
  for (int again = 0; again < 2; ++again) {
    const auto r = f.store().push(a.peer(), batch, 3000 + again);
    CHECK(r.stats.applied == 0);
    CHECK(r.head == first.head);
    CHECK(r.acked_seq == first.acked_seq);
    CHECK(observe(f) == once);
  }
  // Its records resent in another order, as a device that lost the ack resends them.
  const auto reordered =
      f.store().push(a.peer(), {batch.last_seq, {batch.changes[2], batch.changes[0]}}, 4000);
  CHECK(reordered.stats.applied == 0);
  CHECK(observe(f) == once);
  CHECK(f.store().device("dev-a")->last_seen_ms == 4000);
}

// a cursor beyond the head (a store restored from a backup) pulls everything again
inline void pull_since_beyond_head(const store_opener& open) {
  central_fixture f(open);
  auto a = f.enroll("dev-a", "team-a", 0xa);
  f.push(a,
         {a.record(test_id(1), "on_call_event", {{"caller", "police"}, {"outcome", "admitted"}})});
  const std::uint64_t head = f.store().counts().head;
  const auto all = f.store().pull("team-a", 0, 0, 1000);
  const auto beyond = f.store().pull("team-a", 0, head + 100, 1000);
  CHECK(beyond == all);
  CHECK(beyond.up_to == head);
}

// random records, edits and deletions pushed in batches: every tally's stored amounts, as reported,
// equal the oracle
inline void tally_amounts_equal_oracle(const store_opener& open) {
  const std::uint64_t seed = GENERATE(1, 2, 3);
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  auto below = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  auto pick = [&](const std::vector<std::string>& v) { return v[below(v.size())]; };
  auto day = [&](int from_days) {
    return to_string(date{from_civil(2025, 1, 1).days + from_days});
  };
  const std::vector<std::string> persons{"P-0001H", "P-0002F", "P-0003D",
                                         "P-0004B", "P-00059", "P-00067"};
  const std::vector<std::string> countries{"UA", "SY", "SI"}, sexes{"female", "male"};

  central_fixture f(open);
  auto d = f.enroll("dev-a", "team-a", 0xa);
  std::vector<oracle_record> records;
  auto fields_of = [&](const std::string& type) -> typed_fields {
    const std::string date = day(static_cast<int>(below(520)));
    if (type == "pats_session" && below(2))
      return {{"date", date},
              {"site", pick({"vic", "logatec", "postojna"})},
              {"format", "group"},
              {"participants", std::to_string(1 + below(40))}};
    if (type == "pats_session")
      return {{"date", date},
              {"site", pick({"vic", "logatec", "postojna"})},
              {"format", "individual"},
              {"participants", "1"},
              {"person", pick(persons)},
              {"nationality", pick(countries)},
              {"sex", pick(sexes)}};
    if (type == "on_call_event")
      return {{"date", date},
              {"caller", pick({"police", "ngo", "victim"})},
              {"outcome", pick({"admitted", "advice-only", "referred-elsewhere"})}};
    if (type == "prevention_workshop")
      return {{"date", date},
              {"audience", pick({"primary-school", "secondary-school", "professionals"})},
              {"region", pick({"gorenjska", "goriska", "podravska"})},
              {"participants", std::to_string(1 + below(60))}};
    const int admitted = static_cast<int>(below(500));
    typed_fields stay{
        {"programme", pick({"crisis-accommodation", "safe-accommodation", "reintegration"})},
        {"person", pick(persons)},
        {"sex", pick(sexes)},
        {"nationality", pick(countries)},
        {"admitted", day(admitted)}};
    if (below(5) > 0) stay.push_back({"discharged", day(admitted + static_cast<int>(below(30)))});
    return stay;
  };
  const std::vector<std::string> types{"pats_session", "on_call_event", "prevention_workshop",
                                       "assistance_case"};
  for (int round = 0; round < 25; ++round) {
    std::vector<sync::record_change> changes;
    std::set<std::size_t> touched;
    for (std::size_t n = 1 + below(6); n > 0; --n) {
      const std::size_t i =
          records.empty() || below(3) > 0 ? records.size() : below(records.size());
      if (i < records.size() && (records[i].deleted || !touched.insert(i).second)) continue;
      if (i == records.size()) {
        touched.insert(i);
        const std::string type = pick(types);
        const sync::record_id id = test_id(static_cast<int>(i) + 1);
        const auto fields = fields_of(type);
        changes.push_back(d.record(id, type, fields));
        records.push_back({id.hex(), type, typed(*shipped_schema(), type, fields), false});
      } else if (below(4) == 0) {
        changes.push_back(d.deletion(test_id(static_cast<int>(i) + 1), records[i].type));
        records[i].deleted = true;
        records[i].fields.clear();
      } else {  // an edit of one field, to a value of the same rules
        typed_fields all = fields_of(records[i].type);
        typed_fields edit;
        for (const auto& kv : all)
          if (kv.first == "participants" || kv.first == "site" || kv.first == "outcome" ||
              kv.first == "region" || kv.first == "nationality")
            edit.push_back(kv);
        if (records[i].type == "pats_session" && !records[i].fields.count("person"))
          std::erase_if(edit, [](const auto& kv) { return kv.first == "nationality"; });
        if (records[i].type == "pats_session" && records[i].fields.count("person"))
          std::erase_if(edit, [](const auto& kv) { return kv.first == "participants"; });
        if (edit.empty()) continue;
        edit.resize(1);
        changes.push_back(d.record(test_id(static_cast<int>(i) + 1), records[i].type, edit));
        for (auto& [key, v] : typed(*shipped_schema(), records[i].type, edit))
          records[i].fields[key] = v;
      }
    }
    f.push(d, changes);
  }
  const date today = from_civil(2026, 6, 15);
  for (const auto& t : shipped_schema()->tallies())
    for (const auto& [year, month] : std::vector<std::pair<int, std::optional<int>>>{
             {2025, {}}, {2026, {}}, {2025, 3}, {2026, 2}, {2026, 6}}) {
      const auto report = f.tallies().json(t.id, year, month);
      REQUIRE(report.ok());
      INFO(t.id << " " << year << " " << month.value_or(0) << ": " << report.value());
      CHECK(compare_report(report.value(), *shipped_schema(), t, records, today, year, month) ==
            "");
    }
  // And so after reopening.
  f.reopen();
  for (const auto& t : shipped_schema()->tallies())
    CHECK(compare_report(f.tallies().json(t.id, 2026, {}).value(), *shipped_schema(), t, records,
                         today, 2026, {}) == "");
}

// An open stay counts up to today's month; refresh() moves it on to a new
// month, and a discharge or deletion afterwards retracts what it counted.
inline void tally_open_stays_move_on(const store_opener& open) {
  central_fixture f(open);
  auto d = f.enroll("device-1", "team-a", 7);
  const typed_fields stay{{"programme", "crisis-accommodation"},
                          {"person", "P-0001H"},
                          {"sex", "female"},
                          {"nationality", "UA"},
                          {"admitted", "2026-05-20"}};
  std::vector<oracle_record> records{
      {test_id(1).hex(), "assistance_case", typed(*shipped_schema(), "assistance_case", stay)}};
  const auto agrees = [&] {
    for (const auto& t : shipped_schema()->tallies())
      for (const std::optional<int> month :
           {std::optional<int>{}, std::optional<int>{5}, std::optional<int>{6},
            std::optional<int>{8}, std::optional<int>{9}}) {
        const auto report = f.tallies().json(t.id, 2026, month);
        REQUIRE(report.ok());
        INFO(t.id << " " << month.value_or(0) << ": " << report.value());
        CHECK(compare_report(report.value(), *shipped_schema(), t, records, f.today, 2026, month) ==
              "");
      }
  };
  f.push(d, {d.record(test_id(1), "assistance_case", stay)});
  agrees();
  CHECK(cell_count(f.report("care-days-by-nationality", 2026)) == 1);

  f.today = from_civil(2026, 9, 2);
  f.store().refresh();
  agrees();
  CHECK(cell_count(f.report("care-days-by-nationality", 2026, 9)) == 1);
  f.reopen();  // the day it was counted for is kept
  const typed_fields discharge{{"discharged", "2026-08-10"}};
  f.push(d, {d.record(test_id(1), "assistance_case", discharge)});
  records[0].fields["discharged"] = from_civil(2026, 8, 10);
  agrees();
  CHECK(cell_count(f.report("care-days-by-nationality", 2026, 9)) == 0);
  f.push(d, {d.deletion(test_id(1), "assistance_case")});
  records[0] = {test_id(1).hex(), "assistance_case", {}, true};
  agrees();
}

// amounts() of an unknown tally is not_found; of a period without records, empty
inline void tally_amounts_errors(const store_opener& open) {
  central_fixture f(open);
  const auto unknown = f.store().amounts("no-such-tally", {2026, 0});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.err().code == errc::not_found);
  const auto empty = f.store().amounts("on-call-by-outcome", {2026, 3});
  REQUIRE(empty.ok());
  CHECK(empty.value().empty());
  f.store().refresh();  // nothing to move
  CHECK(f.store().amounts("on-call-by-outcome", {2026, 0}).value().empty());
}

// ---- access_registry ----

// Opens the access registry kept in directory `dir` (creating it when new): one backend.
using registry_opener =
    std::function<std::unique_ptr<server::access_registry>(const temp_dir& dir)>;

// standing transitions: active <-> retired, anything -> revoked (for good); wipes only after a wipe
// order
inline void standing_transitions(const registry_opener& open) {
  using server::device_standing;
  constexpr std::int64_t t0 = 1'780'000'000'000;
  temp_dir dir;
  auto registry = open(dir);
  const std::string key(32, 'k');
  auto enrolled = [&] {
    return registry
        ->redeem(registry
                     ->issue_code("Ana's phone", "team-a", server::device_role::worker,
                                  std::chrono::hours(24), t0)
                     .code,
                 key, "", t0)
        .device_id;
  };
  CHECK(error_of([&] {
          registry->set_standing("d0123456789abcdef", device_standing::retired, t0);
        }).code == errc::not_found);
  const auto a = enrolled(), b = enrolled();
  CHECK(registry->device(a)->standing == device_standing::active);

  // active -> retired -> active -> revoked; revoked stays revoked.
  auto d = registry->set_standing(a, device_standing::retired, t0 + 10);
  CHECK(d.standing == device_standing::retired);
  CHECK(d.standing_changed_ms == t0 + 10);
  CHECK(registry->set_standing(a, device_standing::active, t0 + 20).standing ==
        device_standing::active);
  CHECK(registry->set_standing(a, device_standing::revoked, t0 + 30).standing ==
        device_standing::revoked);
  CHECK(registry->set_standing(a, device_standing::revoked, t0 + 40).standing_changed_ms ==
        t0 + 30);
  for (auto s : {device_standing::active, device_standing::retired})
    CHECK(error_of([&] { registry->set_standing(a, s, t0 + 50); }).code == errc::invalid_input);
  CHECK(registry->device(a)->standing == device_standing::revoked);

  // Wipes: only after a wipe order; a wiped device is not made active again.
  CHECK(error_of([&] { registry->mark_wiped(b, t0); }).code == errc::invalid_input);
  CHECK(error_of([&] { registry->mark_wiped("d0123456789abcdef", t0); }).code == errc::not_found);
  registry->set_standing(b, device_standing::retired, t0 + 60);
  registry->mark_wiped(b, t0 + 70);
  CHECK(registry->device(b)->wiped_ms == t0 + 70);
  CHECK(error_of([&] { registry->set_standing(b, device_standing::active, t0 + 80); }).code ==
        errc::invalid_input);
  CHECK(registry->set_standing(b, device_standing::revoked, t0 + 90).standing ==
        device_standing::revoked);

  // Durable: a registry opened again sees every standing.
  registry.reset();
  registry = open(dir);
  CHECK(registry->device(a)->standing == device_standing::revoked);
  CHECK(registry->device(b)->standing == device_standing::revoked);
  CHECK(registry->device(b)->wiped_ms == t0 + 70);
}

}  // namespace haven::test::conformance

// The central store's conformance tests for one backend: `backend` names it
// in the test names, `opener` is a store_opener.
#define HAVEN_STORE_CONFORMANCE(backend, opener)                                                   \
  TEST_CASE(                                                                                       \
      backend                                                                                      \
      ": push merges a batch in one transaction and moves acked_seq to the greatest last_seq",     \
      "[server][store_conformance]") {                                                             \
    ::haven::test::conformance::push_is_one_transaction(opener);                                   \
  }                                                                                                \
  TEST_CASE(backend                                                                                \
            ": a new record's cells may come in two batches, and an edit is merged whatever the "  \
            "rules say",                                                                           \
            "[server][store_conformance]") {                                                       \
    ::haven::test::conformance::new_record_in_two_batches(opener);                                 \
  }                                                                                                \
  TEST_CASE(backend ": a refused batch changes nothing, and the log goes on from where it was",    \
            "[server][store_conformance]") {                                                       \
    ::haven::test::conformance::refused_batch_changes_nothing(opener);                             \
  }                                                                                                \
  TEST_CASE(                                                                                       \
      backend                                                                                      \
      ": pull gives a team's cells in log order, without skip_node's, and still moves up_to",      \
      "[server][store_conformance]") {                                                             \
    ::haven::test::conformance::pull_by_team_in_log_order(opener);                                 \
  }                                                                                                \
  TEST_CASE(backend                                                                                \
            ": pull withholds a node's own cells only while that node has been no other device's", \
            "[server][store_conformance]") {                                                       \
    ::haven::test::conformance::pull_withholds_own_cells(opener);                                  \
  }                                                                                                \
  TEST_CASE(backend                                                                                \
            ": pull pages at record boundaries with more, and paging returns every cell once",     \
            "[server][store_conformance]") {                                                       \
    ::haven::test::conformance::pull_pages_at_record_boundaries(opener);                           \
  }                                                                                                \
  TEST_CASE(backend ": pull keeps to the frame's record limit", "[server][store_conformance]") {   \
    ::haven::test::conformance::pull_keeps_record_limit(opener);                                   \
  }                                                                                                \
  TEST_CASE(backend                                                                                \
            ": a deletion leaves only the deletion cell, which pulls deliver, and later cells "    \
            "are discarded",                                                                       \
            "[server][store_conformance]") {                                                       \
    ::haven::test::conformance::deletion_erases(opener);                                           \
  }                                                                                                \
  TEST_CASE(backend ": admit registers a device and updates it, and synced records the last sync", \
            "[server][store_conformance]") {                                                       \
    ::haven::test::conformance::admit_and_synced(opener);                                          \
  }                                                                                                \
  TEST_CASE(backend ": team_syncs lists a type's teams with their devices' latest sync",           \
            "[server][store_conformance]") {                                                       \
    ::haven::test::conformance::team_syncs_of_a_type(opener);                                      \
  }                                                                                                \
  TEST_CASE(backend ": counts() numbers records, deletions, cells, devices, head and bytes",       \
            "[server][store_conformance]") {                                                       \
    ::haven::test::conformance::counts_of_the_log(opener);                                         \
  }                                                                                                \
  TEST_CASE(backend ": a reopened store keeps its head, devices, cells and tally",                 \
            "[server][store_conformance]") {                                                       \
    ::haven::test::conformance::durable_across_reopen(opener);                                     \
  }                                                                                                \
  TEST_CASE(backend ": device(id) finds one device, and nothing for an unknown id",                \
            "[server][store_conformance]") {                                                       \
    ::haven::test::conformance::device_lookup(opener);                                             \
  }                                                                                                \
  TEST_CASE(                                                                                       \
      backend                                                                                      \
      ": a batch pushed again, whole or in part, changes nothing but the cursor's last-seen time", \
      "[server][store_conformance]") {                                                             \
    ::haven::test::conformance::push_is_idempotent(opener);                                        \
  }                                                                                                \
  TEST_CASE(backend ": a cursor beyond the head pulls everything again",                           \
            "[server][store_conformance]") {                                                       \
    ::haven::test::conformance::pull_since_beyond_head(opener);                                    \
  }                                                                                                \
  TEST_CASE(backend                                                                                \
            ": random records, edits and deletions: every tally's amounts equal the oracle's",     \
            "[server][store_conformance]") {                                                       \
    ::haven::test::conformance::tally_amounts_equal_oracle(opener);                                \
  }                                                                                                \
  TEST_CASE(backend ": amounts of an unknown tally are not_found, of an empty period none",        \
            "[server][store_conformance]") {                                                       \
    ::haven::test::conformance::tally_amounts_errors(opener);                                      \
  }                                                                                                \
  TEST_CASE(backend ": an open stay moves on with refresh(), and its discharge retracts it",       \
            "[server][store_conformance]") {                                                       \
    ::haven::test::conformance::tally_open_stays_move_on(opener);                                  \
  }

// The access registry's conformance tests for one backend (`opener`: a registry_opener).
#define HAVEN_REGISTRY_CONFORMANCE(backend, opener)                        \
  TEST_CASE(backend ": standing transitions, wipes, and their durability", \
            "[server][registry_conformance]") {                            \
    ::haven::test::conformance::standing_transitions(opener);              \
  }

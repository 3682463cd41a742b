// sync_service, the server backend of the protocol over the central store:
// the welcome, the clock-skew refusal before any write, team notifications
// only for pushes that changed something, pulls without the device's own
// cells, metrics; and whole sessions of device models through it over a
// loopback wire, which must end as they do with the central store model.

#include <algorithm>
#include <catch2/catch.hpp>
#include <haven/server/sync_service.hpp>
#include <random>
#include <string>
#include <vector>

#include "../support/loopback.hpp"
#include "central_fixture.hpp"

namespace haven::test {
namespace {

using Catch::Matchers::Contains;

constexpr std::uint64_t minute_ms = 60'000;

// A sync_service on a fresh store whose clock reads a time the test sets.
struct service_fixture : central_fixture {
  std::uint64_t now_ms = field_time_ms;
  server::metrics counters;
  server::login_guard guard;
  server::sync_service service{
      // without authentication (--dev-no-auth): see sync_auth_test.cpp
      store(),
      store(),
      shipped_schema(),
      counters,
      nullptr,
      guard,
      sync::hlc_clock(sync::hlc_clock::default_max_skew_ms, [this] { return now_ms; })};
  std::vector<std::string> notified;

  service_fixture() {
    service.on_team_changed([this](std::string_view team) { notified.emplace_back(team); });
  }
};

}  // namespace

TEST_CASE(
    "sync_service: the welcome carries the schema (to a device with an older one), the device's "
    "cursor and "
    "the server time",
    "[server][sync_service]") {
  service_fixture f;
  field_device a("dev-a", "team-a", 0xa);
  const auto w = f.service.admit(a.hello(), {}).greeting;
  CHECK(w.version == sync::protocol_version);
  CHECK(w.schema_version == shipped_schema()->version());
  CHECK(w.schema_json.empty());  // the device has it already
  auto older = a.hello();
  older.schema_version = shipped_schema()->version() - 1;
  CHECK(f.service.admit(older, {}).greeting.schema_json == shipped_schema()->source());
  CHECK(w.acked_seq == 0);
  CHECK(w.server_time.millis() == f.now_ms);

  f.service.push(
      a.peer(),
      a.batch({a.record(test_id(1), "pats_session", group_session("2026-03-01", "vic", "12"))}));
  const auto again = f.service.admit(a.hello(), {}).greeting;
  CHECK(again.acked_seq == 4);
  CHECK(again.server_time > w.server_time);
  CHECK(f.store().devices().at(0).device_id == "dev-a");
}

TEST_CASE("sync_service refuses a batch stamped too far ahead before it writes anything",
          "[server][sync_service]") {
  service_fixture f;
  field_device a("dev-a", "team-a", 0xa);
  f.service.admit(a.hello(), {}).greeting;
  f.service.push(
      a.peer(),
      a.batch({a.record(test_id(1), "pats_session", group_session("2026-03-01", "vic", "12"))}));
  f.notified.clear();
  const auto before = f.store().counts();
  const auto received = f.counters.changes_received.load();

  // A good record, then one from a clock ten minutes ahead.
  const auto good = a.record(test_id(2), "pats_session", group_session("2026-03-02", "vic", "3"));
  a.ms() = f.now_ms + 10 * minute_ms;
  const auto ahead = a.record(test_id(3), "pats_session", group_session("2026-03-03", "vic", "4"));
  try {
    f.service.push(a.peer(), a.batch({good, ahead}));
    FAIL("the batch was accepted");
  } catch (const failure& e) {
    CHECK(e.err().code == errc::clock_skew);
    CHECK_THAT(e.err().message, Contains("10 minutes ahead"));
  }
  const auto after = f.store().counts();
  CHECK(after.head == before.head);
  CHECK(after.records == before.records);
  CHECK(f.store().devices().at(0).acked_seq == 4);
  CHECK(f.notified.empty());
  CHECK(f.counters.changes_received == received);

  SECTION("the same cells are accepted once the server's clock is within the allowed skew") {
    f.now_ms += 6 * minute_ms;
    const auto ack = f.service.push(a.peer(), sync::push_batch{12, {good, ahead}});
    CHECK(ack.acked_seq == 12);
    CHECK(f.store().counts().records == 3);
  }
}

TEST_CASE("sync_service tells the team of a push that changed something, and no one otherwise",
          "[server][sync_service]") {
  service_fixture f;
  field_device a("dev-a", "team-a", 0xa), b("dev-b", "team-b", 0xb);
  f.service.admit(a.hello(), {});
  f.service.admit(b.hello(), {});
  const auto batch = a.batch({a.record(test_id(1), "on_call_event", {{"caller", "police"}}),
                              a.record(test_id(3), "on_call_event", {{"caller", "victim"}})});
  const auto ack = f.service.push(a.peer(), batch);
  CHECK(ack.acked_seq == 2);
  f.service.push(b.peer(), b.batch({b.record(test_id(2), "on_call_event", {{"caller", "ngo"}})}));
  CHECK(f.notified == std::vector<std::string>{"team-a", "team-b"});
  CHECK(f.counters.changes_received == 3);
  CHECK(f.counters.changes_applied == 3);

  f.notified.clear();
  CHECK(f.service.push(a.peer(), batch) == ack);  // the same batch again: nothing changed
  CHECK(f.notified.empty());
  CHECK(f.counters.changes_received == 5);
  CHECK(f.counters.changes_applied == 3);
  CHECK_THAT(f.counters.render(f.store().counts(), f.store().device_count()),
             Contains("haven_push_seconds_count 3\n"));
}

TEST_CASE("sync_service pulls leave out the device's own cells, and caught_up records the sync",
          "[server][sync_service]") {
  service_fixture f;
  field_device a("dev-a", "team-a", 0xa), b("dev-b", "team-a", 0xb);
  f.service.admit(a.hello(), {}).greeting;
  f.service.admit(b.hello(), {}).greeting;
  f.service.push(a.peer(), a.batch({a.record(test_id(1), "on_call_event",
                                             {{"caller", "police"}, {"outcome", "admitted"}})}));
  f.service.push(b.peer(), b.batch({b.record(test_id(2), "on_call_event", {{"caller", "ngo"}})}));

  const auto for_a = f.service.pull(a.peer(), 0, 100);
  REQUIRE(for_a.changes.size() == 1);
  CHECK(for_a.changes[0].id == test_id(2));
  CHECK(for_a.up_to == 3);
  CHECK(f.service.pull(b.peer(), 0, 100).changes.at(0).cells.size() == 2);
  CHECK(f.counters.changes_sent == 3);

  CHECK_FALSE(f.store().devices().at(0).last_sync_ms.has_value());
  f.service.caught_up(a.peer());
  CHECK(f.store().devices().at(0).last_sync_ms.has_value());
}

// ---------------------------------------------------------------- sessions over loopback

namespace {

// The same devices and writes synced through the real service and store and
// through the central model of the session tests.
struct two_servers {
  manual_time time{field_time_ms};
  service_fixture real;
  central model{time};

  struct side {
    device a, b, c;
  };
  side on_real{{"dev-a", "team-a", 0xa, time},
               {"dev-b", "team-a", 0xb, time},
               {"dev-c", "team-b", 0xc, time}};
  side on_model{{"dev-a", "team-a", 0xa, time},
                {"dev-b", "team-a", 0xb, time},
                {"dev-c", "team-b", 0xc, time}};

  void write(device side::*who, const sync::record_id& id, const std::string& type,
             const std::vector<std::pair<std::string, value>>& fields) {
    (on_real.*who).write(id, type, fields);
    (on_model.*who).write(id, type, fields);
  }
  void remove(device side::*who, const sync::record_id& id, const std::string& type) {
    (on_real.*who).remove(id, type);
    (on_model.*who).remove(id, type);
  }
  void sync(device side::*who, sync::client_session::options opts = {}) {
    sync_once(on_real.*who, real.service, opts);
    sync_once(on_model.*who, model, opts);
  }
};

}  // namespace

TEST_CASE("devices syncing through sync_service and the SQLite store end as with the central model",
          "[server][sync_service][loopback]") {
  two_servers s;
  using side = two_servers::side;
  const auto day = [](int d) { return from_civil(2026, 3, static_cast<unsigned>(d)); };
  s.write(&side::a, test_id(1), "pats_session",
          {{"date", day(1)},
           {"site", std::string("vic")},
           {"format", std::string("group")},
           {"participants", std::int64_t{12}}});
  s.write(
      &side::a, test_id(2), "on_call_event",
      {{"date", day(2)}, {"caller", std::string("police")}, {"outcome", std::string("admitted")}});
  s.write(&side::b, test_id(3), "pats_session",
          {{"date", day(3)},
           {"site", std::string("logatec")},
           {"format", std::string("group")},
           {"participants", std::int64_t{7}},
           {"topics.thb", true}});
  s.write(
      &side::c, test_id(4), "on_call_event",
      {{"date", day(4)}, {"caller", std::string("ngo")}, {"outcome", std::string("advice-only")}});
  sync::client_session::options small;
  small.max_push_cells = 2;
  small.max_pull_cells = 3;
  s.sync(&side::a, small);
  s.sync(&side::b, small);
  s.sync(&side::c);
  s.time.ms += 1000;
  s.write(&side::a, test_id(3), "pats_session",
          {{"participants", std::int64_t{8}}, {"topics.gbv", true}});
  s.write(&side::b, test_id(1), "pats_session", {{"site", std::string("postojna")}});
  s.remove(&side::b, test_id(2), "on_call_event");
  s.sync(&side::a);
  s.sync(&side::b, small);
  s.sync(&side::a, small);
  s.sync(&side::c);

  CHECK(s.on_real.a.replica() == s.on_model.a.replica());
  CHECK(s.on_real.b.replica() == s.on_model.b.replica());
  CHECK(s.on_real.c.replica() == s.on_model.c.replica());
  CHECK(s.on_real.a.replica() == s.on_real.b.replica());
  CHECK(s.on_real.a.replica().records().size() == 3);
  CHECK(s.on_real.a.replica().records().at(test_id(2)).deleted);
  CHECK(s.on_real.c.replica().records().size() == 1);
  CHECK(s.real.store().counts().head == s.model.head());
  CHECK(s.real.store().devices().size() == 3);
  for (const auto& d : s.real.store().devices()) {
    CHECK(d.acked_seq == s.model.devices().at(d.device_id).acked_seq);
    CHECK(d.last_sync_ms.has_value());
  }
  const auto report = s.real.report("pats-group-by-site", 2026);
  CHECK(total(report, "participants") == 12 + 8);
  CHECK(total(report, "sessions") == 2);
}

// ---------------------------------------------------------------- shared pulls

namespace {

// The central store as the service's change log, counting the pulls that
// reach it.
class counting_log final : public server::change_log {
 public:
  explicit counting_log(server::change_log& log) : log_(log) {}
  server::push_result push(const sync::peer& d, const sync::push_batch& b,
                           std::int64_t now_ms) override {
    return log_.push(d, b, now_ms);
  }
  sync::change_batch pull(std::string_view team, sync::node_id skip, std::uint64_t since,
                          std::uint32_t max_cells) override {
    ++pulls;
    return log_.pull(team, skip, since, max_cells);
  }
  server::log_counts counts() override { return log_.counts(); }
  int pulls = 0;

 private:
  server::change_log& log_;
};

struct counted_service : central_fixture {
  counting_log log{store()};
  server::metrics counters;
  server::login_guard guard;
  server::sync_service service{
      log,
      store(),
      shipped_schema(),
      counters,
      nullptr,
      guard,
      sync::hlc_clock(sync::hlc_clock::default_max_skew_ms, [] { return field_time_ms; })};
};

sync::record_change call(field_device& d, int id, const std::string& caller) {
  return d.record(test_id(id), "on_call_event", {{"caller", caller}});
}

}  // namespace

TEST_CASE(
    "sync_service reads a push's cells once for all the team's devices at the cursor, "
    "but the writer gets them without its own",
    "[server][sync_service]") {
  counted_service f;
  field_device writer("dev-w", "team-a", 0x1), c("dev-c", "team-b", 0x9);
  std::vector<field_device> team;
  for (int i = 0; i < 5; ++i) team.emplace_back("dev-" + std::to_string(i), "team-a", 0x10 + i);
  f.service.push(writer.peer(), writer.batch({call(writer, 1, "police")}));
  const std::uint64_t cursor = f.store().counts().head;

  f.service.push(writer.peer(), writer.batch({call(writer, 2, "ngo"), call(writer, 3, "police")}));
  f.service.push(c.peer(), c.batch({call(c, 4, "ngo")}));
  f.log.pulls = 0;
  for (auto& d : team) {
    const auto got = f.service.pull(d.peer(), cursor, 100);
    CHECK(got == f.store().pull("team-a", d.peer().node, cursor, 100));
    REQUIRE(got.changes.size() == 2);
    CHECK(got.changes[0].id == test_id(2));
  }
  CHECK(f.log.pulls == 1);  // read once, shared with the other four
  CHECK(f.counters.shared_pulls == 4);

  // The writer's own cells are left out of its batch: read for it alone.
  const auto for_writer = f.service.pull(writer.peer(), cursor, 100);
  CHECK(for_writer.changes.empty());
  CHECK(for_writer == f.store().pull("team-a", writer.peer().node, cursor, 100));
  CHECK(f.log.pulls == 2);

  // Another team at the same cursor: its own batch, never team-a's.
  const auto for_c = f.service.pull(field_device("dev-d", "team-b", 0x8).peer(), cursor, 100);
  REQUIRE(for_c.changes.size() == 1);
  CHECK(for_c.changes[0].team == "team-b");
  CHECK(f.log.pulls == 3);

  // A push drops what was kept: the next pull reads the log again and sees it.
  f.service.push(writer.peer(), writer.batch({call(writer, 5, "ngo")}));
  const auto after = f.service.pull(team[0].peer(), cursor, 100);
  CHECK(after.changes.size() == 3);
  CHECK(f.log.pulls == 4);
  CHECK(after == f.store().pull("team-a", team[0].peer().node, cursor, 100));
}

TEST_CASE(
    "sync_service's pulls, shared or not, equal the store's own for random pushes and cursors",
    "[server][sync_service][property]") {
  const std::uint64_t seed = GENERATE(1, 2, 3);
  INFO("seed " << seed);
  counted_service f;
  std::mt19937_64 rng(seed);
  std::vector<field_device> devices;
  for (int i = 0; i < 6; ++i)
    devices.emplace_back("dev-" + std::to_string(i), i % 2 ? "team-b" : "team-a",
                         static_cast<sync::node_id>(0x20 + i));
  std::vector<std::uint64_t> heads{0};
  int next_id = 1;
  for (int step = 0; step < 300; ++step) {
    auto& d = devices[rng() % devices.size()];
    if (rng() % 3 == 0) {
      // a new record, or an edit of one written before (by anyone of the team)
      const int id =
          rng() % 2 ? next_id++ : 1 + static_cast<int>(rng() % static_cast<unsigned>(next_id));
      const auto change = call(d, id, rng() % 2 ? "police" : "ngo");
      try {
        f.service.push(d.peer(), d.batch({change}));
      } catch (const failure&) {
        // a record of the other team: refused whole, nothing changed
      }
      heads.push_back(f.store().counts().head);
      continue;
    }
    // pull from a recent head (as woken devices do) or anywhere
    const std::uint64_t since =
        heads[heads.size() - 1 - rng() % std::min<std::size_t>(heads.size(), 3)];
    const auto max_cells = static_cast<std::uint32_t>(1 + rng() % 4);
    INFO("step " << step << " device " << d.peer().device_id << " since " << since);
    CHECK(f.service.pull(d.peer(), since, max_cells) ==
          f.store().pull(d.peer().team, d.peer().node, since, max_cells));
  }
  CHECK(f.counters.shared_pulls > 0);  // the property covered shared batches
}

}  // namespace haven::test

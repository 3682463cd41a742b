// The session state machines over a loopback wire, with no sockets: a full
// session moves everything both ways, batches respect their limits, live
// forwarding, idempotent pushes, a session cut after any frame and resumed
// converges like an uncut one, and every malformed or out-of-order frame or
// backend failure ends the session with an error frame.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <haven/sync/session.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "../support/loopback.hpp"
#include "test_cells.hpp"

using namespace haven;
using namespace haven::sync;
using namespace haven::test;
using Catch::Matchers::Contains;

namespace {

using fields = std::vector<std::pair<std::string, value>>;
using state = client_session::state;
using names = std::vector<std::string>;

fields group_session(const std::string& site, std::int64_t participants) {
  return {{"site", site}, {"format", std::string("group")}, {"participants", participants}};
}

// Three devices, two of team-a and one of team-b, and the central model.
struct three_devices {
  manual_time time;
  central server{time};
  device a{"dev-a", "team-a", 0xa1, time};
  device b{"dev-b", "team-a", 0xb2, time};
  device c{"dev-c", "team-b", 0xc3, time};
};

// A device that writes frames by hand to a server session.
struct scripted_device {
  manual_time time;
  central store{time};
  wire line;
  server_session session{store, line.server_end()};
  std::string nonce;  // of the challenge the session sent

  scripted_device() {
    session.start();
    nonce = decoded_as<sync::challenge>(line.server_end().sent.at(0)).nonce;
  }
  void say(const message& m) { session.on_frame(sync::encode(m)); }
  void say_hello() { say(hello{protocol_version, "dev-x", "team-a", 0x99, 1, 0, 0, nonce}); }
  // What the session sent after its challenge.
  std::vector<std::string> replies() {
    const auto& sent = line.server_end().sent;
    return {sent.begin() + 1, sent.end()};
  }
  names reply_names() {
    names out;
    for (const auto& f : replies()) out.push_back(name_of(f));
    return out;
  }
};

// A server that writes frames by hand to a client session.
struct scripted_server {
  manual_time time;
  device d{"dev-a", "team-a", 0xa1, time};
  wire line;
  client_session session{d, line.device_end()};

  void say(const message& m) { session.on_frame(sync::encode(m)); }
  // Starts the session and challenges it, as a server does on connection.
  void start() {
    session.start();
    say(sync::challenge{protocol_version, "nonce-0000000000000001"});
  }
  welcome greeting() {
    welcome w;
    w.schema_version = 1;
    w.server_time = hlc::make(time.ms, 0);
    return w;
  }
};

// Ends with the session refused for a protocol error: an error frame last, closed, silent after.
void check_protocol_refusal(scripted_device& s, const std::string& why) {
  REQUIRE_FALSE(s.replies().empty());
  REQUIRE(name_of(s.replies().back()) == "error");
  const auto e = decoded_as<error_frame>(s.replies().back());
  CHECK(e.code == static_cast<std::uint16_t>(errc::protocol));
  CHECK_THAT(e.message, Contains(why));
  CHECK(s.session.current() == server_session::state::closed);
  CHECK(s.session.refusal() == e.message);
  CHECK(s.line.server_end().closed());
  const std::size_t replies = s.replies().size();
  s.say_hello();  // a closed session ignores whatever still arrives
  CHECK(s.replies().size() == replies);
  CHECK(s.line.server_end().sent_after_close == 0);
}

void check_client_failed(scripted_server& s, errc code, const std::string& why) {
  CHECK(s.session.current() == state::failed);
  REQUIRE(s.session.failure_reason().has_value());
  CHECK(s.session.failure_reason()->code == code);
  CHECK_THAT(s.session.failure_reason()->message, Contains(why));
  CHECK(s.line.device_end().closed());
}

}  // namespace

// ---------------------------------------------------------------- whole sessions

TEST_CASE("a full session pushes the outbox, pulls the team's changes and ends done",
          "[sync][session]") {
  three_devices w;
  w.a.write(id_of(1), "pats_session", group_session("vic", 12));
  w.a.write(id_of(2), "pats_session", group_session("logatec", 30));
  w.b.write(id_of(3), "pats_session", group_session("postojna", 8));
  w.b.write(id_of(4), "pats_session", group_session("vic", 5));
  w.c.write(id_of(5), "pats_session", group_session("other", 2));
  sync_once(w.b, w.server);
  sync_once(w.c, w.server);

  connection link(w.a, w.server);
  link.run();
  CHECK(link.transcript() ==
        names{"challenge", "hello", "welcome", "push", "ack", "pull", "changes"});
  CHECK(link.client().current() == state::done);
  CHECK(link.line().device_end().closed());
  CHECK(link.server().current() == server_session::state::live);
  CHECK(link.server().device().device_id == "dev-a");
  CHECK(link.server().device().node == w.a.node());

  const auto& p = link.client().progress();
  CHECK(p.batches_up == 1);
  CHECK(p.changes_up == 6);
  CHECK(p.batches_down == 1);
  CHECK(p.changes_down == 6);  // b's records, not c's (team-b)

  // The push carried the whole outbox; its ack came after the merge.
  const auto push = decoded_as<push_batch>(link.sent_by_device().at(1));
  CHECK(push.last_seq == w.a.local_seq());
  CHECK(decoded_as<push_ack>(link.sent_by_server().at(2)).acked_seq == w.a.local_seq());
  CHECK(w.a.acked_seq() == w.a.local_seq());
  CHECK(w.a.outbox_cells() == 0);
  CHECK(w.server.devices().at("dev-a").acked_seq == w.a.local_seq());
  CHECK(w.server.devices().at("dev-a").caught_up == 1);
  CHECK(w.a.pulled() == w.server.head());
  REQUIRE(w.a.welcomes().size() == 1);
  CHECK(w.a.welcomes()[0].server_time.millis() == w.time.ms);

  sync_once(w.b, w.server);
  CHECK(w.server.merged().records().size() == 5);
  CHECK(w.a.replica().records().size() == 4);
  CHECK(team_view(w.a.replica(), "team-a") == team_view(w.server.merged(), "team-a"));
  CHECK(w.b.replica() == w.a.replica());
  CHECK(team_view(w.c.replica(), "team-b") == team_view(w.server.merged(), "team-b"));
  CHECK(w.c.replica().records().size() == 1);
}

TEST_CASE("the server never sends a device its own cells, yet its cursor passes them",
          "[sync][session]") {
  three_devices w;
  w.a.write(id_of(1), "pats_session", group_session("vic", 12));
  sync_once(w.a, w.server);
  CHECK(w.a.batches().back().changes.empty());  // its own record came back as nothing
  CHECK(w.a.pulled() == w.server.head());
  sync_once(w.b, w.server);
  REQUIRE(w.b.replica().records().count(id_of(1)) == 1);

  w.time.ms += 1000;
  w.b.write(id_of(1), "pats_session", {{"site", std::string("postojna")}});
  sync_once(w.b, w.server);
  w.time.ms += 1000;
  w.a.write(id_of(1), "pats_session", {{"participants", std::int64_t{40}}});

  connection link(w.a, w.server);
  link.run();
  REQUIRE(link.client().current() == state::done);
  const auto down = cells_sent_down(link);
  REQUIRE(down.size() == 1);  // b's site; a's participants, pushed in this session, stays home
  CHECK(down[0].key == "site");
  CHECK(down[0].at.node == w.b.node());
  for (const auto& c : down) CHECK(c.at.node != w.a.node());
  CHECK(decoded_as<change_batch>(link.sent_by_server().back()).up_to == w.server.head());
  CHECK(team_view(w.a.replica(), "team-a") == team_view(w.server.merged(), "team-a"));
}

TEST_CASE("push and pull batches keep to their cell limits and take several round trips",
          "[sync][session]") {
  three_devices w;
  for (std::uint8_t i = 1; i <= 5; ++i)
    w.a.write(id_of(i), "pats_session",
              {{"site", std::string("vic")}, {"participants", std::int64_t{i}}});
  for (std::uint8_t i = 11; i <= 13; ++i)
    w.b.write(id_of(i), "pats_session",
              {{"site", std::string("logatec")}, {"participants", std::int64_t{i}}});
  w.b.write(id_of(14), "pats_session", {{"site", std::string("postojna")}});
  sync_once(w.b, w.server);

  client_session::options opts;
  opts.max_push_cells = 3;
  std::uint32_t expected_max = 0;
  std::unique_ptr<connection> link;
  SECTION("the device asks for small batches") {
    opts.max_pull_cells = 2;
    expected_max = 2;
    link = std::make_unique<connection>(w.a, w.server, opts);
  }
  SECTION("the server bounds what a device asks for") {
    link = std::make_unique<connection>(w.a, w.server, opts);
    link->server().max_pull_cells = 2;
    expected_max = opts.max_pull_cells;
  }
  link->run();
  REQUIRE(link->client().current() == state::done);
  // Pushes end at the first record boundary once 3 cells are in, as the
  // device's outbox does (a record's cells are never split): 4 + 4 + 2
  // cells. Pulls: b's four records one batch each (records are not split),
  // then a's own five records, read but not sent back, which still move the
  // cursor.
  names expected{"challenge", "hello", "welcome"};
  for (int i = 0; i < 3; ++i) expected.insert(expected.end(), {"push", "ack"});
  for (int i = 0; i < 8; ++i) expected.insert(expected.end(), {"pull", "changes"});
  CHECK(link->transcript() == expected);

  std::vector<std::uint64_t> acked;
  for (const auto& ack : w.a.acks()) acked.push_back(ack.acked_seq);
  CHECK(acked == std::vector<std::uint64_t>{4, 8, 10});
  for (const auto& f : link->sent_by_device())
    if (name_of(f) == "push") {
      std::size_t cells = 0;
      for (const auto& ch : decoded_as<push_batch>(f).changes) cells += ch.cells.size();
      CHECK(cells <= 3 - 1 + 2);  // under the limit, then one more record of 2 cells
    }

  // Each pull asks from the previous batch's up_to.
  std::vector<bool> more;
  std::vector<std::size_t> records;
  std::uint64_t since = 0;
  for (const auto& f : link->sent_by_device())
    if (name_of(f) == "pull") {
      const auto r = decoded_as<pull_request>(f);
      CHECK(r.since == since);
      CHECK(r.max_cells == expected_max);
      const change_batch& b = w.a.batches().at(more.size());
      since = b.up_to;
      more.push_back(b.more);
      records.push_back(b.changes.size());
    }
  CHECK(more == std::vector<bool>{true, true, true, true, true, true, true, false});
  CHECK(records == std::vector<std::size_t>{1, 1, 1, 1, 0, 0, 0, 0});
  CHECK(w.a.pulled() == w.server.head());

  const auto& p = link->client().progress();
  CHECK(p.batches_up == 3);
  CHECK(p.changes_up == 10);
  CHECK(p.batches_down == 8);
  CHECK(p.changes_down == 7);
  CHECK(team_view(w.a.replica(), "team-a") == team_view(w.server.merged(), "team-a"));
}

TEST_CASE("a pulling device asks for the next batch before it merges the one it received",
          "[sync][session][pull]") {
  three_devices w;
  for (std::uint8_t i = 1; i <= 4; ++i)
    w.b.write(id_of(i), "pats_session",
              {{"site", std::string("vic")}, {"participants", std::int64_t{i}}});
  sync_once(w.b, w.server);
  client_session::options opts;
  opts.max_pull_cells = 2;  // one record a batch
  connection link(w.a, w.server, opts);
  // For each batch as the device merges it: whether it had more to come, and
  // whether the device's last frame was already the pull that asks for the next.
  std::vector<std::pair<bool, bool>> merged;
  int fail_at = 0;  // the batch whose merge fails (0: none)
  w.a.fault = [&](const char* what) {
    if (std::string(what) != "received") return;
    const auto batch = decoded_as<change_batch>(link.sent_by_server().back());
    const std::string& last = link.sent_by_device().back();
    merged.emplace_back(
        batch.more, name_of(last) == "pull" && decoded_as<pull_request>(last).since == batch.up_to);
    if (static_cast<int>(merged.size()) == fail_at) throw failure(errc::store, "disk full");
  };
  SECTION("every batch but the last asks for the next first") {
    link.run();
    REQUIRE(link.client().current() == state::done);
    REQUIRE(merged.size() >= 4);
    for (std::size_t i = 0; i + 1 < merged.size(); ++i) CHECK(merged[i] == std::pair{true, true});
    CHECK(merged.back() == std::pair{false, false});
    // One pull a batch, as before.
    CHECK(static_cast<std::size_t>(std::count(link.transcript().begin(), link.transcript().end(),
                                              "pull")) == merged.size());
  }
  SECTION("a merge that fails with the next pull asked ends the session; the next one resumes") {
    fail_at = 2;
    link.run();
    CHECK(link.client().current() == state::failed);
    CHECK(link.client().failure_reason()->code == errc::store);
    REQUIRE(w.a.batches().size() == 1);  // the failed batch was not merged
    CHECK(w.a.pulled() == w.a.batches().at(0).up_to);
    w.a.fault = nullptr;
    sync_once(w.a, w.server);
    CHECK(team_view(w.a.replica(), "team-a") == team_view(w.server.merged(), "team-a"));
  }
}

// ---------------------------------------------------------------- live

namespace {

// Live connections of several devices and the notifications the central
// model raised, delivered after the frame that caused them (as havend posts
// them to each session's strand).
struct live_devices : three_devices {
  client_session::options live_opts() {
    client_session::options o;
    o.stay_live = true;
    return o;
  }
  connection la{a, server, live_opts()}, lb{b, server, live_opts()}, lc{c, server, live_opts()};
  std::vector<std::string> changed_teams;

  live_devices() {
    server.on_team_changed = [this](const std::string& team) { changed_teams.push_back(team); };
    for (auto* l : {&la, &lb, &lc}) {
      l->run();
      REQUIRE(l->client().current() == state::live);
      REQUIRE(l->server().current() == server_session::state::live);
    }
  }
  void notify() {
    auto teams = std::move(changed_teams);
    changed_teams.clear();
    for (const auto& team : teams)
      for (auto* l : {&la, &lb, &lc}) l->server().on_changes(team);
  }
  void pump_all() {
    for (auto* l : {&la, &lb, &lc}) l->pump();
  }
  // A second later, the user of `d` writes a record and its live session hears of it.
  void write_live(device& d, connection& l, std::uint8_t id, const fields& f) {
    time.ms += 1000;
    d.write(id_of(id), "pats_session", f);
    l.client().on_local_changes();
  }
};

}  // namespace

TEST_CASE("live: a change pushed by one device reaches the team's other live devices",
          "[sync][session][live]") {
  live_devices w;
  w.write_live(w.a, w.la, 1, group_session("vic", 12));
  const std::size_t a_frames = w.la.delivered();
  w.la.pump();
  CHECK(names(w.la.transcript().begin() + static_cast<std::ptrdiff_t>(a_frames),
              w.la.transcript().end()) == names{"push", "ack"});
  CHECK(w.a.outbox_cells() == 0);
  CHECK(w.changed_teams == names{"team-a"});

  const std::size_t b_frames = w.lb.delivered(), c_frames = w.lc.delivered();
  w.notify();
  w.pump_all();
  CHECK(w.la.delivered() == a_frames + 2);  // nothing of its own comes back
  CHECK(w.lb.delivered() == b_frames + 1);  // one live batch
  CHECK(w.lb.transcript().back() == "changes");
  CHECK(w.lc.delivered() == c_frames);  // another team
  CHECK_FALSE(w.lb.server().behind());
  CHECK(w.lb.client().current() == state::live);
  CHECK(team_view(w.b.replica(), "team-a") == team_view(w.server.merged(), "team-a"));
  CHECK(w.b.replica().records().count(id_of(1)) == 1);
  CHECK(w.b.pulled() == w.server.head());

  SECTION("and a change from the other side comes back the same way") {
    w.write_live(w.b, w.lb, 1, {{"participants", std::int64_t{13}}});
    w.lb.pump();
    w.notify();
    w.pump_all();
    CHECK(w.a.replica() == w.b.replica());
  }
  SECTION("on_changes of another team, or before the session is live, sends nothing") {
    const std::size_t sent = w.lb.sent_by_server().size();
    w.lb.server().on_changes("team-b");
    CHECK(w.lb.sent_by_server().size() == sent);

    device d{"dev-d", "team-a", 0xd4, w.time};
    wire line;
    server_session s(w.server, line.server_end());
    s.start();
    s.on_changes("team-a");
    const auto c = decoded_as<sync::challenge>(line.server_end().sent.at(0));
    s.on_frame(sync::encode(d.greeting(c)));  // open, not yet pulled: live forwarding waits
    s.on_changes("team-a");
    CHECK(names{name_of(line.server_end().sent.at(1))} == names{"welcome"});
    CHECK(line.server_end().sent.size() == 2);
  }
}

TEST_CASE("live: a session more than one batch behind says so and catches up batch by batch",
          "[sync][session][live]") {
  live_devices w;
  w.lb.server().max_pull_cells = 2;
  for (std::uint8_t i = 1; i <= 3; ++i) {
    w.time.ms += 1000;
    w.a.write(id_of(i), "pats_session",
              {{"site", std::string("vic")}, {"participants", std::int64_t{i}}});
  }
  w.la.client().on_local_changes();
  w.la.pump();
  REQUIRE(w.a.acks().size() == 1);  // one push of six cells

  w.notify();
  w.lb.pump();
  CHECK(w.lb.server().behind());
  CHECK(w.b.replica().records().size() == 1);
  int rounds = 0;
  while (w.lb.server().behind() && rounds < 10) {
    w.lb.server().on_changes("team-a");  // havend does this once the last frame is written
    w.lb.pump();
    ++rounds;
  }
  CHECK(rounds == 2);
  CHECK_FALSE(w.lb.server().behind());
  CHECK(w.b.batches().size() == 1 + 3);  // the catch-up batch of the session, then three live ones
  CHECK(w.b.replica().records().size() == 3);
  CHECK(team_view(w.b.replica(), "team-a") == team_view(w.server.merged(), "team-a"));
}

TEST_CASE("live: local changes written while a push is in flight go in the next push",
          "[sync][session][live]") {
  live_devices w;
  w.write_live(w.a, w.la, 1, group_session("vic", 12));
  const std::size_t sent = w.la.sent_by_device().size();
  w.write_live(w.a, w.la, 2,
               group_session("logatec", 3));  // the first push is not acknowledged yet
  CHECK(w.la.sent_by_device().size() == sent);
  w.la.pump();
  CHECK(w.la.sent_by_device().size() == sent + 1);
  CHECK(w.a.acks().size() == 2);
  CHECK(w.a.outbox_cells() == 0);
  CHECK(w.server.merged().records().size() == 2);
  w.la.client().on_local_changes();  // nothing left: nothing sent
  CHECK(w.la.sent_by_device().size() == sent + 1);
}

TEST_CASE("live: one on_local_changes pushes the whole outbox, batch after batch",
          "[sync][session][live]") {
  // session.hpp: "Local changes were written: a live session pushes them."
  // client_session's ack handler only pushes again in state pushing or when
  // pushes_pending_ is set, so a live device sends one batch and leaves the
  // rest of its outbox until the next on_local_changes (the client's poll).
  live_devices w;
  for (std::uint8_t i = 1; i <= 5; ++i) {
    w.time.ms += 1000;
    w.a.write(id_of(i), "pats_session", group_session("vic", i));
  }
  client_session::options opts = w.live_opts();
  opts.max_push_cells = 3;
  connection la(w.a, w.server, opts);
  la.run();
  REQUIRE(la.client().current() == state::live);
  REQUIRE(w.a.outbox_cells() == 0);  // the session's own push phase drained it
  for (std::uint8_t i = 6; i <= 10; ++i) {
    w.time.ms += 1000;
    w.a.write(id_of(i), "pats_session", group_session("vic", i));
  }
  REQUIRE(w.a.outbox_cells() == 15);
  la.client().on_local_changes();
  la.pump();
  CHECK(w.a.outbox_cells() == 0);
  CHECK(w.server.merged().records().size() == 10);
}

// ---------------------------------------------------------------- idempotence

TEST_CASE("a push batch delivered twice changes nothing the second time and is acked the same",
          "[sync][session][idempotence]") {
  scripted_device s;
  s.say_hello();
  const stamp t = at(s.time.ms, 0, 0x99);
  const push_batch batch{
      3,
      {change_of(id_of(1), {make_cell("site", std::string("vic"), t),
                            make_cell("format", std::string("group"), at(s.time.ms, 1, 0x99)),
                            make_cell("participants", std::int64_t{12}, at(s.time.ms, 2, 0x99))})}};
  s.say(batch);
  REQUIRE(s.reply_names() == names{"welcome", "ack"});
  const auto first = decoded_as<push_ack>(s.replies().back());
  CHECK(first.acked_seq == 3);
  const memory_replica merged = s.store.merged();
  const std::uint64_t head = s.store.head();
  CHECK(head == 3);

  s.say(batch);
  CHECK(decoded_as<push_ack>(s.replies().back()) == first);
  CHECK(s.store.merged() == merged);
  CHECK(s.store.head() == head);

  // An older batch resent later does not move the cursor back.
  s.say(
      push_batch{2, {change_of(id_of(1), {batch.changes[0].cells[0], batch.changes[0].cells[1]})}});
  CHECK(decoded_as<push_ack>(s.replies().back()).acked_seq == 3);
  CHECK(s.store.head() == head);
  CHECK(s.session.current() == server_session::state::open);
}

TEST_CASE("a push committed whose ack was lost is not pushed again: the welcome carries the cursor",
          "[sync][session][idempotence]") {
  three_devices w;
  w.a.write(id_of(1), "pats_session", group_session("vic", 12));
  connection first(w.a, w.server);
  first.run(4);  // challenge, hello, welcome, push: the ack is still on the wire
  REQUIRE(first.transcript() == names{"challenge", "hello", "welcome", "push"});
  first.cut();
  CHECK(w.a.acked_seq() == 0);
  CHECK(w.server.devices().at("dev-a").acked_seq == 3);
  const std::uint64_t head = w.server.head();

  connection second(w.a, w.server);
  second.run();
  CHECK(second.transcript() == names{"challenge", "hello", "welcome", "pull", "changes"});
  CHECK(w.a.acked_seq() == 3);
  CHECK(w.server.head() == head);
}

// ---------------------------------------------------------------- cut anywhere, resume

namespace {

// What goes wrong with the session under test, at which delivered frame.
struct fault {
  enum class kind { none, cut, drop, duplicate } what = kind::none;
  std::size_t at = 0;  // frames delivered before it happens
};

// One seeded history of three devices around one session of device a that a
// fault may hit after any number of frames: the connection is cut there, or
// that frame is lost or arrives twice and the session goes on as it can.
// Everything after that session is the same in every run (writes made after
// it create new records, so they do not depend on what a had received).
class fault_world {
 public:
  explicit fault_world(std::uint64_t seed) : rng_(seed) {}

  struct outcome {
    memory_replica a, b, c, server;
    std::uint64_t head = 0, a_acked = 0, server_acked_a = 0;
    std::size_t a_outbox = 0;
    bool operator==(const outcome&) const = default;
  };

  // Runs the history with the fault, then resumes a with a fresh session and
  // lets everyone sync. Returns the frames delivered in the session under
  // test and the end state.
  std::pair<std::size_t, outcome> run(fault f) {
    manual_time time;
    central server(time);
    device a{"dev-a", "team-a", 0xa1, time}, b{"dev-b", "team-a", 0xb2, time},
        c{"dev-c", "team-b", 0xc3, time};
    std::mt19937_64 rng = rng_;
    auto some = [&](int lo, int hi) {
      return lo + static_cast<int>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
    };

    writes(a, time, rng, some(2, 5), true);
    writes(b, time, rng, some(2, 5), true);
    writes(c, time, rng, some(1, 3), true);
    sync_once(b, server);
    sync_once(c, server);
    sync_once(a, server);
    writes(a, time, rng, some(2, 8), true);
    writes(b, time, rng, some(1, 5), true);
    sync_once(b, server);

    client_session::options opts;
    opts.max_push_cells = static_cast<std::size_t>(some(1, 4));
    opts.max_pull_cells = static_cast<std::uint32_t>(some(1, 4));
    std::size_t frames = 0;
    {
      connection link(a, server, opts);
      using kind = fault::kind;
      frames = link.run(f.what == kind::none ? std::numeric_limits<std::size_t>::max() : f.at);
      if (f.what == kind::cut) link.cut();
      if (f.what == kind::drop && !link.line().queue().empty()) link.drop();
      if (f.what == kind::duplicate && !link.line().queue().empty()) link.duplicate();
      frames += link.pump();
      if (server.devices().at("dev-a").acked_seq > a.acked_seq()) ++acks_lost;
      // However it ended, it ended cleanly: done, refused as a protocol
      // error, or waiting for a frame that will not come.
      const auto ended = link.client().current();
      if (ended == state::failed) {
        CHECK(link.client().failure_reason()->code == errc::protocol);
        ++sessions_failed;
      }
      if (f.what == kind::none) REQUIRE(ended == state::done);
      for (const auto& c : cells_sent_down(link)) CHECK(c.at.node != a.node());
      if (link.server().current() == server_session::state::closed &&
          !link.server().refusal().empty())
        CHECK_THAT(link.server().refusal(), Contains("hello"));
    }
    writes(a, time, rng, some(0, 2), false);
    sync_once(a, server, opts);  // resumes from the cursors
    for (device* d : {&b, &c, &a, &b, &c}) sync_once(*d, server);

    // Converged: every device holds its team's part of the server's state.
    CHECK(team_view(a.replica(), "team-a") == team_view(server.merged(), "team-a"));
    CHECK(b.replica() == a.replica());
    CHECK(team_view(c.replica(), "team-b") == team_view(server.merged(), "team-b"));
    return {frames,
            outcome{a.replica(), b.replica(), c.replica(), server.merged(), server.head(),
                    a.acked_seq(), server.devices().at("dev-a").acked_seq, a.outbox_cells()}};
  }

  std::size_t acks_lost = 0;        // sessions that left a commit unacknowledged
  std::size_t sessions_failed = 0;  // sessions the client ended with a protocol error

 private:
  // n writes by d: new records, and (if `edits`) edits and deletions of
  // records it holds. Time moves a second before each, so stamps do not
  // depend on what the device has observed.
  static void writes(device& d, manual_time& time, std::mt19937_64& rng, int n, bool edits) {
    static const std::vector<std::pair<std::string, std::vector<value>>> pool = {
        {"site", {std::string("vic"), std::string("logatec"), std::string("postojna")}},
        {"format", {std::string("group"), std::string("individual")}},
        {"participants", {std::int64_t{1}, std::int64_t{12}, std::int64_t{40}, value{}}},
        {"date", {from_civil(2026, 3, 1), from_civil(2026, 4, 2)}},
        {"topics.thb", {true, false}},
        {"topics.gbv", {true, false}},
    };
    for (int i = 0; i < n; ++i) {
      time.ms += 1000;
      std::vector<record_id> live;
      for (const auto& [id, rec] : d.replica().records())
        if (!rec.deleted && rec.team == d.team()) live.push_back(id);
      const int roll = static_cast<int>(rng() % 100);
      const bool edit = edits && !live.empty() && roll < 50;
      const record_id id = edit ? live[rng() % live.size()] : random_id(rng);
      if (edit && roll < 10) {
        d.remove(id, "pats_session");
        continue;
      }
      fields f;
      for (int k = 1 + static_cast<int>(rng() % 4); k > 0; --k) {
        const auto& [key, values] = pool[rng() % pool.size()];
        f.emplace_back(key, values[rng() % values.size()]);
      }
      d.write(id, "pats_session", f);
    }
  }

  std::mt19937_64 rng_;
};

}  // namespace

TEST_CASE(
    "a session cut, or with a frame lost or doubled, after any number of frames and then "
    "resumed ends as if nothing happened",
    "[sync][session][property]") {
  using kind = fault::kind;
  const kind what = GENERATE(kind::cut, kind::drop, kind::duplicate);
  CAPTURE(static_cast<int>(what));
  std::size_t runs = 0, lost_acks = 0, failed = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    fault_world world(seed);
    const auto [frames, expected] = world.run({});
    REQUIRE(frames >= 4);
    for (std::size_t at = 0; at <= frames; ++at) {
      CAPTURE(at);
      const auto [delivered, got] = world.run({what, at});
      if (what == kind::cut) CHECK(delivered == at);
      REQUIRE(got.server == expected.server);
      REQUIRE(got.a == expected.a);
      REQUIRE(got.b == expected.b);
      REQUIRE(got.c == expected.c);
      CHECK(got.head == expected.head);  // nothing was merged twice
      CHECK(got.a_acked == expected.a_acked);
      CHECK(got.server_acked_a == expected.server_acked_a);
      CHECK(got.a_outbox == 0);
      ++runs;
    }
    lost_acks += world.acks_lost;
    failed += world.sessions_failed;
  }
  INFO("runs " << runs << ", sessions that left a commit unacknowledged " << lost_acks
               << ", sessions refused by the client " << failed);
  CHECK(runs > 400);
  if (what != kind::duplicate) CHECK(lost_acks > 40);
  if (what == kind::duplicate) CHECK(failed > 0);
}

// ---------------------------------------------------------------- out of order and malformed

TEST_CASE("the server refuses out-of-order and malformed frames with a protocol error frame",
          "[sync][session][refusal]") {
  scripted_device s;
  const push_batch empty_push{};
  SECTION("push before hello (a compact one is refused before it is decoded)") {
    s.say(empty_push);
    check_protocol_refusal(s, "a protocol version 3 frame before hello");
  }
  SECTION("push before hello, in version 2") {
    s.session.on_frame(encode(empty_push, frame_limits{}, oldest_protocol_version));
    check_protocol_refusal(s, "push before hello");
  }
  SECTION("pull before hello") {
    s.say(pull_request{0, 10});
    check_protocol_refusal(s, "pull before hello");
  }
  SECTION("a second hello") {
    s.say_hello();
    s.say_hello();
    CHECK(s.reply_names() == names{"welcome", "error"});
    check_protocol_refusal(s, "second hello");
  }
  SECTION("a welcome from a device") {
    s.say_hello();
    s.say(welcome{});
    check_protocol_refusal(s, "unexpected welcome frame from a device");
  }
  SECTION("an ack from a device") {
    s.say_hello();
    s.say(push_ack{1});
    check_protocol_refusal(s, "unexpected ack");
  }
  SECTION("changes from a device") {
    s.say_hello();
    s.say(change_batch{});
    check_protocol_refusal(s, "unexpected changes");
  }
  SECTION("garbage bytes") {
    s.session.on_frame(std::string("\xff\x01garbage", 9));
    check_protocol_refusal(s, "");
  }
  SECTION("an empty frame") {
    s.session.on_frame("");
    check_protocol_refusal(s, "");
  }
  SECTION("a truncated push after hello") {
    s.say_hello();
    const std::string frame = sync::encode(
        push_batch{1, {change_of(id_of(1), {make_cell("site", std::string("vic"), at(1, 0, 1))})}});
    s.session.on_frame(std::string_view(frame).substr(0, frame.size() - 1));
    check_protocol_refusal(s, "");
    CHECK(s.store.head() == 0);
  }
  SECTION("a hello without a device id") {
    s.say(hello{protocol_version, "", "team-a", 1, 1, 0, 0, s.nonce});
    check_protocol_refusal(s, "device id");
    CHECK(s.store.devices().empty());
  }
  SECTION("a hello with an invalid team") {
    s.say(hello{protocol_version, "dev-x", "Team A", 1, 1, 0, 0, s.nonce});
    check_protocol_refusal(s, "invalid team");
    CHECK(s.store.devices().empty());
  }
  SECTION("another protocol version") {
    s.say(hello{protocol_version + 1, "dev-x", "team-a", 1, 1, 0, 0, s.nonce});
    check_protocol_refusal(
        s, "protocol version " + std::to_string(protocol_version + 1) + " is not supported");
    CHECK(s.store.devices().empty());  // refused before the backend heard of it
  }
}

TEST_CASE("a device's error frame ends the server session quietly", "[sync][session][refusal]") {
  scripted_device s;
  s.say_hello();
  s.say(error_frame{static_cast<std::uint16_t>(errc::unavailable), "the user cancelled"});
  CHECK(s.session.current() == server_session::state::closed);
  CHECK(s.session.refusal().empty());
  CHECK(s.line.server_end().closed());
  CHECK(s.reply_names() == names{"welcome"});
}

TEST_CASE("the client refuses out-of-order and malformed frames from the server",
          "[sync][session][refusal]") {
  scripted_server s;
  s.d.write(id_of(1), "pats_session", group_session("vic", 12));
  s.start();
  REQUIRE(s.session.current() == state::greeting);
  SECTION("changes before the welcome") {
    s.say(change_batch{});
    check_client_failed(s, errc::protocol, "unexpected changes");
  }
  SECTION("an ack before any push") {
    s.say(push_ack{1});
    check_client_failed(s, errc::protocol, "unexpected ack");
  }
  SECTION("an ack without a push in flight") {
    s.say(s.greeting());
    REQUIRE(s.session.current() == state::pushing);
    s.say(push_ack{3});
    REQUIRE(s.session.current() == state::pulling);
    s.say(push_ack{3});
    check_client_failed(s, errc::protocol, "unexpected ack");
    CHECK(s.d.acks().size() == 1);
  }
  SECTION("a second welcome") {
    s.say(s.greeting());
    s.say(s.greeting());
    check_client_failed(s, errc::protocol, "unexpected welcome");
  }
  SECTION("frames only a device sends") {
    const message m = GENERATE(message{hello{}}, message{push_batch{}}, message{pull_request{}});
    s.say(m);
    check_client_failed(s, errc::protocol, "the server sent an unexpected");
  }
  SECTION("garbage bytes") {
    s.session.on_frame("\x42garbage");
    check_client_failed(s, errc::protocol, "");
  }
  SECTION("another protocol version") {
    welcome w = s.greeting();
    w.version = protocol_version + 1;
    s.say(w);
    check_client_failed(s, errc::protocol,
                        "the server's welcome names protocol version " +
                            std::to_string(protocol_version + 1) + ", not the " +
                            std::to_string(protocol_version) + " of the hello");
    CHECK(s.d.welcomes().empty());
  }
  // Nothing more happens once failed.
  const std::size_t sent = s.line.device_end().sent.size();
  s.say(s.greeting());
  CHECK(s.session.current() == state::failed);
  CHECK(s.line.device_end().sent.size() == sent);
}

TEST_CASE("the client tells the server why it refused a frame", "[sync][session][refusal]") {
  // protocol.hpp: an error_frame ends the session from "either side", and
  // server_session handles one from a device; but client_session::fail()
  // only closes the transport, so the server never learns why.
  scripted_server s;
  s.start();
  s.say(push_ack{1});
  REQUIRE(s.session.current() == state::failed);
  REQUIRE(name_of(s.line.device_end().sent.back()) == "error");
  CHECK(decoded_as<error_frame>(s.line.device_end().sent.back()).code ==
        static_cast<std::uint16_t>(errc::protocol));
}

TEST_CASE("an error frame from the server fails the client with its code and message",
          "[sync][session][refusal]") {
  scripted_server s;
  s.d.write(id_of(1), "pats_session", group_session("vic", 12));
  s.start();
  s.say(s.greeting());
  REQUIRE(s.session.current() == state::pushing);
  s.say(error_frame{static_cast<std::uint16_t>(errc::clock_skew),
                    "refused: the sending device's clock is 3 days ahead"});
  check_client_failed(s, errc::clock_skew, "refused: the sending device's clock is 3 days ahead");
  CHECK(s.session.failure_reason()->message ==
        "refused: the sending device's clock is 3 days ahead");
  CHECK(s.d.acked_seq() == 0);
}

// ---------------------------------------------------------------- backend failures

TEST_CASE("a device clock too far ahead is refused with clock_skew and how far",
          "[sync][session][skew]") {
  manual_time time;
  central server(time);
  const std::int64_t days3 = 3LL * 24 * 3600 * 1000;
  device ahead{"dev-a", "team-a", 0xa1, time, days3};
  ahead.write(id_of(1), "pats_session", group_session("vic", 12));

  connection link(ahead, server);
  link.run();
  CHECK(link.transcript() == names{"challenge", "hello", "welcome", "push", "error"});
  const auto e = decoded_as<error_frame>(link.sent_by_server().back());
  CHECK(e.code == static_cast<std::uint16_t>(errc::clock_skew));
  CHECK_THAT(e.message, Contains("3 days ahead"));
  CHECK(link.server().current() == server_session::state::closed);
  CHECK(link.server().refusal() == e.message);
  CHECK(link.client().current() == state::failed);
  REQUIRE(link.client().failure_reason());
  CHECK(link.client().failure_reason()->code == errc::clock_skew);
  CHECK(link.client().failure_reason()->message == e.message);
  CHECK(server.head() == 0);
  CHECK(ahead.acked_seq() == 0);
  CHECK(ahead.outbox_cells() == 3);

  SECTION("within the allowed skew it is accepted") {
    device slightly_ahead{"dev-b", "team-a", 0xb2, time, 4 * 60 * 1000};
    slightly_ahead.write(id_of(2), "pats_session", group_session("vic", 1));
    sync_once(slightly_ahead, server);
    CHECK(server.head() == 3);
  }
}

TEST_CASE("backend failures end the server session with an error frame carrying their code",
          "[sync][session][refusal]") {
  scripted_device s;
  SECTION("a refusal at admission") {
    s.store.fault = [](const char* what) {
      if (std::string(what) == "admit")
        throw failure(errc::unavailable, "the server is busy; try again later");
    };
    s.say_hello();
    REQUIRE(s.reply_names() == names{"error"});
    const auto e = decoded_as<error_frame>(s.replies().back());
    CHECK(e.code == static_cast<std::uint16_t>(errc::unavailable));
    CHECK(e.message == "the server is busy; try again later");
  }
  SECTION("any other exception is an internal error") {
    s.store.fault = [](const char* what) {
      if (std::string(what) == "pull") throw std::runtime_error("disk on fire");
    };
    s.say_hello();
    s.say(pull_request{0, 10});
    REQUIRE(s.reply_names() == names{"welcome", "error"});
    const auto e = decoded_as<error_frame>(s.replies().back());
    CHECK(e.code == static_cast<std::uint16_t>(errc::internal));
    CHECK(e.message == "internal error: disk on fire");
  }
  SECTION("a message too long for a frame is shortened, not lost") {
    s.store.fault = [](const char* what) {
      if (std::string(what) == "push") throw failure(errc::invalid_input, std::string(1000, 'x'));
    };
    s.say_hello();
    s.say(push_batch{});
    const auto e = decoded_as<error_frame>(s.replies().back());
    CHECK(e.code == static_cast<std::uint16_t>(errc::invalid_input));
    CHECK(e.message == std::string(sync::frame_limits{}.max_text_bytes, 'x'));
  }
  SECTION("fail() from outside, e.g. at shutdown; only once") {
    s.say_hello();
    s.session.fail(errc::unavailable, "havend is shutting down");
    s.session.fail(errc::internal, "again");
    REQUIRE(s.reply_names() == names{"welcome", "error"});
    CHECK(decoded_as<error_frame>(s.replies().back()).message == "havend is shutting down");
  }
  CHECK(s.session.current() == server_session::state::closed);
  CHECK(s.line.server_end().closed());
}

TEST_CASE("a shutdown of the server fails a live client with the reason", "[sync][session][live]") {
  live_devices w;
  w.lb.server().fail(errc::unavailable, "havend is shutting down");
  w.lb.pump();
  CHECK(w.lb.client().current() == state::failed);
  REQUIRE(w.lb.client().failure_reason());
  CHECK(w.lb.client().failure_reason()->code == errc::unavailable);
  CHECK(w.lb.client().failure_reason()->message == "havend is shutting down");
}

TEST_CASE("device backend failures fail the client session with their code",
          "[sync][session][refusal]") {
  three_devices w;
  w.b.write(id_of(1), "pats_session", group_session("vic", 12));
  sync_once(w.b, w.server);
  connection link(w.a, w.server);
  SECTION("a haven failure keeps its code") {
    w.a.fault = [](const char* what) {
      if (std::string(what) == "received") throw failure(errc::store, "disk full");
    };
    link.run();
    REQUIRE(link.client().failure_reason());
    CHECK(link.client().failure_reason()->code == errc::store);
    CHECK(link.client().failure_reason()->message == "disk full");
  }
  SECTION("another exception is internal") {
    w.a.fault = [](const char* what) {
      if (std::string(what) == "welcomed") throw std::runtime_error("bad schema");
    };
    link.run();
    REQUIRE(link.client().failure_reason());
    CHECK(link.client().failure_reason()->code == errc::internal);
  }
  CHECK(link.client().current() == state::failed);
  CHECK(w.a.replica().records().empty());
}

TEST_CASE("device backend exceptions outside on_frame fail the session too",
          "[sync][session][refusal]") {
  // on_local_changes() and on_frame() turn any std::exception into
  // errc::internal. A std::exception from greeting() or next_push() must not
  // escape to the caller.
  SECTION("greeting() on the challenge") {
    manual_time time;
    central server(time);
    device a{"dev-a", "team-a", 0xa1, time};
    connection link(a, server);
    a.fault = [](const char* what) {
      if (std::string(what) == "greeting") throw std::runtime_error("cannot read the store");
    };
    CHECK_NOTHROW(link.run());
    CHECK(link.client().current() == state::failed);
  }
  SECTION("next_push() of a live session") {
    live_devices w;
    w.a.fault = [](const char* what) {
      if (std::string(what) == "next_push") throw std::runtime_error("cannot read the outbox");
    };
    CHECK_NOTHROW(w.write_live(w.a, w.la, 1, group_session("vic", 12)));
    CHECK(w.la.client().current() == state::failed);
  }
}

// ---------------------------------------------------------------- identity and wipe

TEST_CASE(
    "a session over TLS asks the device to sign the channel binding, and hands it to the backend",
    "[sync][session][auth]") {
  three_devices w;
  const std::string binding(32, '\xb1');
  for (const bool tls : {false, true}) {
    INFO((tls ? "TLS" : "plain"));
    device d{"dev-d", "team-a", 0xd4, w.time};
    wire line;
    server_session s(w.server, line.server_end(), {}, "192.0.2.7", tls ? binding : "");
    s.start();
    const auto c = decoded_as<sync::challenge>(line.server_end().sent.at(0));
    CHECK(c.channel_bound == tls);
    s.on_frame(sync::encode(d.greeting(c)));
    CHECK(names{name_of(line.server_end().sent.at(1))} == names{"welcome"});
    REQUIRE_FALSE(w.server.handshakes.empty());
    const auto& hs = w.server.handshakes.back();
    CHECK(hs.nonce == c.nonce);
    CHECK(hs.address == "192.0.2.7");
    CHECK(hs.channel_binding == (tls ? binding : ""));
  }
}

TEST_CASE("a hello that answers another connection's challenge is refused before data moves",
          "[sync][session][auth]") {
  three_devices w;
  w.a.write(id_of(1), "pats_session", group_session("vic", 12));
  connection first(w.a, w.server);
  first.run(2);  // challenge, hello
  const std::string captured_hello = first.sent_by_device().at(0);

  // An attacker replays the captured hello on a new connection.
  wire line;
  server_session replay(w.server, line.server_end());
  replay.start();
  replay.on_frame(captured_hello);
  REQUIRE(line.server_end().sent.size() == 2);
  const auto e = decoded_as<error_frame>(line.server_end().sent.back());
  CHECK(e.code == static_cast<std::uint16_t>(errc::unauthorized));
  CHECK(replay.current() == server_session::state::closed);
  CHECK(w.server.head() == 0);
}

TEST_CASE("a retired device pushes everything, then is told to wipe and confirms",
          "[sync][session][wipe]") {
  three_devices w;
  w.a.write(id_of(1), "pats_session", group_session("vic", 12));
  w.a.write(id_of(2), "pats_session", group_session("logatec", 3));
  w.server.wipe_orders["dev-a"] = sync::standing::retired;
  connection link(w.a, w.server);
  link.run();
  CHECK(link.transcript() ==
        names{"challenge", "hello", "welcome", "push", "ack", "pull", "wipe order", "wipe done"});
  CHECK(link.client().current() == state::wiped);
  CHECK(link.client().wipe_reason() == sync::standing::retired);
  CHECK(w.a.wiped() == sync::standing::retired);
  CHECK(w.a.replica().records().empty());
  CHECK(team_view(w.server.merged(), "team-a").size() == 2);  // nothing was lost
  CHECK(w.server.wipe_confirmations == std::vector<std::string>{"dev-a"});
  CHECK(link.server().current() == server_session::state::closed);
}

TEST_CASE("a revoked device is told to wipe instead of welcomed, and pushes nothing",
          "[sync][session][wipe]") {
  three_devices w;
  w.a.write(id_of(1), "pats_session", group_session("vic", 12));
  w.server.wipe_orders["dev-a"] = sync::standing::revoked;
  connection link(w.a, w.server);
  link.run();
  CHECK(link.transcript() == names{"challenge", "hello", "wipe order", "wipe done"});
  CHECK(link.client().current() == state::wiped);
  CHECK(w.a.replica().records().empty());
  CHECK(w.server.head() == 0);
  CHECK(w.server.devices().count("dev-a") == 0);
  CHECK(w.server.wipe_confirmations == std::vector<std::string>{"dev-a"});
}

TEST_CASE("wipe frames out of place are protocol errors", "[sync][session][wipe]") {
  SECTION("a wipe confirmation the server did not ask for") {
    scripted_device s;
    s.say_hello();
    s.say(sync::wipe_done{});
    check_protocol_refusal(s, "without a wipe order");
    CHECK(s.store.wipe_confirmations.empty());
  }
  SECTION("a wipe order before the hello") {
    scripted_server s;
    s.session.start();
    s.say(sync::wipe_order{sync::standing::revoked});
    check_client_failed(s, errc::protocol, "unexpected wipe order");
    CHECK(s.d.wiped() == sync::standing::active);
  }
  SECTION("a device that cannot wipe says why and stays failed") {
    scripted_server s;
    s.d.write(id_of(1), "pats_session", group_session("vic", 12));
    s.start();
    s.say(sync::wipe_order{sync::standing::retired});  // with changes unsent
    check_client_failed(s, errc::invalid_input, "unsent");
    CHECK(s.d.wiped() == sync::standing::active);
    CHECK(s.d.outbox_cells() == 3);
  }
}

// Delivers the frames on the line, each to the other end, until none is
// left (at most 100).
static void deliver_all(wire& line, client_session& client, server_session& session) {
  for (int steps = 0; steps < 100 && !line.queue().empty(); ++steps) {
    auto f = std::move(line.queue().front());
    line.queue().pop_front();
    if (f.from == wire::side::device)
      session.on_frame(f.bytes);
    else
      client.on_frame(f.bytes);
  }
}

TEST_CASE("a device pushes no more records per batch than the server's welcome allows",
          "[sync][session][limits]") {
  manual_time time;
  central server(time);
  device a{"dev-a", "team-a", 0xa1, time};
  for (int i = 1; i <= 5; ++i) a.write(id_of(i), "pats_session", group_session("vic", i));
  sync::frame_limits strict;
  strict.max_records = 2;
  wire line;
  client_session client(a, line.device_end());  // the device's own limit: the default
  server_session session(server, line.server_end(), strict);
  client.start();
  session.start();
  deliver_all(line, client, session);
  CHECK(client.current() == state::done);
  CHECK(decoded_as<welcome>(line.server_end().sent.at(1)).max_batch_records == 2);
  CHECK(a.next_push_records.front() == 2);
  CHECK(client.progress().batches_up == 3);  // 2 + 2 + 1 records
  CHECK(team_view(server.merged(), "team-a").size() == 5);
}

TEST_CASE("a server with a smaller frame limit offers fewer records per push batch",
          "[sync][session][limits]") {
  manual_time time;
  central server(time);
  device a{"dev-a", "team-a", 0xa1, time};
  a.write(id_of(1), "pats_session", group_session("vic", 1));
  sync::frame_limits small;
  small.max_frame_bytes = 65536;  // havend's smallest --max-frame-bytes
  wire line;
  client_session client(a, line.device_end());
  server_session session(server, line.server_end(), small);
  client.start();
  session.start();
  deliver_all(line, client, session);
  CHECK(client.current() == state::done);
  CHECK(decoded_as<welcome>(line.server_end().sent.at(1)).max_batch_records == 32);
}

TEST_CASE(
    "a device revoked while connected is told to wipe at its next step, and nothing more is taken",
    "[sync][session][wipe]") {
  live_devices w;  // a and b (team-a) and c are live
  const std::uint64_t head = w.server.head();
  w.server.wipe_orders["dev-a"] = sync::standing::revoked;
  SECTION("its next push") {
    w.write_live(w.a, w.la, 1, group_session("vic", 12));
    CHECK(w.server.head() == head);  // the push was not applied
  }
  SECTION("a live batch for its team") {
    w.write_live(w.b, w.lb, 2, group_session("logatec", 4));
    w.lb.pump();
    w.notify();
    w.pump_all();
    CHECK(w.a.replica().records().empty());  // b's record never reached it
  }
  w.la.pump();
  CHECK(w.la.client().current() == state::wiped);
  CHECK(w.la.client().wipe_reason() == sync::standing::revoked);
  CHECK(w.server.wipe_confirmations == std::vector<std::string>{"dev-a"});
}

TEST_CASE("a device retired while live is told to wipe with its next live batch, after its pushes",
          "[sync][session][wipe]") {
  live_devices w;
  w.write_live(w.a, w.la, 1, group_session("vic", 12));  // pushed while still active
  w.la.pump();
  w.server.wipe_orders["dev-a"] = sync::standing::retired;
  w.write_live(w.b, w.lb, 2, group_session("logatec", 4));
  w.lb.pump();
  w.notify();
  w.pump_all();
  CHECK(w.la.client().current() == state::wiped);
  CHECK(w.la.client().wipe_reason() == sync::standing::retired);
  CHECK(team_view(w.server.merged(), "team-a").count(id_of(1)) ==
        1);  // its work reached the server
}

// ---------------------------------------------------------------- versions

namespace {

// The protocol version of every frame `frames` holds of kind `name`.
std::vector<std::uint32_t> versions_of(const std::vector<std::string>& frames,
                                       const std::string& name) {
  std::vector<std::uint32_t> out;
  for (const auto& f : frames)
    if (name_of(f) == name) out.push_back(frame_version(f));
  return out;
}

void check_same_team_view(three_devices& w) {
  CHECK(team_view(w.a.replica(), "team-a") == team_view(w.b.replica(), "team-a"));
  CHECK(team_view(w.a.replica(), "team-a") == team_view(w.server.merged(), "team-a"));
}

}  // namespace

TEST_CASE("a device and a server of version 3 send their batches as version 3 frames",
          "[sync][session][version]") {
  three_devices w;
  w.b.write(id_of(2), "pats_session", group_session("vic", 3));
  sync_once(w.b, w.server);
  w.a.write(id_of(1), "pats_session", group_session("koper", 12));
  connection link(w.a, w.server);
  link.run();
  REQUIRE(link.client().current() == state::done);
  CHECK(link.client().version() == 3);
  CHECK(link.server().version() == 3);
  CHECK(decoded_as<sync::challenge>(link.sent_by_server().at(0)).version == 3);
  CHECK(versions_of(link.sent_by_device(), "push") == std::vector<std::uint32_t>{3});
  CHECK(versions_of(link.sent_by_server(), "changes") == std::vector<std::uint32_t>{3});
  sync_once(w.b, w.server);
  check_same_team_view(w);
}

TEST_CASE("a version 3 server serves a device of version 2 in version 2, and they converge",
          "[sync][session][version]") {
  three_devices w;
  client_session::options old;
  old.max_protocol = 2;  // announces nothing, as that release did
  for (int round = 0; round < 2; ++round) {
    w.a.write(id_of(static_cast<std::uint8_t>(1 + round)), "pats_session",
              group_session("vic", round));
    w.b.write(id_of(static_cast<std::uint8_t>(10 + round)), "pats_session",
              group_session("koper", round));
    connection a(w.a, w.server, old);
    a.run();
    REQUIRE(a.client().current() == state::done);
    CHECK(a.server().version() == 2);
    CHECK(decoded_as<sync::challenge>(a.sent_by_server().at(0)).version == 2);
    CHECK(decoded_as<welcome>(a.sent_by_server().at(1)).version == 2);
    for (const auto& f : a.sent_by_server()) CHECK(frame_version(f) == 2);
    for (const auto& f : a.sent_by_device()) CHECK(frame_version(f) == 2);
    connection b(w.b, w.server);
    b.run();
    REQUIRE(b.client().current() == state::done);
    CHECK(b.server().version() == 3);
  }
  sync_once(w.a, w.server, old);
  check_same_team_view(w);
  CHECK(team_view(w.a.replica(), "team-a").size() == 4);
}

TEST_CASE("a device of version 3 speaks version 2 to a server of version 2",
          "[sync][session][version]") {
  three_devices w;
  w.a.write(id_of(1), "pats_session", group_session("vic", 12));
  w.b.write(id_of(2), "pats_session", group_session("koper", 3));
  for (device* d : {&w.a, &w.b, &w.a}) {
    connection link(*d, w.server);
    link.server().max_protocol = 2;
    link.run();
    REQUIRE(link.client().current() == state::done);
    CHECK(link.client().version() == 2);
    for (const auto& f : link.sent_by_device()) CHECK(frame_version(f) == 2);
  }
  check_same_team_view(w);
}

TEST_CASE("a session refuses a hello above the announced version and frames above its own",
          "[sync][session][version][refusal]") {
  manual_time time;
  central store{time};
  wire line;
  server_session session{store, line.server_end()};
  session.start(2);  // the device announced no version
  const std::string nonce = decoded_as<sync::challenge>(line.server_end().sent.at(0)).nonce;
  auto last_error = [&] { return decoded_as<error_frame>(line.server_end().sent.back()).message; };
  SECTION("a hello of version 3 after a challenge of version 2") {
    session.on_frame(encode(hello{3, "dev-x", "team-a", 0x99, 1, 0, 0, nonce}));
    CHECK(last_error() ==
          "protocol version 3 is not supported (this server speaks 2 to 2 with this device); "
          "update the app");
    CHECK(store.devices().empty());
  }
  SECTION("a version 3 push in a version 2 session") {
    session.on_frame(encode(hello{2, "dev-x", "team-a", 0x99, 1, 0, 0, nonce}));
    REQUIRE(session.version() == 2);
    session.on_frame(encode(push_batch{1, {change_of(id_of(1), {deletion(at(1, 0, 0x99))})}}));
    CHECK(last_error() == "a protocol version 3 frame in a version 2 session");
    CHECK(store.head() == 0);
  }
  CHECK(session.current() == server_session::state::closed);
}

TEST_CASE("a device of version 2 refuses version 3 frames, as that release does",
          "[sync][session][version][refusal]") {
  manual_time time;
  device d{"dev-a", "team-a", 0xa1, time};
  wire line;
  client_session::options old;
  old.max_protocol = 2;
  client_session session{d, line.device_end(), old};
  session.start();
  session.on_frame(encode(sync::challenge{3, "nonce-0000000000000001"}));
  REQUIRE(session.version() == 2);
  CHECK(decoded_as<hello>(line.device_end().sent.at(0)).version == 2);
  welcome w;
  w.version = 2;
  w.schema_version = 1;
  session.on_frame(encode(w, {}, 2));
  session.on_frame(encode(change_batch{1, false, {}}));
  CHECK(session.current() == state::failed);
  CHECK(session.failure_reason()->message == "a protocol version 3 frame in a version 2 session");
}

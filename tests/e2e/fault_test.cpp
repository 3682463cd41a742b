// Faults during sync with a real havend: the server killed with SIGKILL in
// the middle of pushes, a connection cut inside a batch, a `haven sync`
// killed mid-sync. After the devices sync again nothing is lost, nothing is
// counted twice (the tally equals a recomputation from scratch), and every
// outbox is empty.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <haven/sqlite/sqlite.hpp>
#include <haven/sync/protocol.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "../support/cutting_proxy.hpp"
#include "sync_fixture.hpp"

namespace haven::test {
namespace {

using direction = cutting_proxy::direction;

// A random number in [lo, hi] from the test's seeded generator.
int uniform(field_work& work, int lo, int hi) {
  return lo + work.pick(hi - lo + 1);
}

// Adds `count` random records to the device in one transaction; returns their ids.
std::vector<std::string> import(device& d, field_work& work, int count) {
  std::vector<client::record_input> inputs;
  for (int i = 0; i < count; ++i) inputs.push_back(work.new_record());
  auto ids = d.db->add_all(inputs);
  REQUIRE(ids.ok());
  std::vector<std::string> out;
  for (const auto& id : ids.value()) out.push_back(id.hex());
  return out;
}

using created_map =
    std::map<device*, std::vector<std::string>>;  // the ids of the records each device made

// Two devices of `team`: the first holds 1500 records already on the server,
// the second (returned) holds `own` new records and has not synced yet.
device& device_behind(sync_fixture& f, field_work& work, const std::string& team, int own,
                      created_map& created) {
  device& a = f.add_device(team);
  device& b = f.add_device(team);
  created[&a] = import(a, work, 1500);
  REQUIRE(f.sync(a).ok());  // b will pull these
  created[&b] = import(b, work, own);
  return b;
}

// The ids of the records havend holds for `team`, as a fresh device pulls them.
std::set<std::string> server_ids(sync_fixture& f, const std::string& team) {
  static int witnesses = 0;
  device witness{"witness", team, nullptr};
  witness.db =
      client::store::create(f.dir().file("witness" + std::to_string(++witnesses) + ".db"), team)
          .value();
  auto pulled = f.sync(witness);
  REQUIRE(pulled.ok());
  auto records = witness.db->list();
  REQUIRE(records.ok());
  std::set<std::string> ids;
  for (const auto& r : records.value()) ids.insert(r.id.hex());
  return ids;
}

// The end state every fault test must reach once everyone synced again.
void check_recovered(sync_fixture& f, const created_map& created) {
  f.sync_everyone();
  f.check_teams_agree();
  f.check_tallies();
  for (auto& d : f.devices()) {
    INFO(d->name);
    CHECK(d->db->status()->pending_cells == 0);
  }
  // Every record each device created is on the server.
  std::map<std::string, std::set<std::string>> held;  // by team
  for (const auto& [d, ids] : created) {
    if (!held.count(d->team)) held[d->team] = server_ids(f, d->team);
    std::size_t missing = 0;
    for (const auto& id : ids) missing += held[d->team].count(id) == 0;
    INFO(d->name << ": " << missing << " of its " << ids.size()
                 << " records are not on the server");
    CHECK(missing == 0);
  }
}

// A failed sync must say what happened and that nothing is lost.
void check_unavailable(const result<client::sync_summary>& r) {
  REQUIRE_FALSE(r.ok());
  INFO(r.err().describe());
  CHECK(r.err().code == errc::unavailable);
  CHECK(r.err().message.find("sync again") != std::string::npos);
}

// A sync that the test will cut off. Its timeouts are short because sync_now
// returns only when the WebSocket's timer fires after a lost connection:
// connect_timeout during the handshake, idle_timeout / 2 later (see the
// report on client-core/src/sync_client.cpp, connection::lost()).
result<client::sync_summary> sync_to_be_cut(
    device& d, const std::string& url, std::chrono::seconds idle,
    std::function<void(const sync::sync_progress&)> on_progress = {}) {
  client::sync_options o;
  o.server_url = url;
  o.connect_timeout = std::chrono::seconds(1);
  o.idle_timeout = idle;
  o.on_progress = std::move(on_progress);
  o.max_push_cells = 4000;  // a device's 1,500 records in several batches, to cut between
  return client::sync_now(*d.db, o);
}

std::string integrity(const std::string& db) {
  sqlite::database conn(db, sqlite::database::mode::open_existing);
  sqlite::statement st(conn, "PRAGMA integrity_check");
  REQUIRE(st.step());
  return st.text(0);
}

TEST_CASE(
    "havend killed with SIGKILL during pushes from several devices loses nothing and counts "
    "nothing twice",
    "[e2e][fault]") {
  // Three kill points: while a device's first, second or third push batch is
  // on its way (the batches before it acknowledged, so committed).
  const struct {
    unsigned seed;
    std::size_t batch;
  } runs[] = {{1, 1}, {2, 2}, {3, 3}};
  for (const auto& point : runs) {
    const std::size_t batch = point.batch;
    INFO("seed " << point.seed << ", killed with push batch " << batch << " in flight");
    sync_fixture f;
    field_work work(point.seed);
    created_map created;
    for (const char* team : {"outreach", "outreach", "crisis"}) {
      device& d = f.add_device(team);
      created[&d] = import(d, work, 1500);
    }

    // Every device pushes at once, each from its own thread with its own
    // store. The first to send its push batch number `batch` waits in its
    // progress callback until havend is dead, so that batch is in flight
    // when the kill lands.
    std::mutex m;
    std::condition_variable cv;
    std::optional<std::size_t> holder;  // guarded by m: the device that waits for the kill
    std::size_t finished = 0;           // guarded by m
    bool killed = false;                // guarded by m
    std::vector<std::optional<result<client::sync_summary>>> results(f.devices().size());
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < f.devices().size(); ++i)
      threads.emplace_back([&, i] {
        // A generous idle timeout: the kill ends every connection at once
        // (the kernel resets them), and under the sanitizers a push batch
        // with its tally update can take seconds.
        auto r = sync_to_be_cut(*f.devices()[i], f.server().sync_url(), std::chrono::seconds(60),
                                [&, i](const sync::sync_progress& p) {
                                  if (p.batches_up != batch) return;
                                  std::unique_lock lock(m);
                                  if (holder) return;
                                  holder = i;
                                  cv.notify_all();
                                  cv.wait(lock, [&] { return killed; });
                                });
        std::lock_guard lock(m);
        results[i] = std::move(r);
        ++finished;
        cv.notify_all();
      });
    {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return holder || finished == threads.size(); });
    }
    f.server().kill();
    {
      std::lock_guard lock(m);
      killed = true;
      cv.notify_all();
    }
    for (auto& t : threads) t.join();

    // The fault happened: a device was held with a push batch in flight, so
    // its sync cannot have completed.
    REQUIRE(holder.has_value());
    int failed = 0;
    for (const auto& r : results)
      if (!r->ok()) {
        ++failed;
        check_unavailable(*r);
      }
    INFO(failed << " syncs cut off");
    CHECK_FALSE(results[*holder]->ok());
    f.server().restart();
    CHECK(integrity(f.dir().file("central.db")) == "ok");
    check_recovered(f, created);
  }
}

// The tag of the frames of `m`'s kind that the devices and havend send
// (protocol_version's: a batch has a tag of its own in version 3), which the
// proxy cuts inside.
unsigned char tag_of(const sync::message& m) {
  return static_cast<unsigned char>(sync::encode(m).front());
}

TEST_CASE("a connection cut inside a push or pull batch fails cleanly and the next sync resumes",
          "[e2e][fault]") {
  sync_fixture f;
  field_work work(11);
  created_map created;
  device& b = device_behind(f, work, "outreach", 2000, created);

  // The first push batch b will send, to cut inside it.
  const auto first = b.db->outbox().value();
  const auto push_bytes = sync::encode(sync::push_batch{first.last_seq, first.changes}).size();
  auto inside = [&](direction d, const sync::message& kind, unsigned nth, int max_offset) {
    return cutting_proxy::cut_rule{
        d, cutting_proxy::cut_rule{}.after_bytes,
        cutting_proxy::message_cut{tag_of(kind), nth,
                                   static_cast<std::uint64_t>(uniform(work, 1, max_offset))}};
  };
  const struct {
    const char* where;
    cutting_proxy::cut_rule rule;
  } cuts[] = {
      {"in the handshake or the hello",
       {direction::both, static_cast<std::uint64_t>(uniform(work, 1, 400)), {}}},
      {"inside the first push batch",
       inside(direction::up, sync::push_batch{}, 0, static_cast<int>(push_bytes) - 1)},
      {"inside a later push batch",
       inside(direction::up, sync::push_batch{}, 1, static_cast<int>(push_bytes) - 1)},
      {"inside a push acknowledgement (committed, never acknowledged)",
       inside(direction::down, sync::push_ack{}, 0, 8)},
      {"inside the first pull batch", inside(direction::down, sync::change_batch{}, 0, 300'000)},
      {"inside a later pull batch", inside(direction::down, sync::change_batch{}, 1, 30'000)},
  };
  for (const auto& cut : cuts) {
    cutting_proxy proxy(f.server().address(), cut.rule);
    const auto r = sync_to_be_cut(b, proxy.sync_url(), std::chrono::seconds(2));
    INFO("cut " << cut.where << ": " << proxy.cut_description());
    REQUIRE(proxy.cut());
    check_unavailable(r);
    CHECK(b.db->list()->size() >= created[&b].size());  // nothing recorded is lost
  }

  // Through the proxy with no cut, then directly: everything converges.
  {
    cutting_proxy proxy(f.server().address());
    const auto r = f.sync(b, proxy.sync_url());
    INFO((r.ok() ? "" : r.err().describe()));
    REQUIRE(r.ok());
    CHECK_FALSE(proxy.cut());
    CHECK(r->pending_after == 0);
  }
  check_recovered(f, created);

  // Once caught up, syncing again sends nothing and moves nothing.
  const std::string head = http_get(f.server().address(), "/healthz").body;
  for (auto& d : f.devices()) {
    const auto r = f.sync(*d);
    REQUIRE(r.ok());
    CHECK(r->progress.changes_up == 0);
    CHECK(r->progress.changes_down == 0);
  }
  CHECK(http_get(f.server().address(), "/healthz").body == head);
}

TEST_CASE("a haven sync killed with SIGKILL mid-sync leaves an intact store that resumes",
          "[e2e][fault]") {
  sync_fixture f;
  field_work work(21);
  created_map created;
  device& b = device_behind(f, work, "crisis", 2500, created);
  const std::string db = f.dir().file(b.name + ".db");
  b.db.reset();  // the shell has the store to itself

  // Killed soon after connecting, after a first push batch, after a first pull batch.
  int round = 0;
  for (const char* after : {"connected", "up 1 batch", "down 1 batch"}) {
    // Its progress lines (stderr) come through stdout, to kill it mid-way.
    child shell({"/bin/sh", "-c", "exec \"$0\" --db \"$1\" sync --server \"$2\" 2>&1",
                 HAVEN_SHELL_PATH, db, f.server().sync_url()});
    std::string line, seen;
    while (seen.find(after) == std::string::npos && shell.read_line(line)) seen += line + "\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(uniform(work, 0, 30)));
    shell.kill_group(SIGKILL);
    const int code = shell.wait();
    INFO("round " << round++ << " exit " << code << " after:\n" << seen);
    CHECK(integrity(db) == "ok");
    auto reopened = client::store::open(db);
    REQUIRE(reopened.ok());
    CHECK(reopened.value()->list()->size() >= created[&b].size());
  }

  b.db = client::store::open(db).value();
  check_recovered(f, created);
  CHECK(integrity(db) == "ok");
}

}  // namespace
}  // namespace haven::test

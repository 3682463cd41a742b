// `haven sync --watch`: live changes arrive without asking, new local records
// go up on their own, and the device reconnects after the server comes back.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "fair_share.hpp"
#include "sync_fixture.hpp"

namespace haven::test {
namespace {

// Waits up to `limit` for `done()`, checking every 50 ms.
template <class F>
bool eventually(F done, std::chrono::seconds limit = std::chrono::seconds(15)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

std::size_t records_in(const std::string& db) {
  auto s = client::store::open(db);
  REQUIRE(s.ok());
  return s.value()->status()->records;
}

TEST_CASE("a watching device receives live changes, pushes its own, and reconnects",
          "[e2e][sync][watch]") {
  sync_fixture f;
  device& office = f.add_device("outreach");
  const std::string tablet_db = f.dir().file("tablet.db");
  REQUIRE(client::store::create(tablet_db, "outreach").ok());
  field_work work(11);

  child watcher(
      {HAVEN_SHELL_PATH, "--db", tablet_db, "sync", "--server", f.server().sync_url(), "--watch"});

  // Live: what the office pushes reaches the watching tablet without it asking.
  for (int i = 0; i < 5; ++i) REQUIRE(office.db->add(work.new_record()).ok());
  REQUIRE(f.sync(office).ok());
  CHECK(eventually([&] { return records_in(tablet_db) == 5; }));

  // A record written on the tablet by another process goes up on its own.
  const run_result added = run({HAVEN_SHELL_PATH, "--db", tablet_db, "add", "on_call_event",
                                "date=2026-06-01", "caller=victim", "outcome=advice-only"});
  REQUIRE(added.exit_code == 0);
  CHECK(eventually([&] {
    REQUIRE(f.sync(office).ok());
    return office.db->status()->records == 6;
  }));

  // The server goes away and comes back on the same address: the tablet reconnects.
  f.server().stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  f.server().restart(true);
  for (int i = 0; i < 3; ++i) REQUIRE(office.db->add(work.new_record()).ok());
  REQUIRE(f.sync(office).ok());
  CHECK(eventually([&] { return records_in(tablet_db) == 9; }, std::chrono::seconds(30)));

  watcher.kill_group(SIGTERM);
  CHECK(watcher.wait() == 0);  // a clean stop, with its summary
}

TEST_CASE("a push reaches every watching device of the team, read from the store once for them",
          "[e2e][sync][watch]") {
  sync_fixture f;
  device& office = f.add_device("outreach");
  field_work work(12);
  std::vector<std::string> tablets;
  std::vector<std::unique_ptr<child>> watchers;
  for (int i = 0; i < 3; ++i) {
    tablets.push_back(f.dir().file("tablet-" + std::to_string(i) + ".db"));
    REQUIRE(client::store::create(tablets.back(), "outreach").ok());
    watchers.push_back(std::make_unique<child>(
        std::vector<std::string>{HAVEN_SHELL_PATH, "--db", tablets.back(), "sync", "--server",
                                 f.server().sync_url(), "--watch"}));
  }
  // Each watcher is live once it has pulled the (empty) log.
  REQUIRE(eventually(
      [&] { return metric(f.server().address(), "haven_connected_devices") == watchers.size(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  for (int i = 0; i < 4; ++i) REQUIRE(office.db->add(work.new_record()).ok());
  REQUIRE(f.sync(office).ok());
  for (const auto& db : tablets) CHECK(eventually([&] { return records_in(db) == 4; }));
  // Three watchers at the same cursor: the first to ask reads, the other two
  // get its batch, waiting for it if they ask while it is read (and the third
  // too when the office's own pull read it first).
  CHECK(metric(f.server().address(), "haven_shared_pulls_total") >= 2);

  // A push of more cells than one live batch holds (8000): havend forwards
  // the rest batch after batch, each once the one before is written.
  std::vector<client::record_input> many;
  for (int i = 0; i < 2000; ++i) many.push_back(work.new_record());
  REQUIRE(office.db->add_all(many).ok());
  const auto outbox = office.db->status();
  REQUIRE(outbox.ok());
  REQUIRE(outbox.value().pending_cells > 8000);
  REQUIRE(f.sync(office).ok());
  for (const auto& db : tablets)
    CHECK(eventually([&] { return records_in(db) == 4 + many.size(); }, std::chrono::seconds(30)));
  for (auto& w : watchers) {
    w->kill_group(SIGTERM);
    CHECK(w->wait() == 0);
  }
}

}  // namespace
}  // namespace haven::test

// A shell killed with SIGKILL in the middle of a stream of writes leaves a
// store that opens, passes PRAGMA integrity_check, and holds every write the
// shell reported done.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <random>
#include <set>
#include <fstream>
#include <thread>

#include <haven/client/store.hpp>
#include <haven/sqlite/sqlite.hpp>

#include "shell_fixture.hpp"

namespace haven::test {
namespace {

std::string integrity(const std::string& db) {
  sqlite::database conn(db, sqlite::database::mode::open_existing);
  sqlite::statement st(conn, "PRAGMA integrity_check");
  REQUIRE(st.step());
  return st.text(0);
}

std::set<std::string> stored_ids(const std::string& db) {
  auto s = client::store::open(db);
  REQUIRE(s.ok());
  auto records = s.value()->list();
  REQUIRE(records.ok());
  std::set<std::string> ids;
  for (const auto& r : records.value()) ids.insert(r.id.hex());
  return ids;
}

TEST_CASE("SIGKILL during a stream of adds loses no reported write", "[e2e][crash]") {
  shell haven;
  haven.ok({"init", "--team", "murska-sobota"});
  std::mt19937 rng(20261128);
  std::set<std::string> reported;

  for (int round = 0; round < 4; ++round) {
    // A loop of shell invocations, each printing the id it committed.
    const std::string script =
        "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); \"$0\" --db \"$1\" add --quiet on_call_event date=2026-01-01 "
        "caller=police outcome=admitted response_minutes=$i || exit 1; done";
    child writer({"/bin/bash", "-c", script, HAVEN_SHELL_PATH, haven.db()});
    const int kill_after = std::uniform_int_distribution<int>(10, 40)(rng);
    std::string line;
    for (int n = 0; n < kill_after && writer.read_line(line); ++n) reported.insert(line);
    // Let the next write get under way, then kill mid-stream.
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(rng)));
    writer.kill_group(SIGKILL);
    while (writer.read_line(line)) reported.insert(line);  // reported before it died
    CHECK(writer.wait() == 128 + SIGKILL);

    INFO("round " << round);
    CHECK(integrity(haven.db()) == "ok");
    const auto ids = stored_ids(haven.db());
    for (const auto& id : reported) CHECK(ids.count(id) == 1);
    // Nothing appears that was not started: at most one unreported write per round.
    CHECK(ids.size() <= reported.size() + static_cast<std::size_t>(round) + 1);
  }
  // The store still takes writes after the kills.
  CHECK(haven.ok({"add", "--quiet", "on_call_event", "date=2026-01-02", "caller=ngo", "outcome=advice-only"}).size() == 32);
}

TEST_CASE("SIGKILL during an import leaves all of it or none of it", "[e2e][crash]") {
  shell haven;
  haven.ok({"init", "--team", "koper"});
  std::string lines;
  const int count = 3000;
  for (int i = 0; i < count; ++i)
    lines += "{\"type\":\"prevention_workshop\",\"fields\":{\"date\":\"2026-05-0" + std::to_string(1 + i % 9) +
             "\",\"audience\":\"general-public\",\"region\":\"obalno-kraska\",\"participants\":" +
             std::to_string(1 + i % 40) + "}}\n";
  const std::string file = haven.dir().file("big.jsonl");
  { std::ofstream(file) << lines; }

  std::mt19937 rng(7);
  for (int round = 0; round < 3; ++round) {
    const std::size_t before = stored_ids(haven.db()).size();
    child importer({HAVEN_SHELL_PATH, "--db", haven.db(), "import", file});
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 120)(rng)));
    importer.kill_group(SIGKILL);
    importer.wait();
    INFO("round " << round);
    CHECK(integrity(haven.db()) == "ok");
    const std::size_t after = stored_ids(haven.db()).size();
    CHECK((after == before || after == before + count));
  }
}

}  // namespace
}  // namespace haven::test

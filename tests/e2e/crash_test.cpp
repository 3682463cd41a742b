// A shell killed with SIGKILL inside a write transaction leaves a store that
// opens, passes PRAGMA integrity_check, holds every write the shell reported
// done and none of the one it was killed in. The shell is held inside its
// transaction (HAVEN_TEST_HOLD_IN_TRANSACTION, client-core/src/store.cpp), and
// the test sees the store's write lock taken before it kills, so every kill
// lands inside a transaction: a kill that did not would fail the test.
#include <signal.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <haven/client/store.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <random>
#include <set>
#include <thread>

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

// The first record id (32 hex digits) in a line of output, or "".
std::string id_in(const std::string& line) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    run = std::isxdigit(static_cast<unsigned char>(line[i])) ? run + 1 : 0;
    if (run == 32 &&
        (i + 1 == line.size() || !std::isxdigit(static_cast<unsigned char>(line[i + 1]))))
      return line.substr(i + 1 - 32, 32);
  }
  return "";
}

// Waits (at most 2 minutes: the shell may run 40 writes before it, each a
// process of its own, slow under a sanitizer on a loaded machine) for a
// shell held with HAVEN_TEST_HOLD_IN_TRANSACTION to create `marker` inside
// its transaction; false if it never does.
bool held_at(const std::string& marker) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (!std::filesystem::exists(marker)) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Whether another connection holds the store's write lock (a write
// transaction is open): BEGIN IMMEDIATE, without waiting, finds it locked.
bool write_locked(const std::string& db) {
  sqlite::database conn(db, sqlite::database::mode::open_existing);
  conn.exec("PRAGMA busy_timeout=0");
  try {
    conn.exec("BEGIN IMMEDIATE");
  } catch (const failure& f) {
    if (f.err().message.find("locked") != std::string::npos) return true;
    throw;
  }
  conn.exec("ROLLBACK");
  return false;
}

TEST_CASE("SIGKILL during a stream of adds loses no reported write", "[e2e][crash]") {
  shell haven;
  haven.ok({"init", "--team", "murska-sobota"});
  std::mt19937 rng(20261128);
  std::set<std::string> reported;

  for (int round = 0; round < 4; ++round) {
    INFO("round " << round);
    // A loop of shell invocations, each printing the id it committed; the
    // last one is held inside its transaction.
    const int done_first = std::uniform_int_distribution<int>(10, 40)(rng);
    const std::string marker = haven.dir().file("held-add-" + std::to_string(round));
    const std::string script =
        "i=0; while [ $i -lt $2 ]; do i=$((i+1)); \"$0\" --db \"$1\" add on_call_event "
        "date=2026-01-01 "
        "caller=police outcome=admitted response_minutes=$i || exit 1; done; "
        "HAVEN_TEST_HOLD_IN_TRANSACTION=\"$3\" exec \"$0\" --db \"$1\" add on_call_event "
        "date=2026-01-01 "
        "caller=police outcome=admitted response_minutes=0";
    child writer({"/bin/bash", "-c", script, HAVEN_SHELL_PATH, haven.db(),
                  std::to_string(done_first), marker});
    REQUIRE(held_at(marker));
    CHECK(write_locked(haven.db()));  // the kill lands inside the transaction
    writer.kill_group(SIGKILL);
    CHECK(writer.wait() == 128 + SIGKILL);
    std::set<std::string> this_round;
    for (std::string line; writer.read_line(line);)
      if (const std::string id = id_in(line); !id.empty()) this_round.insert(id);
    CHECK(this_round.size() == static_cast<std::size_t>(done_first));
    reported.insert(this_round.begin(), this_round.end());

    CHECK(integrity(haven.db()) == "ok");
    CHECK_FALSE(write_locked(haven.db()));
    const auto ids = stored_ids(haven.db());
    for (const auto& id : reported) CHECK(ids.count(id) == 1);
    CHECK(ids.size() == reported.size());  // nothing of the write that was killed
  }
  // The store still takes writes after the kills.
  CHECK(id_in(haven.ok(
                  {"add", "on_call_event", "date=2026-01-02", "caller=ngo", "outcome=advice-only"}))
            .size() == 32);
}

TEST_CASE("SIGKILL during an import leaves all of it or none of it", "[e2e][crash]") {
  shell haven;
  haven.ok({"init", "--team", "koper"});
  std::string lines;
  const int count = 3000;
  for (int i = 0; i < count; ++i)
    lines += "{\"type\":\"prevention_workshop\",\"fields\":{\"date\":\"2026-05-0" +
             std::to_string(1 + i % 9) +
             "\",\"audience\":\"general-public\",\"region\":\"obalno-kraska\",\"participants\":" +
             std::to_string(1 + i % 40) + "}}\n";
  const std::string file = haven.dir().file("big.jsonl");
  { std::ofstream(file) << lines; }

  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    const std::size_t before = stored_ids(haven.db()).size();
    const std::string marker = haven.dir().file("held-import-" + std::to_string(round));
    child importer({"/usr/bin/env", "HAVEN_TEST_HOLD_IN_TRANSACTION=" + marker, HAVEN_SHELL_PATH,
                    "--db", haven.db(), "import", file});
    REQUIRE(held_at(marker));
    CHECK(write_locked(haven.db()));  // the kill lands inside the transaction
    importer.kill_group(SIGKILL);
    CHECK(importer.wait() == 128 + SIGKILL);
    CHECK(integrity(haven.db()) == "ok");
    CHECK(stored_ids(haven.db()).size() == before);
  }
  // The same file, not killed, imports whole.
  const std::size_t before = stored_ids(haven.db()).size();
  haven.ok({"import", file});
  CHECK(stored_ids(haven.db()).size() == before + count);
}

}  // namespace
}  // namespace haven::test

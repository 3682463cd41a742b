// sqlite::checkpointer: the writer's committed pages reach the database file
// through the thread, not through the writer's commits; and past the valve
// the writer checkpoints itself. Each test proves the WAL was not
// checkpointed without it first (the file stays at its size).

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <haven/sqlite/checkpointer.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <string>
#include <thread>

#include "../support/process.hpp"

namespace haven::test {
namespace {

// Commits `n` transactions of about 40 pages each (4 KiB pages).
void write(sqlite::database& db, int n) {
  for (int i = 0; i < n; ++i) {
    sqlite::transaction tx(db);
    for (int row = 0; row < 40; ++row)
      db.cached("INSERT INTO t(v) VALUES (randomblob(3900))").run();
    tx.commit();
  }
}

std::uintmax_t file_size(const std::string& file) {
  return std::filesystem::file_size(file);
}

// Waits, at most 10 s, until the file has grown past `bytes`.
bool grows_past(const std::string& file, std::uintmax_t bytes) {
  for (int look = 0; look < 500; ++look) {
    if (file_size(file) > bytes) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

struct store {
  temp_dir dir;
  std::string file = dir.file("t.db");
  sqlite::database db{file, sqlite::database::mode::create};
  store() { db.exec("CREATE TABLE t(v BLOB)"); }
};

}  // namespace

TEST_CASE("the checkpointer's thread copies the WAL into the file, not the writer's commits",
          "[sqlite][checkpointer]") {
  store s;
  const auto empty = file_size(s.file);
  {
    sqlite::checkpointer c(s.db, s.file, {.pages = 1000, .valve_pages = 1000000});
    // Under the threshold nothing wakes the thread, and the writer's
    // commits copy nothing (SQLite's own checkpoint would not run either).
    write(s.db, 10);  // about 400 pages
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(c.runs() == 0);
    CHECK(file_size(s.file) == empty);
    write(s.db, 20);  // past 1,000 pages: the thread runs
    CHECK(grows_past(s.file, 3'000'000));
    CHECK(c.runs() >= 1);
  }
  // Stopped: SQLite's own automatic checkpoint is not back, and the
  // connection works on.
  write(s.db, 1);
}

TEST_CASE("past the valve the writer checkpoints in its commit", "[sqlite][checkpointer]") {
  store s;
  const auto empty = file_size(s.file);
  sqlite::checkpointer c(s.db, s.file, {.pages = 1000000, .valve_pages = 500});
  write(s.db, 10);  // about 400 pages: under both
  CHECK(file_size(s.file) == empty);
  write(s.db, 5);  // past the valve: the commit itself copies the WAL
  CHECK(file_size(s.file) > 1'500'000);
  CHECK(c.runs() == 0);
}

}  // namespace haven::test

#pragma once
// Copies a WAL database's committed pages back into its file on a thread of
// its own, so that the writer's commits do not wait for it. SQLite's
// automatic checkpoint runs inside the commit that passes 1,000 WAL pages:
// on havend's push path, a tenth of the writer's time (measured: README,
// Performance), while the machine's other core idles.
//
// The writer's connection then checkpoints itself only as a safety valve,
// when the WAL has grown past `valve_pages` (readers holding old snapshots,
// or a checkpointer that cannot keep up); every commit that leaves
// `pages` or more in the WAL wakes the thread, which runs a PASSIVE
// checkpoint (never blocking the writer or readers) on a connection of its
// own. Stopped and joined by the destructor, which must run before the
// writer's database is closed.

#include <condition_variable>
#include <filesystem>
#include <haven/sqlite/sqlite.hpp>
#include <mutex>
#include <thread>

namespace haven::sqlite {

class checkpointer {
 public:
  struct settings {
    int pages = 1000;         // SQLite's own default threshold
    int valve_pages = 16000;  // 64 MiB of 4 KiB pages
  };
  // Takes over the checkpoints of `writer`, a connection to `file`.
  checkpointer(database& writer, const std::filesystem::path& file, settings s);
  ~checkpointer();
  checkpointer(const checkpointer&) = delete;
  checkpointer& operator=(const checkpointer&) = delete;

  // Checkpoints the thread has run (for tests and metrics).
  std::uint64_t runs() const;

 private:
  static int on_commit(void* self, sqlite3* db, const char* name, int pages);
  void run();

  database& writer_;
  const settings settings_;
  database own_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool due_ = false;        // guarded by mutex_
  bool stop_ = false;       // guarded by mutex_
  std::uint64_t runs_ = 0;  // guarded by mutex_
  std::thread thread_;      // last: starts once the rest is ready
};

}  // namespace haven::sqlite

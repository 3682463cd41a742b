#include <sqlite3.h>

#include <haven/sqlite/checkpointer.hpp>

namespace haven::sqlite {

checkpointer::checkpointer(database& writer, const std::filesystem::path& file, settings s)
    : writer_(writer),
      settings_(s),
      own_(file, database::mode::open_existing),
      thread_([this] { run(); }) {
  // Replaces SQLite's automatic checkpoint, itself a WAL hook.
  sqlite3_wal_hook(writer_.handle(), &checkpointer::on_commit, this);
}

checkpointer::~checkpointer() {
  sqlite3_wal_hook(writer_.handle(), nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

std::uint64_t checkpointer::runs() const {
  std::lock_guard lock(mutex_);
  return runs_;
}

// Called by SQLite on the writer's thread after each commit, the write lock
// released; `pages` is the WAL's size now.
int checkpointer::on_commit(void* self, sqlite3* db, const char* name, int pages) {
  auto& c = *static_cast<checkpointer*>(self);
  if (pages >= c.settings_.valve_pages) {
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (pages >= c.settings_.pages) {
    {
      std::lock_guard lock(c.mutex_);
      c.due_ = true;
    }
    c.wake_.notify_one();
  }
  return SQLITE_OK;
}

void checkpointer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return due_ || stop_; });
    if (stop_) return;
    due_ = false;
    lock.unlock();
    // SQLITE_BUSY (another checkpoint running) is no error: the next commit
    // wakes this again.
    sqlite3_wal_checkpoint_v2(own_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
    ++runs_;
  }
}

}  // namespace haven::sqlite

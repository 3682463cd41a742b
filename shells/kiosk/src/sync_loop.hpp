#pragma once
// Background sync for the kiosk: on its own thread, with its own connection
// to the device store, it waits until the store is enrolled and then runs
// the client core's sync_watch (live changes in, new records out, back-off
// while the server is unreachable), again after a failure or a new
// enrollment. The page reads how it goes from state(). Thread-safe.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <haven/client/store.hpp>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace haven::kiosk {

// How syncing goes, for the sync line.
struct sync_state {
  bool online = false;                           // connected and caught up
  std::optional<std::int64_t> offline_since_ms;  // first failure since the last success
  std::string last_problem;                      // the core's message, "" when none
  std::optional<std::int64_t> last_exchange_ms;  // the last batch sent or received, or caught up
};

class sync_loop {
 public:
  // Starts the thread on the store at `db` (opened with `options`).
  // `on_remote_changes` is called on that thread whenever changes from the
  // server were applied or the store was erased.
  sync_loop(std::filesystem::path db, client::store_options options,
            std::function<void()> on_remote_changes);
  ~sync_loop();  // stops the sync and joins the thread
  sync_loop(const sync_loop&) = delete;
  sync_loop& operator=(const sync_loop&) = delete;

  sync_state state() const;
  // The store was just enrolled: start syncing now rather than at the next look.
  void wake();

 private:
  void run();
  void wait(std::chrono::milliseconds);
  void note_event(std::string_view event);

  std::filesystem::path db_;
  client::store_options options_;
  std::function<void()> on_remote_changes_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::condition_variable woken_;
  bool wake_ = false;  // guarded by mutex_
  sync_state state_;   // guarded by mutex_
  std::thread thread_;
};

}  // namespace haven::kiosk

#pragma once
// The batches a team's devices pull at the same cursor, read from the change
// log once and shared. When one device's push wakes every other device of its
// team, they all pull the same few cells after the same position; without
// this, havend reads and groups them once per device. Thread-safe.
//
// A batch is shared only while no push has committed since it was read (any
// push drops them all), and only with devices that wrote none of its cells:
// a device is spared its own cells, so the batch it gets differs.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <haven/sync/protocol.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

namespace haven::server {

class shared_pulls {
 public:
  // Batches are kept only when their cursor is at most this many log
  // positions behind the head (each position is one cell, so a batch holds
  // at most this many cells), and at most max_batches of them.
  static constexpr std::uint64_t max_span = 4096;
  static constexpr std::size_t max_batches = 8;

  // The batch of `team` after `since` in frames of max_cells, read with no
  // cell left out: a kept one, or the one `read` returns (kept for the
  // next, unless a push committed meanwhile or it holds more than max_span
  // cells). While one caller reads a batch, others asking for the same one
  // wait for it rather than read it again. `shared` is true when the batch
  // came from another caller's read. `read` may throw: nothing is kept then.
  struct found {
    sync::change_batch batch;
    bool shared = false;
  };
  found get(std::string_view team, std::uint64_t since, std::uint32_t max_cells,
            const std::function<sync::change_batch()>& read);
  // A push committed and moved the log's head to `head`: every batch kept
  // may be behind the log.
  void changed(std::uint64_t head);
  // True if a pull after `since` is worth sharing: at most max_span
  // positions behind the head of the last push (false before any push).
  bool near_head(std::uint64_t since) const;

 private:
  using key = std::tuple<std::string, std::uint64_t, std::uint32_t>;  // team, since, max_cells
  mutable std::mutex mutex_;
  std::condition_variable read_done_;
  std::uint64_t generation_ = 0;                            // guarded by mutex_
  std::set<key> reading_;                                   // guarded by mutex_
  std::optional<std::uint64_t> head_;                       // guarded by mutex_
  std::map<key, sync::change_batch, std::less<>> batches_;  // guarded by mutex_
};

// True if any cell of the batch was written by `node`.
bool has_cells_of(const sync::change_batch& batch, sync::node_id node);

}  // namespace haven::server

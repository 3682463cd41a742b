#pragma once
// The batches a team's devices pull at the same cursor, read from the change
// log once and shared. When one device's push wakes every other device of its
// team, they all pull the same few cells after the same position; without
// this, havend reads and groups them once per device. Thread-safe.
//
// A batch is shared only while no push has committed since it was read (any
// push drops them all), and only with devices that wrote none of its cells:
// a device is spared its own cells, so the batch it gets differs. So is the
// frame that carries it: encoded once per protocol version, and sent as is
// to every device that speaks it.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <haven/sync/protocol.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace haven::server {

class shared_pulls {
 public:
  // Batches are kept only when their cursor is at most this many log
  // positions behind the head and they hold at most this many cells, and
  // at most max_batches of them.
  static constexpr std::uint64_t max_span = 4096;
  static constexpr std::size_t max_batches = 8;

  // The batch of `team` after `since` in frames of max_cells, read with no
  // cell left out: a kept one, or the one `read` returns (kept for the
  // next, unless a push committed meanwhile or it holds more than max_span
  // cells). While one caller reads a batch, others asking for the same one
  // wait for it rather than read it again. `shared` is true when the batch
  // came from another caller's read. `read` may throw: nothing is kept then.
  // A batch read once, and its frames.
  class entry {
   public:
    explicit entry(sync::change_batch batch);
    const sync::change_batch& batch() const { return batch_; }
    std::size_t cells() const { return cells_; }
    // True if any cell of the batch was written by `node`.
    bool has_cells_of(sync::node_id node) const;
    // The frame carrying the batch in protocol `version`, encoded by the
    // first caller asking for that version. Requires: every caller gives
    // the same limits (one server's). Thread-safe.
    std::shared_ptr<const std::string> frame(std::uint32_t version,
                                             const sync::frame_limits& limits) const;

   private:
    sync::change_batch batch_;
    std::size_t cells_ = 0;
    std::vector<sync::node_id> writers_;  // sorted, each once
    mutable std::mutex mutex_;
    mutable std::map<std::uint32_t, std::shared_ptr<const std::string>> frames_;  // by version
  };
  struct found {
    std::shared_ptr<const entry> batch;
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
  std::uint64_t generation_ = 0;                                      // guarded by mutex_
  std::set<key> reading_;                                             // guarded by mutex_
  std::optional<std::uint64_t> head_;                                 // guarded by mutex_
  std::map<key, std::shared_ptr<const entry>, std::less<>> batches_;  // guarded by mutex_
};

}  // namespace haven::server

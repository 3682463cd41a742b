#pragma once
// havend's counters, rendered in the Prometheus text format. Thread-safe:
// lock-free counters and a small mutex around the histogram.

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace haven::server {

struct log_counts;

class metrics {
 public:
  std::atomic<std::int64_t> connected_devices{0};
  std::atomic<std::uint64_t> sessions_total{0};
  std::atomic<std::uint64_t> changes_received{0};  // cells pushed by devices
  std::atomic<std::uint64_t> changes_applied{0};   // of those, cells that changed the store
  std::atomic<std::uint64_t> changes_sent{0};      // cells sent to devices
  std::atomic<std::uint64_t> shared_pulls{0};      // batches read once for several devices
  std::atomic<std::uint64_t> refused_frames{0};    // sessions ended by an error frame
  // The connection budget's (connection_budget.hpp): connections open, and
  // of those not signed in; connections not signed in closed to make room
  // for a newer one; signed-in connections replaced by a newer one of their
  // device or coordinator; connections refused with every one signed in.
  std::atomic<std::int64_t> open_connections{0};
  std::atomic<std::int64_t> waiting_connections{0};
  std::atomic<std::uint64_t> evicted_connections{0};
  std::atomic<std::uint64_t> replaced_connections{0};
  std::atomic<std::uint64_t> refused_connections{0};
  std::atomic<std::uint64_t> http_requests{0};

  // Records the time from receiving a push to its commit.
  void observe_push_seconds(double seconds);
  // The exposition text, with the change log's counts and the number of
  // devices known as gauges.
  std::string render(const log_counts& store, std::uint64_t devices_known) const;

 private:
  static constexpr std::array<double, 10> bounds_{0.001, 0.0025, 0.005, 0.01, 0.025,
                                                  0.05,  0.1,    0.25,  1,    5};
  mutable std::mutex mutex_;
  std::array<std::uint64_t, bounds_.size()> buckets_{};  // guarded by mutex_
  std::uint64_t push_count_ = 0;                         // guarded by mutex_
  double push_sum_ = 0;                                  // guarded by mutex_
};

}  // namespace haven::server

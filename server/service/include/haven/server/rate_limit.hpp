#pragma once
// A rate limit on repeated events (log lines, audit rows), keyed by what
// repeats (e.g. the event's kind and remote address): per key, at most
// `per_interval` events pass in each interval; the rest are counted, and the
// count is reported once, either with the key's first event of a later
// interval or by suppressed() once its interval has ended. Memory is
// bounded: past `max_keys` keys, keys whose interval has ended are dropped
// (their counts reported by the next suppressed()), then the oldest.
// Times are milliseconds passed in, so tests need no sleeping. Thread-safe.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace haven::server {

class rate_limiter {
 public:
  struct settings {
    unsigned per_interval = 5;
    std::chrono::milliseconds interval{10000};
    std::size_t max_keys = 4096;
  };
  explicit rate_limiter(settings s) : settings_(s) {}

  struct verdict {
    bool pass = false;  // write this event
    std::uint64_t suppressed =
        0;  // when it passes: events of this key not written since the last report
  };
  // Counts one event of `key` at `now_ms` and says whether to write it.
  verdict admit(std::string_view key, std::int64_t now_ms);

  // The keys whose interval has ended with events not written and not yet
  // reported, with those counts; they are reported only once.
  std::vector<std::pair<std::string, std::uint64_t>> suppressed(std::int64_t now_ms);

 private:
  struct window {
    std::int64_t start_ms = 0;
    unsigned passed = 0;
    std::uint64_t suppressed = 0;
  };
  // Requires: mutex_ held.
  void make_room(std::int64_t now_ms);
  void evict(const std::string& key, const window& w);  // Requires: mutex_ held.

  settings settings_;
  std::mutex mutex_;
  std::map<std::string, window, std::less<>> windows_;  // guarded by mutex_
  // Counts of keys dropped to make room, up to max_keys of them; beyond
  // that they add up under the key "(other)". guarded by mutex_
  std::vector<std::pair<std::string, std::uint64_t>> evicted_;
  std::uint64_t evicted_other_ = 0;  // guarded by mutex_
};

}  // namespace haven::server

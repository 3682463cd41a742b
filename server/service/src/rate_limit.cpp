#include <algorithm>
#include <haven/server/rate_limit.hpp>

namespace haven::server {

rate_limiter::verdict rate_limiter::admit(std::string_view key, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = windows_.find(key);
  if (it == windows_.end()) {
    make_room(now_ms);
    it = windows_.emplace(std::string(key), window{now_ms, 0, 0}).first;
  }
  window& w = it->second;
  std::uint64_t carried = 0;
  if (now_ms - w.start_ms >= settings_.interval.count()) {
    carried = w.suppressed;
    w = {now_ms, 0, 0};
  }
  if (w.passed < settings_.per_interval) {
    ++w.passed;
    return {true, carried};
  }
  ++w.suppressed;
  return {false, 0};
}

std::vector<std::pair<std::string, std::uint64_t>> rate_limiter::suppressed(std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, std::uint64_t>> out = std::move(evicted_);
  evicted_.clear();
  if (evicted_other_ > 0) out.emplace_back("(other)", std::exchange(evicted_other_, 0));
  for (auto it = windows_.begin(); it != windows_.end();) {
    if (now_ms - it->second.start_ms < settings_.interval.count()) {
      ++it;
      continue;
    }
    if (it->second.suppressed > 0) out.emplace_back(it->first, it->second.suppressed);
    it = windows_.erase(it);  // ended: the key starts afresh
  }
  return out;
}

void rate_limiter::make_room(std::int64_t now_ms) {
  if (windows_.size() < settings_.max_keys) return;
  for (auto it = windows_.begin(); it != windows_.end();) {
    if (now_ms - it->second.start_ms < settings_.interval.count()) {
      ++it;
      continue;
    }
    evict(it->first, it->second);
    it = windows_.erase(it);
  }
  if (windows_.size() < settings_.max_keys) return;
  const auto oldest = std::min_element(
      windows_.begin(), windows_.end(),
      [](const auto& a, const auto& b) { return a.second.start_ms < b.second.start_ms; });
  evict(oldest->first, oldest->second);
  windows_.erase(oldest);
}

void rate_limiter::evict(const std::string& key, const window& w) {
  if (w.suppressed == 0) return;
  if (evicted_.size() < settings_.max_keys)
    evicted_.emplace_back(key, w.suppressed);
  else
    evicted_other_ += w.suppressed;
}

}  // namespace haven::server

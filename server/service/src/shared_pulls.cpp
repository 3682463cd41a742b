#include <algorithm>
#include <haven/server/shared_pulls.hpp>

namespace haven::server {

bool has_cells_of(const sync::change_batch& batch, sync::node_id node) {
  return std::any_of(batch.changes.begin(), batch.changes.end(), [&](const auto& change) {
    return std::any_of(change.cells.begin(), change.cells.end(),
                       [&](const sync::cell& c) { return c.at.node == node; });
  });
}

shared_pulls::found shared_pulls::get(std::string_view team, std::uint64_t since,
                                      std::uint32_t max_cells,
                                      const std::function<sync::change_batch()>& read) {
  key k{std::string(team), since, max_cells};
  std::unique_lock lock(mutex_);
  while (true) {
    if (const auto it = batches_.find(k); it != batches_.end()) return {it->second, true};
    if (!reading_.count(k)) break;
    read_done_.wait(lock);  // another caller reads it: kept when it is done, unless outdated
  }
  reading_.insert(k);
  const std::uint64_t generation = generation_;
  lock.unlock();
  // However the read ends, the waiters are woken (and one of them reads
  // when nothing was kept).
  struct done_reading {
    shared_pulls& pulls;
    const key& k;
    ~done_reading() {
      {
        std::lock_guard relock(pulls.mutex_);
        pulls.reading_.erase(k);
      }
      pulls.read_done_.notify_all();
    }
  } guard{*this, k};
  found out{read(), false};
  const bool small = sync::cell_count(out.batch.changes) <= max_span;
  {
    std::lock_guard relock(mutex_);
    if (generation == generation_ && small) {
      if (batches_.size() >= max_batches) batches_.clear();
      batches_.insert_or_assign(k, out.batch);
    }
  }
  return out;
}

void shared_pulls::changed(std::uint64_t head) {
  std::lock_guard lock(mutex_);
  ++generation_;
  head_ = std::max(head_.value_or(0), head);
  batches_.clear();
}

bool shared_pulls::near_head(std::uint64_t since) const {
  std::lock_guard lock(mutex_);
  return head_ && since <= *head_ && *head_ - since <= max_span;
}

}  // namespace haven::server

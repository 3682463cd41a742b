#include <algorithm>
#include <haven/server/shared_pulls.hpp>

namespace haven::server {

shared_pulls::entry::entry(sync::change_batch batch) : batch_(std::move(batch)) {
  for (const auto& change : batch_.changes) {
    cells_ += change.cells.size();
    for (const auto& c : change.cells) writers_.push_back(c.at.node);
  }
  std::sort(writers_.begin(), writers_.end());
  writers_.erase(std::unique(writers_.begin(), writers_.end()), writers_.end());
}

bool shared_pulls::entry::has_cells_of(sync::node_id node) const {
  return std::binary_search(writers_.begin(), writers_.end(), node);
}

std::shared_ptr<const std::string> shared_pulls::entry::frame(
    std::uint32_t version, const sync::frame_limits& limits) const {
  std::lock_guard lock(mutex_);
  auto& f = frames_[version];
  if (!f) f = std::make_shared<const std::string>(sync::encode(batch_, limits, version));
  return f;
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
  found out{std::make_shared<const entry>(read()), false};
  const bool small = out.batch->cells() <= max_span;
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

#include <algorithm>
#include <haven/server/shared_pulls.hpp>

namespace haven::server {

bool has_cells_of(const sync::change_batch& batch, sync::node_id node) {
  return std::any_of(batch.changes.begin(), batch.changes.end(), [&](const auto& change) {
    return std::any_of(change.cells.begin(), change.cells.end(),
                       [&](const sync::cell& c) { return c.at.node == node; });
  });
}

shared_pulls::ticket shared_pulls::before_read() const {
  std::lock_guard lock(mutex_);
  return {generation_};
}

std::optional<sync::change_batch> shared_pulls::find(std::string_view team, std::uint64_t since,
                                                     std::uint32_t max_cells) const {
  std::lock_guard lock(mutex_);
  const auto it = batches_.find(key{std::string(team), since, max_cells});
  if (it == batches_.end()) return std::nullopt;
  return it->second;
}

void shared_pulls::keep(const ticket& t, std::string_view team, std::uint64_t since,
                        std::uint32_t max_cells, const sync::change_batch& batch) {
  std::lock_guard lock(mutex_);
  std::size_t cells = 0;
  for (const auto& change : batch.changes) cells += change.cells.size();
  if (t.generation != generation_ || cells > max_span) return;
  if (batches_.size() >= max_batches) batches_.clear();
  batches_.insert_or_assign(key{std::string(team), since, max_cells}, batch);
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

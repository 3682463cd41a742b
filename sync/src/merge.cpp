#include <haven/sync/merge.hpp>

namespace haven::sync {

bool supersedes(const cell& incoming, const cell& current) noexcept {
  if (incoming.at != current.at) return incoming.at > current.at;
  return current.val < incoming.val;
}

bool is_deletion(const cell& c) noexcept {
  const bool* b = std::get_if<bool>(&c.val);
  return c.key == deleted_key && b && *b;
}

void merge_stats::add(cell_outcome o) {
  switch (o) {
    case cell_outcome::applied:
      ++applied;
      break;
    case cell_outcome::superseded:
      ++superseded;
      break;
    case cell_outcome::discarded:
      ++discarded;
      break;
  }
}

merge_decision decide(const cell& incoming, const cell* current, bool record_deleted) noexcept {
  if (is_deletion(incoming)) {
    if (!record_deleted) return {cell_outcome::applied, true};
    // Already deleted: converge on the greatest deletion stamp.
    if (!current || supersedes(incoming, *current)) return {cell_outcome::applied, false};
    return {cell_outcome::superseded, false};
  }
  if (record_deleted || incoming.key == deleted_key) return {cell_outcome::discarded, false};
  if (!current || supersedes(incoming, *current)) return {cell_outcome::applied, false};
  return {cell_outcome::superseded, false};
}

merge_stats& merge_stats::operator+=(const merge_stats& other) {
  applied += other.applied;
  superseded += other.superseded;
  discarded += other.discarded;
  record_created = record_created || other.record_created;
  record_deleted = record_deleted || other.record_deleted;
  return *this;
}

merge_stats memory_replica::apply(const record_change& change) {
  merge_stats stats;
  auto [it, created] = records_.try_emplace(change.id);
  record_state& rec = it->second;
  if (created) {
    rec.type = change.type;
    rec.team = change.team;
    stats.record_created = true;
  }
  for (const cell& c : change.cells) {
    auto current = rec.cells.find(c.key);
    const merge_decision d =
        decide(c, current == rec.cells.end() ? nullptr : &current->second, rec.deleted);
    stats.add(d.outcome);
    if (d.erase_record) {
      rec.cells.clear();
      rec.deleted = true;
      stats.record_deleted = true;
    }
    if (d.outcome == cell_outcome::applied) rec.cells.insert_or_assign(c.key, c);
  }
  return stats;
}

bool operator==(const memory_replica::record_state& a, const memory_replica::record_state& b) {
  return a.type == b.type && a.team == b.team && a.deleted == b.deleted && a.cells == b.cells;
}

bool memory_replica::operator==(const memory_replica& other) const {
  return records_ == other.records_;
}

}  // namespace haven::sync

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
    case cell_outcome::applied: ++applied; break;
    case cell_outcome::superseded: ++superseded; break;
    case cell_outcome::discarded: ++discarded; break;
  }
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
    if (is_deletion(c)) {
      auto current = rec.cells.find(c.key);
      const bool newer = current == rec.cells.end() || !rec.deleted || supersedes(c, current->second);
      if (!rec.deleted) stats.record_deleted = true;
      rec.deleted = true;
      if (newer) {
        rec.cells.clear();
        rec.cells.emplace(c.key, c);
        stats.add(cell_outcome::applied);
      } else {
        stats.add(cell_outcome::superseded);
      }
      continue;
    }
    if (rec.deleted || c.key == deleted_key) {  // "_deleted = false" is never valid
      stats.add(cell_outcome::discarded);
      continue;
    }
    auto [current, inserted] = rec.cells.try_emplace(c.key, c);
    if (inserted) {
      stats.add(cell_outcome::applied);
    } else if (supersedes(c, current->second)) {
      current->second = c;
      stats.add(cell_outcome::applied);
    } else {
      stats.add(cell_outcome::superseded);
    }
  }
  return stats;
}

bool operator==(const memory_replica::record_state& a, const memory_replica::record_state& b) {
  return a.type == b.type && a.team == b.team && a.deleted == b.deleted && a.cells == b.cells;
}

bool memory_replica::operator==(const memory_replica& other) const { return records_ == other.records_; }

}  // namespace haven::sync

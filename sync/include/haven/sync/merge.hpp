#pragma once
// The per-field CRDT merge: last writer wins per (record, key) by stamp;
// a deletion wins over everything, erases the record's other cells, and
// discards any cell that arrives later. Pure, deterministic, never throws.

#include <haven/sync/change.hpp>
#include <map>
#include <string>

namespace haven::sync {

// True if `incoming` replaces `current` at the same (record, key): a greater
// stamp, or for an equal stamp (only a faulty node sends one) the greater value,
// so that every replica picks the same cell whatever the order.
bool supersedes(const cell& incoming, const cell& current) noexcept;

// True if the cell marks its record deleted.
bool is_deletion(const cell& c) noexcept;

enum class cell_outcome {
  applied,     // the cell is now the record's value for its key
  superseded,  // the replica already holds a newer (or the same) cell
  discarded,   // the record is deleted; the cell's value is dropped
};

// The merge rule for one incoming cell, given the cell the replica holds at
// the same key (nullptr if none) and whether the record is deleted. When
// erase_record is set the replica drops every other cell of the record.
struct merge_decision {
  cell_outcome outcome;
  bool erase_record = false;
};
merge_decision decide(const cell& incoming, const cell* current, bool record_deleted) noexcept;

// What merging one record_change did; counts per outcome.
struct merge_stats {
  std::size_t applied = 0, superseded = 0, discarded = 0;
  bool record_created = false, record_deleted = false;  // by any change counted in
  void add(cell_outcome o);
  merge_stats& operator+=(const merge_stats& other);
};

// A replica's state held in memory: the reference model of the merge, used by
// tests and as the oracle the stores are checked against. Not thread-safe.
class memory_replica {
 public:
  struct record_state {
    std::string type, team;
    std::map<std::string, cell> cells;  // only the deletion cell once deleted
    bool deleted = false;
  };

  merge_stats apply(const record_change& change);
  const std::map<record_id, record_state>& records() const { return records_; }
  bool operator==(const memory_replica& other) const;

 private:
  std::map<record_id, record_state> records_;
};

bool operator==(const memory_replica::record_state& a, const memory_replica::record_state& b);

}  // namespace haven::sync

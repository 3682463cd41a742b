#pragma once
// The central store's change log: the merged cells of every record, each
// stamped with the log position of its last change, so that "changes since
// N" are the cells stamped after N. An interface, so that a second backend
// can stand beside the embedded SQLite one (see central_store.hpp);
// implementations are thread-safe.

#include <cstdint>
#include <haven/sync/merge.hpp>
#include <haven/sync/protocol.hpp>
#include <haven/sync/session.hpp>
#include <string_view>

namespace haven::server {

struct push_result {
  std::uint64_t acked_seq = 0;  // the device's cursor after the push
  sync::merge_stats stats;
  std::uint64_t head = 0;  // log position after the push (and those committed with it)
  // The pushes committed in one transaction with this one, itself included:
  // those that waited for the same commit (a backend may group them).
  std::size_t group = 1;
};

struct log_counts {
  std::uint64_t records = 0, deleted_records = 0, cells = 0;
  std::uint64_t head = 0;   // the last log position
  std::uint64_t bytes = 0;  // the size of the backend's storage, where it knows it (else 0)
};

class change_log {
 public:
  virtual ~change_log() = default;

  // Applies a push batch all or nothing: merged cells stamped with new log
  // positions, the tally (tally_store) updated, the device's cursor
  // (device_cursors) moved to max(acked, batch.last_seq). Pushes made at once
  // may share a transaction and its commit, each batch in a part of its own.
  // Durable when it returns; a batch resent changes nothing but the cursor's
  // last-seen time.
  // A batch with a change the schema's validator refuses, or whose new record
  // breaks its type's cross-field rules, is refused whole with
  // errc::invalid_input and changes nothing, not even the log positions it
  // would have used. errc::store if the backend fails (nothing changed).
  virtual push_result push(const sync::peer& device, const sync::push_batch& batch,
                           std::int64_t now_ms) = 0;

  // The records of `team` changed after log position `since`, in the order
  // of their latest change, each with all its cells (a cell from before
  // `since` in a record changed after it may be one the device never had),
  // cut only between records, at most max_cells (plus the rest of the last
  // record) and the frame's record limit. Cells written by
  // `skip_node` (0: none) are left out, unless more than one device has been
  // admitted with that node (a store enrolled again under an old node has
  // lost them), but still move up_to. more = there are further cells; up_to
  // = where the next pull starts (the head when !more). A `since` beyond the
  // head (a store restored from a backup) reads from 0. Reads a committed
  // snapshot; errc::store if the backend fails.
  virtual sync::change_batch pull(std::string_view team, sync::node_id skip_node,
                                  std::uint64_t since, std::uint32_t max_cells) = 0;

  // The records, cells and head now (a committed snapshot).
  virtual log_counts counts() = 0;
};

}  // namespace haven::server

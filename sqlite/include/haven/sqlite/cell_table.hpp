#pragma once
// The records and cells tables that the device store and the central store
// both keep, and the merge of record changes into them. One connection's
// worth of state; not thread-safe.

#include <cstdint>
#include <functional>
#include <haven/sqlite/sqlite.hpp>
#include <haven/sync/change.hpp>
#include <haven/sync/merge.hpp>
#include <haven/sync/protocol.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace haven::sqlite {

class cell_table {
 public:
  // Creates the tables: records(id, type, team, deleted) and
  // cells(record_id, key, kind, value, hlc, node, seq), where seq is the
  // store's own sequence number of the cell's last change (NULL for none).
  static void create(database& db);

  explicit cell_table(database& db) : db_(db) {}

  struct record_row {
    std::string type, team;
    bool deleted = false;
  };
  std::optional<record_row> row(const sync::record_id& id);
  std::optional<sync::cell> find(const sync::record_id& id, std::string_view key);
  std::vector<sync::cell> cells(const sync::record_id& id);

  // Gives the seq to stamp an applied cell with, or nullopt for NULL.
  using stamper = std::function<std::optional<std::int64_t>()>;
  // Merges a change by the rules of sync::decide. Throws errc::forbidden if
  // the record exists with another type or team (nothing of it is merged).
  // Requires: inside a transaction.
  sync::merge_stats merge(const sync::record_change& change, const stamper& stamp);

 private:
  database& db_;
};

// Changes read from a store's log: cells in seq order, consecutive cells of
// one record grouped into one record_change.
struct log_batch {
  std::vector<sync::record_change> changes;
  std::uint64_t last_seq = 0;  // the seq of the last cell read (0: none)
  std::size_t cells = 0;       // cells read, skipped ones included
  bool cut = false;            // stopped at a limit with cells left to read
};

// Steps `st`, whose rows are (record_id, type, team, key, kind, value, hlc,
// node, seq) in seq order, and groups them. It stops before a new record
// once max_cells cells are read or max_records changes are made, so that the
// cells one write gave a record travel together; `st` must allow max_cells
// plus one record's cells. Cells for which skip() is true are read but left out.
log_batch read_log(statement& st, std::size_t max_cells, std::size_t max_records,
                   const std::function<bool(const sync::cell&)>& skip = {});

// Column codecs shared by the stores' queries.
void bind_value(statement& st, int kind_index, const value& v);  // binds kind, then value
value read_value(const statement& st, int kind_index);
// A cell from columns key, kind, value, hlc, node starting at `first`.
sync::cell read_cell(const statement& st, int first);
inline std::span<const std::uint8_t> bytes(const sync::record_id& id) {
  return id.bytes;
}
sync::record_id read_id(const statement& st, int col);

}  // namespace haven::sqlite

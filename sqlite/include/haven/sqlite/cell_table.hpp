#pragma once
// The records and cells tables that the device store and the central store
// both keep, and the merge of record changes into them. One connection's
// worth of state; not thread-safe.
//
// Layout (store format 2):
//   names(id INTEGER PRIMARY KEY, name TEXT UNIQUE): the field keys, record
//     types and teams of the store, each once; rows are never deleted while
//     records refer to them.
//   records(rid INTEGER PRIMARY KEY, id BLOB UNIQUE, type, team, deleted):
//     the 16-byte id once; type and team are names ids.
//   cells(record, key, kind, value, hlc, node, seq) WITHOUT ROWID, keyed by
//     (record rid, key names id), so that a record's cells are neighbours;
//     seq is the store's own sequence number of the cell's last change (NULL
//     for none), indexed where it is not NULL.

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
#include <unordered_map>
#include <vector>

namespace haven::sqlite {

class cell_table {
 public:
  // Creates the tables (see above). Requires: inside a write transaction.
  static void create(database& db);
  // Rewrites format-1 tables - records(id, type, team, deleted) and
  // cells(record_id, key, ...) - into this layout, keeping every record (in
  // its order of creation), deleted flag and cell with its stamp and seq.
  // Requires: inside a write transaction, so that a failure or a crash
  // leaves the format-1 tables as they were; no uncached statement of `db`
  // mid-result (cached ones are reset).
  static void migrate_from_format_1(database& db);

  explicit cell_table(database& db) : db_(db) {}

  struct record_row {
    std::string type, team;
    bool deleted = false;
  };
  std::optional<record_row> row(const sync::record_id& id);
  // The record's cells, ordered by key (none for a record the store lacks).
  std::vector<sync::cell> cells(const sync::record_id& id);
  // The integer id of the record in this store (records.rid), if it holds it.
  std::optional<std::int64_t> rid_of(const sync::record_id& id);
  // A record's row and cells by its integer id.
  std::optional<record_row> row(std::int64_t rid);
  std::vector<sync::cell> cells(std::int64_t rid);

  // Gives the seq to stamp an applied cell with, or nullopt for NULL.
  using stamper = std::function<std::optional<std::int64_t>()>;
  // A record's state before or after a merge: its integer id in this store
  // and its cells in no particular order (only the deletion cell once
  // deleted; none for a record the store lacked).
  struct merged_record {
    std::int64_t rid = 0;
    bool deleted = false;
    std::vector<sync::cell> cells;
  };
  // Merges a change by the rules of sync::decide, reading the record's
  // existing cells once. Throws errc::forbidden if the record exists with
  // another type or team (nothing of it is merged). When `after` is given it
  // receives the record's state after the merge, and `before` its state
  // before. Requires: inside a write transaction.
  sync::merge_stats merge(const sync::record_change& change, const stamper& stamp,
                          merged_record* after = nullptr, merged_record* before = nullptr);

  // Deletes every record, cell and name. Requires: inside a write transaction.
  void erase_all();

 private:
  // The names id of `name`, adding it to names if it is new.
  std::int64_t intern(std::string_view name);
  // The name of a names id. Throws errc::store for an id names lacks.
  const std::string& name_of(std::int64_t id) const;
  // Reloads names if another connection committed or this one rolled back
  // since they were read. Asks SQLite once a transaction: inside a write
  // transaction no other connection commits.
  void refresh_names();

  // Looks names up by string_view, without a copy.
  struct name_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  database& db_;
  std::unordered_map<std::string, std::int64_t, name_hash, std::equal_to<>> ids_;  // name -> id
  std::unordered_map<std::int64_t, std::string> names_;                            // id -> name
  std::optional<std::int64_t> data_version_;  // PRAGMA data_version when names were read
  std::uint64_t rollbacks_ = 0;               // db_.rollbacks() when names were read
  std::optional<std::uint64_t> checked_in_;   // db_.transactions() when names were last checked
};

// Changes read from a store's log: cells in seq order, consecutive cells of
// one record grouped into one record_change.
struct log_batch {
  std::vector<sync::record_change> changes;
  std::uint64_t last_seq = 0;  // the seq of the last cell read (0: none)
  std::size_t cells = 0;       // cells read, skipped ones included
  bool cut = false;            // stopped at a limit with cells left to read
};

// The start of a log query whose rows read_log takes: cells c with their
// record r and the names of its type (t) and team (m) and of the cell's key
// (k). A store appends its WHERE and ORDER BY clauses.
inline constexpr std::string_view log_select =
    "SELECT r.id, t.name, m.name, k.name, c.kind, c.value, c.hlc, c.node, c.seq "
    "FROM cells c JOIN records r ON r.rid = c.record JOIN names t ON t.id = r.type "
    "JOIN names m ON m.id = r.team JOIN names k ON k.id = c.key ";

// Steps `st`, whose rows are (record_id, type, team, key, kind, value, hlc,
// node, seq) in seq order, and groups them; seq is the log position a row
// is read up to (the cell's, or the latest of its record's when a store
// reads a record's cells together), and last_seq the last row's. It stops
// before a new record once max_cells cells are read or max_records changes
// are made, so that the cells one write gave a record travel together; `st`
// must allow max_cells plus one record's cells. Cells for which skip() is
// true are read but left out.
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

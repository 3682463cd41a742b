#pragma once
// The records and cells tables that the device store and the central store
// both keep, and the merge of record changes into them. One connection's
// worth of state; not thread-safe.
//
// Layout (the devices' store format 3, havend's 4):
//   names(id INTEGER PRIMARY KEY, name TEXT UNIQUE): the field keys, record
//     types and teams of the store, each once; rows are never deleted while
//     records refer to them.
//   records(rid INTEGER PRIMARY KEY, id BLOB UNIQUE, type, team, deleted,
//     last_seq, cells): the 16-byte id once; type and team are names ids;
//     cells are the record's cells packed into one value (packed_cells.hpp),
//     so that a write reads and writes one row; last_seq is the largest seq
//     its cells were stamped with while one of them holds a seq (kept when
//     a cell without seq replaces that cell; NULL once none holds one), the
//     log position a store orders its records by (each store indexes it as
//     its log reads it).
// A seq is the store's own sequence number of a cell's last change (none for
// a cell a device pulled).

#include <cstdint>
#include <functional>
#include <haven/sqlite/name_table.hpp>
#include <haven/sqlite/packed_cells.hpp>
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
  // Packs a format-2 layout - cells(record, key, kind, value, hlc, node, seq)
  // as rows - into records.cells and sets records.last_seq, then drops the
  // cells table and its index. Same requirements as migrate_from_format_1.
  static void migrate_from_format_2(database& db);
  // Format 2's cells table and its seq index, for the migrations and their
  // tests.
  static constexpr const char* format_2_cells_sql = R"sql(
CREATE TABLE cells(
  record INTEGER NOT NULL,
  key INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  value ANY,
  hlc INTEGER NOT NULL,
  node INTEGER NOT NULL,
  seq INTEGER,
  PRIMARY KEY(record, key)) STRICT, WITHOUT ROWID;
CREATE INDEX cells_by_seq ON cells(seq) WHERE seq IS NOT NULL;
)sql";

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
  // As merge, for a record the store cannot hold yet (its id was just made
  // at random): written without reading the store for it first. Throws
  // errc::store, and writes nothing, if the store holds the id after all.
  sync::merge_stats merge_new(const sync::record_change& change, const stamper& stamp);

  // Changes read from a store's log: records in log order, each record's
  // cells in one record_change (in several past
  // frame_limits::max_cells_per_record).
  struct log_batch {
    std::vector<sync::record_change> changes;
    std::uint64_t last_seq = 0;  // the last record's last_seq (0: none read)
    std::size_t cells = 0;       // cells read, left-out ones included
    bool cut = false;            // stopped at a limit with records left to read
  };
  // Steps `st`, whose rows are log_select's (id, type, team, cells,
  // last_seq), in last_seq order. It stops before a record once max_cells
  // cells are read or max_records changes are made, or when the record's
  // changes (one per max_cells_per_record cells) would pass max_records, so
  // a record travels whole. Cells for which keep() is false are read but
  // left out.
  log_batch read_log(statement& st, std::size_t max_cells, std::size_t max_records,
                     const std::function<bool(const stored_cell&)>& keep = {});
  // The named cells of a packed cells column, ordered by key.
  std::vector<sync::cell> read_cells(const statement& st, int col);

  // The cells whose seq is above `cells_after` in the records whose last_seq
  // is above `records_after`, and the records holding one.
  struct unsent_count {
    std::size_t cells = 0, records = 0;
  };
  unsent_count unsent(std::uint64_t records_after, std::uint64_t cells_after);
  // Every cell of every record (a scan of the records).
  std::uint64_t cell_count();

  // Deletes every record, cell and name. Requires: inside a write transaction.
  void erase_all();

 private:
  // merge, or merge_new when `fresh`.
  sync::merge_stats merge(const sync::record_change& change, const stamper& stamp,
                          merged_record* after, merged_record* before, bool fresh);
  // Stored cells with their keys' names, ordered by key.
  std::vector<sync::cell> named(std::vector<stored_cell> cells) const;
  // Packs the rows of format 2's cells table into the records' cells and
  // last_seq columns, then drops the table (see migrate_from_format_2).
  static void pack_cells_table(database& db);

  database& db_;
  name_table names_{db_, "names", "SELECT id, name FROM names",
                    "INSERT INTO names(name) VALUES (?) RETURNING id"};
};

// The start of a log query whose rows cell_table::read_log takes: records
// r with the names of their type (t) and team (m). A store appends its WHERE
// and ORDER BY clauses.
inline constexpr std::string_view log_select =
    "SELECT r.id, t.name, m.name, r.cells, r.last_seq FROM records r "
    "JOIN names t ON t.id = r.type JOIN names m ON m.id = r.team ";

inline std::span<const std::uint8_t> bytes(const sync::record_id& id) {
  return id.bytes;
}
sync::record_id read_id(const statement& st, int col);

}  // namespace haven::sqlite

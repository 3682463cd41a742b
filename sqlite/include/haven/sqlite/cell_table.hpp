#pragma once
// The records and cells tables that the device store and the central store
// both keep, and the merge of record changes into them. One connection's
// worth of state; not thread-safe.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <haven/sqlite/sqlite.hpp>
#include <haven/sync/change.hpp>
#include <haven/sync/merge.hpp>

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
  // Merges a change by the rules of sync::decide. Requires: inside a transaction.
  sync::merge_stats merge(const sync::record_change& change, const stamper& stamp);

 private:
  database& db_;
};

// Column codecs shared by the stores' queries.
void bind_value(statement& st, int kind_index, const value& v);  // binds kind, then value
value read_value(const statement& st, int kind_index);
// A cell from columns key, kind, value, hlc, node starting at `first`.
sync::cell read_cell(const statement& st, int first);
inline std::span<const std::uint8_t> bytes(const sync::record_id& id) { return id.bytes; }
sync::record_id read_id(const statement& st, int col);

}  // namespace haven::sqlite

#include <algorithm>
#include <haven/sqlite/cell_table.hpp>

namespace haven::sqlite {
namespace {

enum class value_kind : std::int64_t { null = 0, integer = 1, code = 2, date = 3, boolean = 4 };

}  // namespace

void cell_table::create(database& db) {
  db.exec(R"sql(
CREATE TABLE records(
  id BLOB PRIMARY KEY,
  type TEXT NOT NULL,
  team TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE TABLE cells(
  record_id BLOB NOT NULL REFERENCES records(id),
  key TEXT NOT NULL,
  kind INTEGER NOT NULL,
  value ANY,
  hlc INTEGER NOT NULL,
  node INTEGER NOT NULL,
  seq INTEGER,
  PRIMARY KEY(record_id, key)) STRICT, WITHOUT ROWID;
CREATE INDEX cells_by_seq ON cells(seq) WHERE seq IS NOT NULL;
)sql");
}

void bind_value(statement& st, int kind_index, const value& v) {
  std::visit(
      [&](const auto& x) {
        using X = std::decay_t<decltype(x)>;
        auto kind = [&](value_kind k) -> statement& {
          return st.bind(kind_index, static_cast<std::int64_t>(k));
        };
        if constexpr (std::is_same_v<X, std::monostate>) {
          kind(value_kind::null).bind_null(kind_index + 1);
        } else if constexpr (std::is_same_v<X, std::int64_t>) {
          kind(value_kind::integer).bind(kind_index + 1, x);
        } else if constexpr (std::is_same_v<X, std::string>) {
          kind(value_kind::code).bind(kind_index + 1, std::string_view(x));
        } else if constexpr (std::is_same_v<X, date>) {
          kind(value_kind::date).bind(kind_index + 1, std::int64_t{x.days});
        } else if constexpr (std::is_same_v<X, bool>) {
          kind(value_kind::boolean).bind(kind_index + 1, std::int64_t{x});
        } else {
          throw failure(errc::invalid_input, "a set value cannot be stored as one cell");
        }
      },
      v);
}

value read_value(const statement& st, int kind_index) {
  switch (static_cast<value_kind>(st.integer(kind_index))) {
    case value_kind::null:
      return {};
    case value_kind::integer:
      return st.integer(kind_index + 1);
    case value_kind::code:
      return st.text(kind_index + 1);
    case value_kind::date:
      return date{static_cast<std::int32_t>(st.integer(kind_index + 1))};
    case value_kind::boolean:
      return st.integer(kind_index + 1) != 0;
  }
  throw failure(errc::store, "store: a cell has an unknown value kind; the store is damaged");
}

sync::cell read_cell(const statement& st, int first) {
  return {st.text(first),
          read_value(st, first + 1),
          {sync::hlc{static_cast<std::uint64_t>(st.integer(first + 3))},
           static_cast<sync::node_id>(st.integer(first + 4))}};
}

sync::record_id read_id(const statement& st, int col) {
  const auto blob = st.blob(col);
  sync::record_id id;
  if (blob.size() != id.bytes.size()) throw failure(errc::store, "store: a record id is damaged");
  std::copy(blob.begin(), blob.end(), id.bytes.begin());
  return id;
}

log_batch read_log(statement& st, std::size_t max_cells, std::size_t max_records,
                   const std::function<bool(const sync::cell&)>& skip) {
  log_batch batch;
  std::optional<sync::record_id> current;  // the record of the last cell read
  while (st.step()) {
    const sync::record_id id = read_id(st, 0);
    if (id != current && (batch.cells >= max_cells || batch.changes.size() >= max_records)) {
      batch.cut = true;
      break;
    }
    current = id;
    ++batch.cells;
    batch.last_seq = static_cast<std::uint64_t>(st.integer(8));
    sync::cell c = read_cell(st, 3);
    if (skip && skip(c)) continue;
    if (batch.changes.empty() || batch.changes.back().id != id ||
        batch.changes.back().cells.size() == sync::frame_limits{}.max_cells_per_record)
      batch.changes.push_back({id, st.text(1), st.text(2), {}});
    batch.changes.back().cells.push_back(std::move(c));
  }
  return batch;
}

std::optional<cell_table::record_row> cell_table::row(const sync::record_id& id) {
  auto& st = db_.cached("SELECT type, team, deleted FROM records WHERE id = ?");
  st.bind(1, bytes(id));
  if (!st.step()) return std::nullopt;
  return record_row{st.text(0), st.text(1), st.integer(2) != 0};
}

std::optional<sync::cell> cell_table::find(const sync::record_id& id, std::string_view key) {
  auto& st =
      db_.cached("SELECT key, kind, value, hlc, node FROM cells WHERE record_id = ? AND key = ?");
  st.bind(1, bytes(id)).bind(2, key);
  if (!st.step()) return std::nullopt;
  return read_cell(st, 0);
}

std::vector<sync::cell> cell_table::cells(const sync::record_id& id) {
  auto& st =
      db_.cached("SELECT key, kind, value, hlc, node FROM cells WHERE record_id = ? ORDER BY key");
  st.bind(1, bytes(id));
  std::vector<sync::cell> out;
  while (st.step()) out.push_back(read_cell(st, 0));
  return out;
}

sync::merge_stats cell_table::merge(const sync::record_change& change, const stamper& stamp) {
  sync::merge_stats stats;
  db_.cached("INSERT OR IGNORE INTO records(id, type, team) VALUES (?, ?, ?)")
      .bind(1, bytes(change.id))
      .bind(2, std::string_view(change.type))
      .bind(3, std::string_view(change.team))
      .run();
  stats.record_created = db_.changes() > 0;
  bool deleted = false;
  if (!stats.record_created) {
    const record_row existing = *row(change.id);
    if (existing.team != change.team || existing.type != change.type)
      throw failure(errc::forbidden,
                    "refused: record " + change.id.hex() +
                        " exists with another type or team, and a record's type and team never "
                        "change; nothing of this batch was saved");
    deleted = existing.deleted;
  }
  for (const sync::cell& c : change.cells) {
    const auto current = find(change.id, c.key);
    const sync::merge_decision d = sync::decide(c, current ? &*current : nullptr, deleted);
    stats.add(d.outcome);
    if (d.erase_record) {
      db_.cached("DELETE FROM cells WHERE record_id = ?").bind(1, bytes(change.id)).run();
      db_.cached("UPDATE records SET deleted = 1 WHERE id = ?").bind(1, bytes(change.id)).run();
      deleted = stats.record_deleted = true;
    }
    if (d.outcome != sync::cell_outcome::applied) continue;
    auto& st = db_.cached(
        "INSERT OR REPLACE INTO cells(record_id, key, kind, value, hlc, node, seq) VALUES (?, ?, "
        "?, ?, ?, ?, ?)");
    st.bind(1, bytes(change.id)).bind(2, std::string_view(c.key));
    bind_value(st, 3, c.val);
    st.bind(5, static_cast<std::int64_t>(c.at.time.packed))
        .bind(6, static_cast<std::int64_t>(c.at.node));
    if (auto seq = stamp())
      st.bind(7, *seq);
    else
      st.bind_null(7);
    st.run();
  }
  return stats;
}

}  // namespace haven::sqlite

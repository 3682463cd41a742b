#include <algorithm>
#include <array>
#include <haven/sqlite/cell_table.hpp>

namespace haven::sqlite {
namespace {

enum class value_kind : std::int64_t { null = 0, integer = 1, code = 2, date = 3, boolean = 4 };

}  // namespace

void cell_table::create(database& db) {
  db.exec(R"sql(
CREATE TABLE names(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE) STRICT;
CREATE TABLE records(
  rid INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  type INTEGER NOT NULL,
  team INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0) STRICT;
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
)sql");
}

void cell_table::migrate_from_format_1(database& db) {
  db.reset_cached();  // a statement mid-result would lock the tables against DROP
  db.exec(R"sql(
DROP INDEX cells_by_seq;
ALTER TABLE cells RENAME TO cells_format_1;
ALTER TABLE records RENAME TO records_format_1;
)sql");
  create(db);
  db.exec(R"sql(
INSERT INTO names(name)
  SELECT type FROM records_format_1 UNION SELECT team FROM records_format_1
  UNION SELECT key FROM cells_format_1;
INSERT INTO records(rid, id, type, team, deleted)
  SELECT r.rowid, r.id, t.id, m.id, r.deleted FROM records_format_1 r
  JOIN names t ON t.name = r.type JOIN names m ON m.name = r.team ORDER BY r.rowid;
INSERT INTO cells(record, key, kind, value, hlc, node, seq)
  SELECT r.rid, k.id, c.kind, c.value, c.hlc, c.node, c.seq FROM cells_format_1 c
  JOIN records r ON r.id = c.record_id JOIN names k ON k.name = c.key ORDER BY r.rid, k.id;
DROP TABLE cells_format_1;
DROP TABLE records_format_1;
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

std::optional<std::int64_t> cell_table::rid_of(const sync::record_id& id) {
  auto& st = db_.cached("SELECT rid FROM records WHERE id = ?");
  st.bind(1, bytes(id));
  std::optional<std::int64_t> rid;
  if (st.step()) rid = st.integer(0);
  st.reset();
  return rid;
}

std::optional<cell_table::record_row> cell_table::row(const sync::record_id& id) {
  const auto rid = rid_of(id);
  return rid ? row(*rid) : std::nullopt;
}

std::vector<sync::cell> cell_table::cells(const sync::record_id& id) {
  const auto rid = rid_of(id);
  return rid ? cells(*rid) : std::vector<sync::cell>{};
}

std::optional<cell_table::record_row> cell_table::row(std::int64_t rid) {
  auto& st = db_.cached(
      "SELECT t.name, m.name, r.deleted FROM records r JOIN names t ON t.id = r.type "
      "JOIN names m ON m.id = r.team WHERE r.rid = ?");
  st.bind(1, rid);
  std::optional<record_row> out;
  if (st.step()) out = record_row{st.text(0), st.text(1), st.integer(2) != 0};
  st.reset();
  return out;
}

std::vector<sync::cell> cell_table::cells(std::int64_t rid) {
  auto& st = db_.cached(
      "SELECT k.name, c.kind, c.value, c.hlc, c.node FROM cells c JOIN names k ON k.id = c.key "
      "WHERE c.record = ? ORDER BY k.name");
  st.bind(1, rid);
  std::vector<sync::cell> out;
  while (st.step()) out.push_back(read_cell(st, 0));
  return out;
}

void cell_table::refresh_names() {
  const std::uint64_t transaction = db_.transactions();
  if (checked_in_ == transaction && rollbacks_ == db_.rollbacks()) return;
  auto& version = db_.cached("PRAGMA data_version");
  version.step();
  const std::int64_t now = version.integer(0);
  if (data_version_ == now && rollbacks_ == db_.rollbacks()) {
    checked_in_ = transaction;
    return;
  }
  ids_.clear();
  names_.clear();
  auto& st = db_.cached("SELECT id, name FROM names");
  while (st.step()) {
    std::string name = st.text(1);
    ids_.emplace(name, st.integer(0));
    names_.emplace(st.integer(0), std::move(name));
  }
  data_version_ = now;
  rollbacks_ = db_.rollbacks();
  checked_in_ = transaction;
}

std::int64_t cell_table::intern(std::string_view name) {
  if (const auto it = ids_.find(name); it != ids_.end()) return it->second;
  auto& st = db_.cached("INSERT INTO names(name) VALUES (?) RETURNING id");
  st.bind(1, name);
  if (!st.step()) db_.fail("adding a name");
  const std::int64_t id = st.integer(0);
  st.reset();
  ids_.emplace(std::string(name), id);
  names_.emplace(id, std::string(name));
  return id;
}

const std::string& cell_table::name_of(std::int64_t id) const {
  const auto it = names_.find(id);
  if (it == names_.end())
    throw failure(errc::store, "store: a cell names a key the store lacks; the store is damaged");
  return it->second;
}

namespace {

// The most cells one statement writes: a pulled record has about 6.
constexpr std::size_t cells_per_insert = 16;

// "INSERT OR REPLACE INTO cells(...) VALUES (?1, ?2, ...), ..." for `rows`
// cells of one record (?1), each with its key, kind, value, hlc, node and
// seq; kept for the life of the program, as database::cached asks.
const char* insert_cells_sql(std::size_t rows) {
  static const auto sql = [] {
    std::array<std::string, cells_per_insert + 1> out;
    for (std::size_t n = 1; n <= cells_per_insert; ++n) {
      std::string& s = out[n];
      s = "INSERT OR REPLACE INTO cells(record, key, kind, value, hlc, node, seq) VALUES ";
      for (std::size_t i = 0; i < n; ++i) {
        s += i ? ", (?1" : "(?1";
        for (std::size_t p = 0; p < 6; ++p) s += ", ?" + std::to_string(2 + 6 * i + p);
        s += ")";
      }
    }
    return out;
  }();
  return sql[rows].c_str();
}

}  // namespace

sync::merge_stats cell_table::merge(const sync::record_change& change, const stamper& stamp,
                                    merged_record* after, merged_record* before) {
  refresh_names();
  sync::merge_stats stats;
  const std::int64_t type = intern(change.type), team = intern(change.team);
  std::int64_t rid = 0;
  bool deleted = false, was_deleted = false, erased = false;
  std::vector<sync::cell> stored;  // the record's cells before the merge
  // The record's cells as the merge goes, each with its key's id: in
  // `stored`, or in `change` (`applied`, with the seq it was stamped with).
  // The table is written once the merge is decided: the applied cells, in as
  // few statements as they fit, after erasing the record if a deletion came.
  struct held_cell {
    std::int64_t key;
    const sync::cell* cell;
    bool applied = false;
    std::optional<std::int64_t> seq;
  };
  std::vector<held_cell> held;
  // A record the store has never seen (most of what an initial sync brings)
  // is added by the one step that finds it new, and has no cells to read.
  // (Without RETURNING, which buffers its rows in a table of its own.)
  db_.cached("INSERT INTO records(id, type, team) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING")
      .bind(1, bytes(change.id))
      .bind(2, type)
      .bind(3, team)
      .run();
  if (db_.changes() == 1) {
    rid = db_.last_insert_rowid();
    stats.record_created = true;
    held.reserve(change.cells.size());
  } else {
    auto& found = db_.cached("SELECT rid, type, team, deleted FROM records WHERE id = ?");
    found.bind(1, bytes(change.id));
    if (!found.step())
      throw failure(errc::store, "store: record " + change.id.hex() +
                                     " is in the records' id index but not in the table; the "
                                     "store is damaged");
    if (found.integer(1) != type || found.integer(2) != team)
      throw failure(errc::forbidden,
                    "refused: record " + change.id.hex() +
                        " exists with another type or team, and a record's type and team never "
                        "change; nothing of this batch was saved");
    rid = found.integer(0);
    deleted = was_deleted = found.integer(3) != 0;
    found.reset();
    auto& existing = db_.cached("SELECT key, kind, value, hlc, node FROM cells WHERE record = ?");
    existing.bind(1, rid);
    std::vector<std::int64_t> keys;
    while (existing.step()) {
      keys.push_back(existing.integer(0));
      stored.push_back({name_of(keys.back()),
                        read_value(existing, 1),
                        {sync::hlc{static_cast<std::uint64_t>(existing.integer(3))},
                         static_cast<sync::node_id>(existing.integer(4))}});
    }
    held.reserve(stored.size() + change.cells.size());
    for (std::size_t i = 0; i < stored.size(); ++i)
      held.push_back({keys[i], &stored[i], false, std::nullopt});
  }
  std::size_t to_write = 0;  // entries of `held` with applied set
  for (const sync::cell& c : change.cells) {
    const std::int64_t key = intern(c.key);
    auto current =
        std::find_if(held.begin(), held.end(), [&](const held_cell& h) { return h.key == key; });
    const sync::merge_decision d =
        sync::decide(c, current == held.end() ? nullptr : current->cell, deleted);
    stats.add(d.outcome);
    if (d.erase_record) {
      deleted = erased = stats.record_deleted = true;
      held.clear();
      to_write = 0;
      current = held.end();
    }
    if (d.outcome != sync::cell_outcome::applied) continue;
    const held_cell now{key, &c, true, stamp()};
    if (current == held.end()) {
      held.push_back(now);
      ++to_write;
    } else {
      to_write += !current->applied;
      *current = now;
    }
  }
  if (erased) {
    db_.cached("DELETE FROM cells WHERE record = ?").bind(1, rid).run();
    db_.cached("UPDATE records SET deleted = 1 WHERE rid = ?").bind(1, rid).run();
  }
  for (auto next = held.begin(); to_write > 0;) {
    const std::size_t rows = std::min(to_write, cells_per_insert);
    auto& st = db_.cached(insert_cells_sql(rows));
    st.bind(1, rid);
    for (std::size_t row = 0; row < rows; ++next) {
      if (!next->applied) continue;
      const sync::cell& c = *next->cell;
      const int first = 2 + 6 * static_cast<int>(row++);
      st.bind(first, next->key);
      bind_value(st, first + 1, c.val);
      st.bind(first + 3, static_cast<std::int64_t>(c.at.time.packed))
          .bind(first + 4, static_cast<std::int64_t>(c.at.node));
      if (next->seq)
        st.bind(first + 5, *next->seq);
      else
        st.bind_null(first + 5);
    }
    st.run();
    to_write -= rows;
  }
  if (after) {
    after->rid = rid;
    after->deleted = deleted;
    after->cells.clear();
    for (const held_cell& h : held) after->cells.push_back(*h.cell);
  }
  if (before) {  // `held` points into `stored` no more
    before->rid = rid;
    before->deleted = was_deleted;
    before->cells = std::move(stored);
  }
  return stats;
}

void cell_table::erase_all() {
  db_.exec("DELETE FROM cells; DELETE FROM records; DELETE FROM names;");
  data_version_.reset();
  checked_in_.reset();
}

}  // namespace haven::sqlite

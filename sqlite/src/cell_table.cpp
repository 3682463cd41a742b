#include <algorithm>
#include <array>
#include <haven/sqlite/cell_table.hpp>
#include <haven/sqlite/packed_cells.hpp>

namespace haven::sqlite {
namespace {

// A format-2 cells row's kind column.
enum class value_kind : std::int64_t { null = 0, integer = 1, code = 2, date = 3, boolean = 4 };

// A format-2 cells row's value from its kind and value columns.
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
  deleted INTEGER NOT NULL DEFAULT 0,
  last_seq INTEGER,
  cells BLOB NOT NULL DEFAULT x'') STRICT;
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
  db.exec(format_2_cells_sql);
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
  pack_cells_table(db);
}

void cell_table::migrate_from_format_2(database& db) {
  db.reset_cached();
  if (!statement(db, "SELECT 1 FROM pragma_table_info('records') WHERE name = 'last_seq'").step())
    db.exec("ALTER TABLE records ADD COLUMN last_seq INTEGER");
  db.exec("ALTER TABLE records ADD COLUMN cells BLOB NOT NULL DEFAULT x''");
  pack_cells_table(db);
}

void cell_table::pack_cells_table(database& db) {
  {
    statement rows(
        db, "SELECT record, key, kind, value, hlc, node, seq FROM cells ORDER BY record, key");
    statement put(db, "UPDATE records SET cells = ?2, last_seq = ?3 WHERE rid = ?1");
    std::vector<stored_cell> record;
    std::int64_t rid = 0;
    const auto flush = [&] {
      if (record.empty()) return;
      cell_packer packer(record.size());
      std::optional<std::int64_t> last_seq;
      for (const stored_cell& c : record) {
        packer.add(c.key, c.val, c.at, c.seq);
        if (c.seq) last_seq = std::max(last_seq.value_or(*c.seq), *c.seq);
      }
      const std::string packed = packer.take();
      put.bind(1, rid).bind(2, as_blob(packed)).bind(3, last_seq).run();
      put.reset();
      record.clear();
    };
    while (rows.step()) {
      if (rows.integer(0) != rid) {
        flush();
        rid = rows.integer(0);
      }
      std::optional<std::int64_t> seq;
      if (rows.type(6) != statement::column_type::null) seq = rows.integer(6);
      record.push_back({rows.integer(1),
                        read_value(rows, 2),
                        {sync::hlc{static_cast<std::uint64_t>(rows.integer(4))},
                         static_cast<sync::node_id>(rows.integer(5))},
                        seq});
    }
    flush();
  }
  db.exec("DROP INDEX IF EXISTS cells_by_seq; DROP TABLE cells;");
}

std::vector<sync::cell> cell_table::named(std::vector<stored_cell> cells) const {
  std::vector<sync::cell> out;
  out.reserve(cells.size());
  for (stored_cell& c : cells) out.push_back({names_.name_of(c.key), std::move(c.val), c.at});
  std::sort(out.begin(), out.end(),
            [](const sync::cell& a, const sync::cell& b) { return a.key < b.key; });
  return out;
}

std::vector<sync::cell> cell_table::read_cells(const statement& st, int col) {
  names_.refresh();
  return named(unpack_cells(as_chars(st.blob(col))));
}

sync::record_id read_id(const statement& st, int col) {
  const auto blob = st.blob(col);
  sync::record_id id;
  if (blob.size() != id.bytes.size()) throw failure(errc::store, "store: a record id is damaged");
  std::copy(blob.begin(), blob.end(), id.bytes.begin());
  return id;
}

cell_table::log_batch cell_table::read_log(statement& st, std::size_t max_cells,
                                           std::size_t max_records,
                                           const std::function<bool(const stored_cell&)>& keep) {
  names_.refresh();
  const std::size_t per_change = sync::frame_limits{}.max_cells_per_record;
  log_batch batch;
  while (st.step()) {
    if (batch.cells >= max_cells || batch.changes.size() >= max_records) {
      batch.cut = true;
      break;
    }
    const sync::record_id id = read_id(st, 0);
    std::vector<stored_cell> cells = unpack_cells(as_chars(st.blob(3)));
    const std::string type = st.text(1), team = st.text(2);
    const std::size_t first = batch.changes.size();  // the record's changes: per_change cells each
    for (stored_cell& c : cells) {
      if (keep && !keep(c)) continue;
      if (batch.changes.size() == first || batch.changes.back().cells.size() == per_change)
        batch.changes.push_back({id, type, team, {}});
      batch.changes.back().cells.push_back({names_.name_of(c.key), std::move(c.val), c.at});
    }
    // A record of several changes that passes max_records waits for the next
    // batch, unless it is the first (a batch always moves on).
    if (first > 0 && batch.changes.size() > max_records) {
      batch.changes.erase(batch.changes.begin() + static_cast<std::ptrdiff_t>(first),
                          batch.changes.end());
      batch.cut = true;
      break;
    }
    batch.cells += cells.size();
    batch.last_seq = static_cast<std::uint64_t>(st.integer(4));
  }
  return batch;
}

cell_table::unsent_count cell_table::unsent(std::uint64_t records_after,
                                            std::uint64_t cells_after) {
  auto& st = db_.cached("SELECT cells FROM records WHERE last_seq > ?");
  st.bind(1, static_cast<std::int64_t>(records_after));
  unsent_count out;
  while (st.step())
    if (const std::size_t n = count_seq_above(as_chars(st.blob(0)), cells_after); n > 0) {
      out.cells += n;
      ++out.records;
    }
  return out;
}

std::uint64_t cell_table::cell_count() {
  auto& st = db_.cached("SELECT cells FROM records");
  std::uint64_t n = 0;
  while (st.step()) n += packed_count(as_chars(st.blob(0)));
  return n;
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
  auto& st = db_.cached("SELECT cells FROM records WHERE rid = ?");
  st.bind(1, rid);
  std::vector<sync::cell> out;
  if (st.step()) out = read_cells(st, 0);
  st.reset();
  return out;
}

sync::merge_stats cell_table::merge(const sync::record_change& change, const stamper& stamp,
                                    merged_record* after, merged_record* before) {
  return merge(change, stamp, after, before, false);
}

sync::merge_stats cell_table::merge_new(const sync::record_change& change, const stamper& stamp) {
  return merge(change, stamp, nullptr, nullptr, true);
}

sync::merge_stats cell_table::merge(const sync::record_change& change, const stamper& stamp,
                                    merged_record* after, merged_record* before, bool fresh) {
  names_.refresh();
  sync::merge_stats stats;
  const std::int64_t type = names_.intern(change.type), team = names_.intern(change.team);
  std::optional<std::int64_t> rid;  // none for a record the store has never seen
  bool deleted = false, was_deleted = false, erased = false;
  std::vector<stored_cell> packed;  // the record's cells before the merge, as stored
  std::vector<sync::cell> stored;   // the same, named
  // The largest seq the record's cells were ever stamped with.
  std::optional<std::int64_t> last_seq;
  if (!fresh) {
    auto& found =
        db_.cached("SELECT rid, type, team, deleted, cells, last_seq FROM records WHERE id = ?");
    if (found.bind(1, bytes(change.id)).step()) {
      if (found.integer(1) != type || found.integer(2) != team)
        throw failure(errc::forbidden,
                      "refused: record " + change.id.hex() +
                          " exists with another type or team, and a record's type and team never "
                          "change; nothing of this batch was saved");
      rid = found.integer(0);
      deleted = was_deleted = found.integer(3) != 0;
      packed = unpack_cells(as_chars(found.blob(4)));
      if (found.type(5) != statement::column_type::null) last_seq = found.integer(5);
    }
    found.reset();
  }
  // The record's cells as the merge goes, each with its key's id: in
  // `stored`, or in `change` (`applied`). The row is written once the merge
  // is decided, its applied cells stamped with fresh seqs.
  struct held_cell {
    std::int64_t key;
    const sync::cell* cell;
    bool applied = false;
    std::optional<std::int64_t> seq;
  };
  std::vector<held_cell> held;
  held.reserve(packed.size() + change.cells.size());
  stored.reserve(packed.size());
  for (stored_cell& c : packed) {
    stored.push_back({names_.name_of(c.key), std::move(c.val), c.at});
    held.push_back({c.key, &stored.back(), false, c.seq});
  }
  bool changed = false;
  for (const sync::cell& c : change.cells) {
    const std::int64_t key = names_.intern(c.key);
    auto current =
        std::find_if(held.begin(), held.end(), [&](const held_cell& h) { return h.key == key; });
    const sync::merge_decision d =
        sync::decide(c, current == held.end() ? nullptr : current->cell, deleted);
    stats.add(d.outcome);
    if (d.erase_record) {
      deleted = erased = stats.record_deleted = true;
      held.clear();
      current = held.end();
    }
    if (d.outcome != sync::cell_outcome::applied) continue;
    changed = true;
    if (current == held.end())
      held.push_back({key, &c, true, std::nullopt});
    else
      *current = {key, &c, true, std::nullopt};
  }
  if (changed || erased || !rid) {
    std::sort(held.begin(), held.end(),
              [](const held_cell& a, const held_cell& b) { return a.key < b.key; });
    cell_packer packer(held.size());
    bool stamped = false;  // a cell holds a seq
    for (held_cell& h : held) {
      if (h.applied) h.seq = stamp();
      if (h.seq) last_seq = std::max(last_seq.value_or(*h.seq), *h.seq);
      stamped = stamped || h.seq;
      packer.add(h.key, h.cell->val, h.cell->at, h.seq);
    }
    if (!stamped) last_seq.reset();
    const std::string cells = packer.take();
    auto& write = rid ? db_.cached(
                            "UPDATE records SET deleted = ?2, last_seq = ?3, cells = ?4 WHERE "
                            "rid = ?1")
                      : db_.cached(
                            "INSERT INTO records(id, type, team, deleted, last_seq, cells) "
                            "VALUES (?1, ?5, ?6, ?2, ?3, ?4)");
    if (rid)
      write.bind(1, *rid);
    else
      write.bind(1, bytes(change.id)).bind(5, type).bind(6, team);
    write.bind(2, std::int64_t{deleted}).bind(3, last_seq).bind(4, as_blob(cells)).run();
    if (!rid) {
      rid = db_.last_insert_rowid();
      stats.record_created = true;
    }
  }
  if (after) {
    after->rid = *rid;
    after->deleted = deleted;
    after->cells.clear();
    for (const held_cell& h : held) after->cells.push_back(*h.cell);
  }
  if (before) {  // `held` points into `stored` no more
    before->rid = *rid;
    before->deleted = was_deleted;
    before->cells = std::move(stored);
  }
  return stats;
}

void cell_table::erase_all() {
  db_.exec("DELETE FROM records; DELETE FROM names;");
  names_.forget();
}

}  // namespace haven::sqlite

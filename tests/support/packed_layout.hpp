#pragma once
// Stores of packed records (sqlite::cell_table's layout) seen and rewritten
// as the layout before it: a row a cell, as format 2 kept them. For the
// migration tests, which make an older store from a new one and compare
// what the old layout's rows said.
#include <haven/sqlite/cell_table.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <map>
#include <string>
#include <vector>

namespace haven::test {

// A cell's kind and value columns in format 2's cells table.
struct format_2_value {
  std::int64_t kind = 0;  // 0 null, 1 integer, 2 code, 3 date, 4 boolean
  std::optional<std::int64_t> number;
  std::optional<std::string> text;
};
inline format_2_value format_2_of(const value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return {1, *i, {}};
  if (const auto* s = std::get_if<std::string>(&v)) return {2, {}, *s};
  if (const auto* d = std::get_if<date>(&v)) return {3, d->days, {}};
  if (const auto* b = std::get_if<bool>(&v)) return {4, std::int64_t{*b}, {}};
  return {};
}

// One line a cell, as the format-2 oracles print them: record id (hex),
// type, team, deleted, key, kind, value quoted as SQL, hlc, node, seq
// quoted; ordered by record id and key.
inline std::string cell_lines(const std::string& file) {
  sqlite::database db(file, sqlite::database::mode::open_existing);
  std::map<std::int64_t, std::string> names;
  sqlite::statement name(db, "SELECT id, name FROM names");
  while (name.step()) names[name.integer(0)] = name.text(1);
  sqlite::statement st(db,
                       "SELECT hex(id) || ' ' || (SELECT name FROM names WHERE id = type) || ' ' "
                       "|| (SELECT name FROM names WHERE id = team) || ' ' || deleted, cells FROM "
                       "records ORDER BY hex(id)");
  std::string out;
  while (st.step()) {
    std::map<std::string, std::string> by_key;
    for (const auto& c : sqlite::unpack_cells(sqlite::as_chars(st.blob(1)))) {
      const format_2_value v = format_2_of(c.val);
      std::string quoted = "NULL";
      if (v.number) quoted = std::to_string(*v.number);
      if (v.text) {
        quoted = "'";
        for (char ch : *v.text) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
        quoted += "'";
      }
      by_key[names.at(c.key)] = std::to_string(v.kind) + " " + quoted + " " +
                                std::to_string(c.at.time.packed) + " " + std::to_string(c.at.node) +
                                " " + (c.seq ? std::to_string(*c.seq) : std::string("NULL"));
    }
    for (const auto& [key, rest] : by_key) out += st.text(0) + " " + key + " " + rest + "\n";
  }
  return out;
}

// Rewrites a store of packed records into format 2's layout (records
// without last_seq and cells; cells a row each, with their seq index), in
// one transaction. The caller marks the format.
inline void unpack_to_format_2(const std::string& file) {
  sqlite::database db(file, sqlite::database::mode::open_existing);
  sqlite::transaction tx(db);
  db.exec(sqlite::cell_table::format_2_cells_sql);
  {
    sqlite::statement rows(db, "SELECT rid, cells FROM records");
    sqlite::statement put(db, "INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?, ?)");
    while (rows.step())
      for (const auto& c : sqlite::unpack_cells(sqlite::as_chars(rows.blob(1)))) {
        const format_2_value v = format_2_of(c.val);
        put.bind(1, rows.integer(0)).bind(2, c.key).bind(3, v.kind);
        if (v.number)
          put.bind(4, *v.number);
        else if (v.text)
          put.bind(4, *v.text);
        else
          put.bind_null(4);
        put.bind(5, static_cast<std::int64_t>(c.at.time.packed))
            .bind(6, static_cast<std::int64_t>(c.at.node));
        put.bind(7, c.seq).run();
        put.reset();
      }
  }
  db.exec(
      "DROP INDEX IF EXISTS records_by_seq; DROP INDEX IF EXISTS records_by_team_log; "
      "ALTER TABLE records DROP COLUMN cells; ALTER TABLE records DROP COLUMN last_seq;");
  tx.commit();
}

}  // namespace haven::test

#pragma once
// A table of names, each once with a small integer id - (id INTEGER PRIMARY
// KEY, name TEXT NOT NULL UNIQUE) - and this connection's copy of it, so that
// a hot path turns names into ids and back without a query. One connection's
// worth of state; not thread-safe. Rows are only ever added.

#include <cstdint>
#include <haven/sqlite/sqlite.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace haven::sqlite {

class name_table {
 public:
  // `table` names a table of that shape; `select_all` reads its (id, name)
  // rows and `insert` adds a name (?1) RETURNING its id: literals, as
  // database::cached asks.
  name_table(database& db, const char* table, const char* select_all, const char* insert)
      : db_(db), table_(table), select_all_(select_all), insert_(insert) {}

  // Reloads the copy if another connection committed or this one rolled back
  // since it was read. Asks SQLite once a transaction: inside a write
  // transaction no other connection commits. Requires: inside a transaction,
  // before intern() or name_of() in it.
  void refresh();
  // The id of `name`, adding it to the table if it is new.
  std::int64_t intern(std::string_view name);
  // The name of an id. Throws errc::store, saying the store is damaged, for
  // an id the table lacks.
  const std::string& name_of(std::int64_t id) const;
  // The name of an id, or nullptr for an id the table lacks.
  const std::string* find(std::int64_t id) const;
  // Forgets the copy: after the table was emptied, or a rollback made other
  // than by sqlite::transaction or sqlite::savepoint (which refresh() cannot
  // tell).
  void forget();
  // Changes whenever the copy is read again or forgotten: an id the caller
  // kept from an earlier generation may name nothing now, or another name.
  std::uint64_t generation() const { return generation_; }

 private:
  struct hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  database& db_;
  const char *table_, *select_all_, *insert_;
  std::unordered_map<std::string, std::int64_t, hash, std::equal_to<>> ids_;  // name -> id
  std::unordered_map<std::int64_t, std::string> names_;                       // id -> name
  std::optional<std::int64_t> data_version_;  // PRAGMA data_version when names were read
  std::uint64_t rollbacks_ = 0;               // db_.rollbacks() when names were read
  std::optional<std::uint64_t> checked_in_;   // db_.transactions() when names were last checked
  std::uint64_t generation_ = 0;
};

}  // namespace haven::sqlite

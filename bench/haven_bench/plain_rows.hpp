#pragma once
// The floor the stores are measured against: the same records as plain rows
// in SQLite, one table per record type with one column per field (a set
// field's codes as one text value) and a random 16-byte id as the primary
// key, opened as the stores open theirs (WAL, full synchronous commits).
// No CRDT: no clocks, no outbox, no log, no tally. Not thread-safe.

#include <cstdint>
#include <filesystem>
#include <haven/client/store.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace haven::bench {

class plain_rows {
 public:
  using durability = sqlite::transaction::durability;

  // A new database at `file` with a table for each record type in `records`
  // (their columns the fields the records use).
  plain_rows(const std::filesystem::path& file, const std::vector<client::record_input>& records);

  // Inserts each record in a transaction of its own.
  void insert_each(const std::vector<client::record_input>& records);
  // Inserts the records in transactions of `batch` records each.
  void insert_batched(const std::vector<client::record_input>& records, std::size_t batch,
                      durability d = durability::durable);
  // Values: the fields of `records` (what a store holds besides its bookkeeping).
  static std::size_t values(const std::vector<client::record_input>& records);
  // The file's size once its WAL is checkpointed into it.
  std::uintmax_t bytes();
  sqlite::database& db() { return db_; }

 private:
  void insert(const client::record_input& r);

  std::filesystem::path file_;
  sqlite::database db_;
  std::map<std::string, std::vector<std::string>> columns_;  // by record type
  std::map<std::string, std::unique_ptr<sqlite::statement>> inserts_;
  std::uint64_t next_id_ = 0x9e3779b97f4a7c15ull;
};

}  // namespace haven::bench

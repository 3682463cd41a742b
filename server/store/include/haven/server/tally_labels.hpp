#pragma once
// Part of tally_book: the tally_label table, whose ids name the row paths
// and column codes of the persons' leaves in tally_person, and the ids of
// the book's cell numbers (tally::cell_names) both ways, cached. Not
// thread-safe; the database and the names must outlive it.

#include <cstdint>
#include <haven/sqlite/name_table.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <haven/tally/cell_names.hpp>
#include <optional>
#include <unordered_map>
#include <vector>

namespace haven::server {

class tally_labels {
 public:
  // No path has more than `deepest` codes.
  tally_labels(sqlite::database& db, tally::cell_names& names, std::size_t deepest);

  // As name_table::refresh: before a write in a transaction (after a
  // rollback, of a savepoint too, it reads the labels again).
  void refresh();

  // The label id of a cell number, adding a label if it is new.
  std::int64_t label_of(std::uint32_t number);
  // The cell number of a label id, or none for an id the table lacks or a
  // label of more codes than a path has (a damaged table).
  std::optional<std::uint32_t> number_of(std::int64_t label);

 private:
  // Drops the cached ids when the table's copy changed: a rollback can take ids back.
  void check_generation();
  // Caches a number's label both ways.
  void remember(std::uint32_t number, std::int64_t label);

  sqlite::name_table table_;
  tally::cell_names& names_;
  std::size_t deepest_;
  std::uint64_t generation_ = 0;
  std::vector<std::int64_t> label_of_;                         // by cell number; 0 while unknown
  std::unordered_map<std::int64_t, std::uint32_t> number_of_;  // by label id
};

}  // namespace haven::server

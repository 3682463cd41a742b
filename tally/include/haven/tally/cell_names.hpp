#pragma once
// The row paths and column codes of the tallies, numbered as they are first
// met, so that the engine's hot path keys its cells by integers: a path's
// number knows the path one code shorter and how many codes it has. The
// numbers are one process's: a store keeps names, never these numbers. Not
// thread-safe.

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace haven::tally {

class cell_names {
 public:
  // The path "" (the grand total) and the column all_columns ("*").
  static constexpr std::uint32_t grand_total = 0, every_column = 1;

  cell_names();
  cell_names(const cell_names&) = delete;
  cell_names& operator=(const cell_names&) = delete;

  // The number of `name`, a row path ("", or codes each followed by '/') or
  // a column code, numbering it (and a path's shorter paths) if new. Takes
  // time and memory in the square of a path's codes: number stored text
  // only once its codes are known to be few.
  std::uint32_t number(std::string_view name);
  // The name of a number this table gave; the reference stays valid as long
  // as the table.
  const std::string& name(std::uint32_t n) const { return names_[n]; }

  // Whether a number names a path ("" or ending in '/'), not a code (""
  // names both: the grand total and the code of an empty field).
  bool is_path(std::uint32_t n) const { return shape_[n].path; }
  // For a path: the path one code shorter (grand_total for itself and for a
  // code), and how many codes it has (0 for a code).
  std::uint32_t parent(std::uint32_t path) const { return shape_[path].parent; }
  std::uint32_t depth(std::uint32_t path) const { return shape_[path].depth; }
  // Whether path `above` is `path` or a path it leads to (a prefix of it).
  bool leads_to(std::uint32_t above, std::uint32_t path) const;

 private:
  struct shape {
    std::uint32_t parent = 0, depth = 0;
    bool path = false;
  };
  std::uint32_t add(std::string_view name, shape s);

  std::deque<std::string> names_;  // a deque: name()'s references and the map's keys stay valid
  std::vector<shape> shape_;
  std::unordered_map<std::string_view, std::uint32_t> numbers_;
};

}  // namespace haven::tally

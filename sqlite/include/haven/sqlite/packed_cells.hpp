#pragma once
// A record's cells packed into one column value (records.cells), so that a
// merge reads and writes one row where it read and wrote a row a cell.
//
// The bytes: a varint count, then each cell in ascending key order:
//   varint  key, as the difference from the previous cell's key (the first's
//           from 0): names ids (from 1), each key once, ascending;
//   byte    tag: bits 0-2 the value's kind (null, integer, code, date,
//           boolean), bit 3 the boolean's value, bit 4 a time follows, bit 5
//           a node follows, bit 6 a seq follows;
//   value   integer: zigzag varint; code: varint length and its bytes; date:
//           zigzag varint of its days; null and boolean: nothing;
//   time    zigzag varint, the difference from the previous cell's time (the
//           first's from 0); absent: the same time;
//   node    varint; absent: the previous cell's node (the first always has one);
//   seq     zigzag varint, the difference from the previous cell's seq (or
//           from 0); absent: no seq.
// Cells written together share their stamp, so a cell of a record recorded
// at once takes about four bytes beside its value.

#include <cstdint>
#include <haven/core/value.hpp>
#include <haven/sync/change.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace haven::sqlite {

// One cell as a store keeps it: its key as the store's names id.
struct stored_cell {
  std::int64_t key = 0;
  value val;  // never a code_set
  sync::stamp at;
  std::optional<std::int64_t> seq;  // the store's seq of its last change, if any
  bool operator==(const stored_cell&) const = default;
};

// Packs cells given in ascending key order, each key once.
class cell_packer {
 public:
  explicit cell_packer(std::size_t count);
  // Throws errc::invalid_input for a code_set value or a key not above the
  // previous one or below 1 (a bug of the caller, never written).
  void add(std::int64_t key, const value& v, sync::stamp at, std::optional<std::int64_t> seq);
  // The packed bytes; throws unless exactly `count` cells were added.
  std::string take();

 private:
  std::string out_;
  std::size_t left_;
  std::int64_t key_ = 0;  // names ids start at 1
  sync::stamp at_{};
  std::int64_t seq_ = 0;
  bool first_ = true;
};

// The cells of packed bytes (none for empty bytes, a record without cells).
// Throws errc::store, saying the store is damaged, for bytes cell_packer
// cannot have written.
std::vector<stored_cell> unpack_cells(std::string_view packed);
// How many cells packed bytes hold, from their first varint.
std::size_t packed_count(std::string_view packed);
// How many of their cells have a seq above `seq`.
std::size_t count_seq_above(std::string_view packed, std::uint64_t seq);

}  // namespace haven::sqlite

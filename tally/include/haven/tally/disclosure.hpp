#pragma once
// Disclosure control for published tables: which cells to hide so that no
// hidden cell can be narrowed below k by what is published (cell
// suppression, as tau-ARGUS does it), and the audit that proves it with a
// linear program per hidden cell and bound (COIN-OR CLP). Plain values; every
// function is pure and thread-safe.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

namespace haven::tally::disclosure {

// One published number: its exact value and how many persons (or, with no
// person, records) it is computed from.
// Cells of one group (the measures of one table cell) are hidden together.
struct cell {
  static constexpr std::size_t alone = SIZE_MAX;
  std::int64_t value = 0;         // >= 0
  std::int64_t contributors = 0;  // >= 0
  std::size_t group = alone;
};

// What a reader knows ties cells together, besides every cell being >= 0.
enum class relation_kind {
  sum,    // total == the sum of the parts (counts and sums over a field with one code per record)
  cover,  // each part <= total <= the sum of the parts (distinct persons; set fields)
  bound,  // the sum of the parts <= total (e.g. persons <= records)
};

struct relation {
  relation_kind kind = relation_kind::sum;
  std::size_t total = 0;           // index into table::cells
  std::vector<std::size_t> parts;  // indices into table::cells
};

struct table {
  std::vector<cell> cells;
  std::vector<relation> relations;
};

// The values a hidden cell could take given everything published: from low
// to high (nullopt: no upper bound), over the reals (the LP relaxation).
struct interval {
  double low = 0;
  std::optional<double> high;
  bool at_least(std::int64_t k) const {
    return !high || *high - low >= static_cast<double>(k) - 1e-6;
  }
};

struct hidden_cell {
  std::size_t index = 0;
  interval range;
};

struct audit_result {
  std::int64_t k = 0;
  bool safe = true;                 // every hidden cell's range is at least k wide
  std::vector<hidden_cell> hidden;  // in cell order
};

// Cells a reader must not learn: 0 < contributors < k.
bool sensitive(const cell& c, std::int64_t k);

// The range of every hidden cell (hidden[i] for cells[i]) given the
// published cells and the relations. Requires: hidden.size() == cells.size(),
// k >= 1. Throws failure(errc::internal) if the solver fails.
audit_result audit(const table& t, const std::vector<bool>& hidden, std::int64_t k);

// The cells to hide: every sensitive cell, and then, one at a time, the
// cell (with its group) that protects an unsafe hidden cell at the least cost (a leaf before
// a total, a value of k or more before a smaller one, the smallest first),
// until audit() finds every hidden cell safe; that audit with them. Always
// ends: with every cell of a relation hidden, nothing bounds them from above.
struct suppression {
  std::vector<bool> hidden;  // hidden[i] for cells[i]
  audit_result audit;        // safe
};
suppression suppress(const table& t, std::int64_t k);

}  // namespace haven::tally::disclosure

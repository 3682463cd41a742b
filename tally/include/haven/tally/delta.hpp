#pragma once
// The net change of a batch of contributions, summed in memory before a
// tally store writes it, so that a cell many records of a batch share is
// written once; and, for distinct measures, which cells a person enters or
// leaves as the records that put them in a leaf come and go. Cells are
// numbered by the caller's cell_names. Pure: the store reads and writes what
// it asks for. Not thread-safe.

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <haven/tally/cell_names.hpp>
#include <haven/tally/contribution.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace haven::tally {

class delta {
 public:
  // `names` numbers every cell added and must outlive the delta.
  explicit delta(const cell_names& names) : names_(names) {}

  // A person's records per leaf: a month's leaf cell (a full row path, one
  // column code; all_columns without a column field) of a distinct measure,
  // sorted by cell, each once, none 0. A person is in a cell above the
  // leaves, or in a year's cell, exactly when some month leaf below it holds
  // them, as a record counts in the months of each year it counts in.
  using leaf_counts = std::vector<std::pair<cell_key, std::int64_t>>;

  // Adds the contribution (sign +1) or retracts it (sign -1). Throws
  // failure(errc::invalid_input) when a sum would pass what 64 bits hold.
  // Requires: `c` names persons in month leaves only, as count_cells does.
  void add(const record_cells& c, std::int64_t sign);

  // The persons whose leaves the batch changes (a net count not 0), sorted.
  std::vector<std::string_view> persons();

  // Applies person `who`'s change to the leaf counts stored for them
  // (`before`, in every tally and measure) and counts the person in or out
  // of each cell, at any level of month and year, they enter or leave.
  // Returns the counts after. Throws failure(errc::store) when a count
  // would go below 0 (a retraction of what was never counted: the stored
  // tally must be replayed).
  leaf_counts apply_person(std::string_view who, const leaf_counts& before);

  // The net change of every amount: count and sum measures, and distinct
  // measures once apply_person has run for every person. Some may be 0.
  struct key_hash {
    std::size_t operator()(const cell_key& k) const;
  };
  // Open addressing (Boost's flat map): a batch adds to it a few hundred thousand times.
  using amount_map = boost::unordered_flat_map<cell_key, std::int64_t, key_hash>;
  const amount_map& amounts() const { return amounts_; }

  // a + b; throws failure(errc::invalid_input) past what 64 bits hold.
  static std::int64_t checked_sum(std::int64_t a, std::int64_t b);

 private:
  struct text_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Whether some leaf of `leaves` (sorted) puts a person in `cell`.
  bool holds_any(const cell_key& cell, const leaf_counts& leaves) const;

  const cell_names& names_;
  std::vector<cell_key> cells_;  // apply_person's, kept for its memory
  amount_map amounts_;           // a batch touches thousands: hashed, not ordered
  // Each person's changes of leaves, as added (unsorted, a leaf maybe more
  // than once) until persons() or apply_person() nets them.
  std::unordered_map<std::string, leaf_counts, text_hash, std::equal_to<>> persons_;
};

}  // namespace haven::tally

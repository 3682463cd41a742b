#pragma once
// The net change of a batch of contributions, summed in memory before a
// tally store writes it, so that a cell many records of a batch share is
// written once; and, for distinct measures, which cells a person enters or
// leaves as the records that put them in a leaf come and go. Pure: the store
// reads and writes what it asks for. Not thread-safe.

#include <cstdint>
#include <haven/tally/contribution.hpp>
#include <map>
#include <string>
#include <unordered_map>

namespace haven::tally {

class delta {
 public:
  // One distinct measure of one person.
  struct person_key {
    std::uint32_t tally = 0, measure = 0;
    std::string person;
    auto operator<=>(const person_key&) const = default;
  };
  // A leaf cell (a full row path, one column code; all_columns without a
  // column field) of a month. A person is in a year's cell exactly when some
  // month of the year puts them there, as contribution_of counts every
  // record in the months of each year it counts in.
  struct leaf {
    tally_period period;
    std::string path, column;
    auto operator<=>(const leaf&) const = default;
  };
  // Records per month leaf: those that put a person there, or a change of them.
  using leaf_counts = std::map<leaf, std::int64_t>;

  // Adds the contribution (sign +1) or retracts it (sign -1). Throws
  // failure(errc::invalid_input) when a sum would pass what 64 bits hold.
  // Requires: `c` names persons in month leaves only, as contribution_of does.
  void add(const tally_contribution& c, std::int64_t sign);

  // Each person's change of records per leaf; some changes may be 0.
  const std::map<person_key, leaf_counts>& persons() const { return persons_; }

  // Applies person `who`'s change to the leaf counts stored for them
  // (`before`, within the years the change touches or more) and counts the
  // person in or out of each cell, at any level of month and year, they
  // enter or leave.
  // Returns the counts after (leaves of 0 left out). Throws
  // failure(errc::store) when a count would go below 0 (a retraction of
  // what was never counted: the stored tally must be replayed).
  leaf_counts apply_person(const person_key& who, const leaf_counts& before);

  // The net change of every amount: count and sum measures, and distinct
  // measures once apply_person has run for every person. Some may be 0.
  struct key_hash {
    std::size_t operator()(const tally_key& k) const;
  };
  using amount_map = std::unordered_map<tally_key, std::int64_t, key_hash>;
  const amount_map& amounts() const { return amounts_; }

  // a + b; throws failure(errc::invalid_input) past what 64 bits hold.
  static std::int64_t checked_sum(std::int64_t a, std::int64_t b);

  void clear();

 private:
  amount_map amounts_;  // a batch touches thousands: hashed, not ordered
  std::map<person_key, leaf_counts> persons_;
};

}  // namespace haven::tally

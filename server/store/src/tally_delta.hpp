#pragma once
// Private to tally_book: the net change of a batch of contributions, summed
// in memory and then written to tally_value and tally_person, so that a cell
// many records of a batch share is written once. Not thread-safe.

#include <cstdint>
#include <haven/schema/tally.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <haven/tally/contribution.hpp>
#include <map>
#include <string>
#include <vector>

#include "tally_tables.hpp"

namespace haven::server {

class tally_delta {
 public:
  // Requires: `tallies` (the schema's) outlives this.
  explicit tally_delta(const std::vector<tally_def>& tallies) : tallies_(tallies) {}

  // Adds the contribution (sign +1) or retracts it (sign -1).
  void add(const tally_contribution& c, std::int64_t sign);

  // Writes the sum to the tables and clears it. Requires: inside a
  // transaction. Throws failure(errc::store), also when the tables
  // contradict the sum (a retraction of what was never counted).
  void write(sqlite::database& db);

 private:
  // One distinct measure of one person: the rows of tally_person it owns.
  struct person_key {
    std::uint32_t tally = 0, measure = 0;
    std::string person;
    auto operator<=>(const person_key&) const = default;
  };
  struct leaf {
    tally_period period;
    std::string path, column;
    auto operator<=>(const leaf&) const = default;
  };

  bool is_leaf(const tally_key& key) const;
  bool counts_up(const tally_key& key) const;
  void write_person(sqlite::database& db, const person_key& who,
                    const std::map<leaf, std::int64_t>& change);

  const std::vector<tally_def>& tallies_;
  std::map<tally_key, std::int64_t> amounts_;
  std::map<person_key, std::map<leaf, std::int64_t>> persons_;
};

}  // namespace haven::server

#pragma once
// Random but valid field work for end-to-end tests: new records of every
// type as a field worker would enter them, and edits of existing ones.

#include <haven/client/store.hpp>
#include <haven/schema/pseudonym.hpp>
#include <random>
#include <string>
#include <vector>

namespace haven::test {

class field_work {
 public:
  // `persons`: how many distinct pseudonyms to draw from (fewer: more
  // repeat contacts, which the distinct-person tallies must count once).
  field_work(unsigned seed, int persons = 12) : rng_(seed), persons_(persons) {}

  // A valid new record of a random type.
  client::record_input new_record();
  // A random edit of `r` (type-aware); it may break a rule, in which case
  // the store refuses it and nothing changes.
  std::vector<client::field_edit> edit(const client::record& r);

  std::mt19937& rng() { return rng_; }
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

 private:
  std::string any(const std::vector<std::string>& codes) {
    return codes[static_cast<std::size_t>(pick(static_cast<int>(codes.size())))];
  }
  std::string some(const std::vector<std::string>& codes);  // comma-separated, maybe empty
  std::string day(int year);                                // a date in that year
  std::string person() { return with_check_symbol("PK-" + std::to_string(1000 + pick(persons_))); }

  std::mt19937 rng_;
  int persons_;
};

}  // namespace haven::test

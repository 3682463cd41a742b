#pragma once
// Changes that the codec tests send: values of every kind, extreme stamps,
// an empty record and an empty team.

#include <haven/core/value.hpp>
#include <limits>
#include <string>
#include <vector>

#include "test_cells.hpp"

namespace haven::test {

// Cells holding a value of every kind, at extreme stamps too.
inline std::vector<cell> cells_of_every_kind() {
  return {
      make_cell("site", std::string("vic"), at(1'700'000'000'000, 0, 1)),
      make_cell("participants", std::int64_t{2534}, at(1'700'000'000'000, 1, 1)),
      make_cell("smallest", std::numeric_limits<std::int64_t>::min(), at(0, 0, 0)),
      make_cell("largest", std::numeric_limits<std::int64_t>::max(),
                at((std::uint64_t{1} << 48) - 1, 0xffff, ~node_id{0})),
      make_cell("date", from_civil(2025, 3, 1), at(2, 3, 4)),
      make_cell("before_epoch", from_civil(1900, 1, 1), at(2, 3, 4)),
      make_cell("services.food", true, at(5, 0, 7)),
      make_cell("services.escort", false, at(5, 0, 7)),
      make_cell("referral", value{}, at(6, 0, 7)),
      make_cell("", std::string(), at(6, 1, 7)),
      make_cell("k", std::string(128, 'x'), at(6, 2, 7)),  // a code at the key limit
      deletion(at(7, 0, 8)),
  };
}

inline std::vector<record_change> sample_changes() {
  return {
      change_of(id_of(1), cells_of_every_kind()),
      change_of(id_of(2), {deletion(at(9, 0, 2))}, "assistance_case", "crisis-team"),
      change_of(id_of(3), {}, "on_call_event", ""),
  };
}

}  // namespace haven::test

#pragma once
// What the sync tests share: short ways to write record ids, stamps, cells
// and changes, and reproducible random ids.

#include <cstdint>
#include <haven/sync/change.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace haven::test {

using sync::cell;
using sync::hlc;
using sync::node_id;
using sync::record_change;
using sync::record_id;
using sync::stamp;

// The id 00..00nn: readable ids for hand-written cases.
inline record_id id_of(std::uint8_t n) {
  record_id id;
  id.bytes.back() = n;
  return id;
}

// An id drawn from a seeded generator, so a failing seed replays exactly.
inline record_id random_id(std::mt19937_64& rng) {
  record_id id;
  for (auto& b : id.bytes) b = static_cast<std::uint8_t>(rng());
  return id;
}

inline stamp at(std::uint64_t millis, std::uint16_t counter, node_id node) {
  return stamp{hlc::make(millis, counter), node};
}

inline cell make_cell(std::string key, value v, stamp s) {
  return cell{std::move(key), std::move(v), s};
}

// The deletion marker of a record, written at `s`.
inline cell deletion(stamp s) {
  return cell{std::string(sync::deleted_key), true, s};
}

inline record_change change_of(record_id id, std::vector<cell> cells,
                               std::string type = "pats_session", std::string team = "team-a") {
  return record_change{id, std::move(type), std::move(team), std::move(cells)};
}

}  // namespace haven::test

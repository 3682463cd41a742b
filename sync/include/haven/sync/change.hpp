#pragma once
// The units that replicas exchange: cells, stamped with (HLC, node id), and
// record_change, the cells of one record with its immutable type and team.

#include <array>
#include <compare>
#include <cstdint>
#include <haven/core/value.hpp>
#include <haven/sync/hlc.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace haven::sync {

using node_id = std::uint64_t;

// 128 random bits; shown as 32 lowercase hex characters.
struct record_id {
  std::array<std::uint8_t, 16> bytes{};

  static record_id random();
  // nullopt unless `hex` is exactly 32 hex characters.
  static std::optional<record_id> parse(std::string_view hex);
  std::string hex() const;
  auto operator<=>(const record_id&) const = default;
};

// The total order of writes: greater HLC wins, then greater node id.
struct stamp {
  hlc time;
  node_id node = 0;
  auto operator<=>(const stamp&) const = default;
};

// One field value of one record. Keys: a field key ("site"), a set element
// ("services.food", boolean), or the deletion marker "_deleted".
struct cell {
  std::string key;
  value val;  // never a code_set
  stamp at;
  bool operator==(const cell&) const = default;
};

inline constexpr std::string_view deleted_key = "_deleted";

// "services.food" for element "food" of set field "services".
std::string element_key(std::string_view field, std::string_view code);
// Splits "services.food" into {"services", "food"}; nullopt for a plain key.
std::optional<std::pair<std::string_view, std::string_view>> split_element_key(
    std::string_view key);

// The cells of one record that a replica sends or applies together.
struct record_change {
  record_id id;
  std::string type;
  std::string team;
  std::vector<cell> cells;
  bool operator==(const record_change&) const = default;
};

// Folds cell values into record fields: "services.x"=true cells become the
// code_set "services"; "_deleted" and null cells are left out.
field_map fields_from_cells(const std::vector<cell>& cells);

// The cells of all the changes.
std::size_t cell_count(const std::vector<record_change>& changes);

}  // namespace haven::sync

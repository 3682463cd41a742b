// A record's packed cells: random cells (every value kind, stamps shared or
// not, seqs or none, keys far apart) unpack to what was packed, and bytes
// cell_packer cannot have written - every cut of packed bytes, each byte
// changed, random bytes - are refused as a damaged store, never read past.
#include <catch2/catch.hpp>
#include <haven/sqlite/packed_cells.hpp>
#include <limits>

#include "../support/dice.hpp"

using namespace haven;
using haven::test::dice;

namespace {

std::vector<sqlite::stored_cell> random_cells(dice& d) {
  std::vector<sqlite::stored_cell> out;
  std::int64_t key = 0;
  const sync::stamp shared{sync::hlc::make(1'700'000'000'000 + d.below(1000), 0), 0x5eed};
  std::int64_t seq = d.between(1, 1'000'000);
  for (std::size_t i = 0, n = d.below(20); i < n; ++i) {
    key += d.chance(0.1) ? d.between(1, std::numeric_limits<std::int32_t>::max()) : d.between(1, 3);
    sqlite::stored_cell c{key, {}, shared, std::nullopt};
    switch (d.below(5)) {
      case 0:
        break;
      case 1:
        c.val = d.between(std::numeric_limits<std::int64_t>::min(),
                          std::numeric_limits<std::int64_t>::max());
        break;
      case 2:
        c.val = std::string(d.below(40), static_cast<char>('a' + d.below(26)));
        break;
      case 3:
        c.val = date{static_cast<std::int32_t>(d.between(-1'000'000, 1'000'000))};
        break;
      default:
        c.val = d.chance(0.5);
    }
    if (d.chance(0.3))
      c.at = {sync::hlc{d.between(0, std::numeric_limits<std::int64_t>::max()) + 0ull},
              static_cast<sync::node_id>(d.between(0, std::numeric_limits<std::int64_t>::max()))};
    if (d.chance(0.7)) c.seq = seq += d.between(-5, 50);
    out.push_back(std::move(c));
  }
  return out;
}

std::string pack(const std::vector<sqlite::stored_cell>& cells) {
  sqlite::cell_packer packer(cells.size());
  for (const auto& c : cells) packer.add(c.key, c.val, c.at, c.seq);
  return packer.take();
}

// Unpacks `bytes`: true if they are refused as damaged, false if read.
bool refused(std::string_view bytes) {
  try {
    (void)sqlite::unpack_cells(bytes);
    return false;
  } catch (const failure& e) {
    CHECK(e.err().code == errc::store);
    return true;
  }
}

}  // namespace

TEST_CASE("packed cells unpack to what was packed", "[sqlite][packed_cells]") {
  dice d(GENERATE(1u, 2u, 3u, 4u, 5u));
  for (int round = 0; round < 200; ++round) {
    const auto cells = random_cells(d);
    const std::string bytes = pack(cells);
    CHECK(sqlite::unpack_cells(bytes) == cells);
    CHECK(sqlite::packed_count(bytes) == cells.size());
  }
  CHECK(sqlite::unpack_cells("").empty());
}

TEST_CASE("cells written together take a few bytes each beside their values",
          "[sqlite][packed_cells]") {
  const sync::stamp at{sync::hlc::make(1'700'000'000'000, 3), 0x7a11c0ffee};
  std::vector<sqlite::stored_cell> cells;
  for (std::int64_t key = 1; key <= 14; ++key) cells.push_back({key, true, at, 100 + key});
  // A key, a tag and a seq delta a cell; the stamp once.
  CHECK(pack(cells).size() <= 14 * 3 + 20);
}

TEST_CASE("damaged packed cells are refused as a damaged store", "[sqlite][packed_cells]") {
  dice d(7);
  for (int round = 0; round < 100; ++round) {
    auto cells = random_cells(d);
    if (cells.empty()) continue;
    const std::string bytes = pack(cells);
    for (std::size_t cut = 1; cut < bytes.size(); ++cut)
      CHECK(refused(std::string_view(bytes).substr(0, cut)));
    CHECK(refused(bytes + '\0'));
    for (std::size_t at = 0; at < bytes.size(); ++at) {
      std::string changed = bytes;
      changed[at] = static_cast<char>(d.below(256));
      (void)refused(changed);  // refused or read as other cells; never read past
    }
  }
  for (int round = 0; round < 2000; ++round) {
    std::string noise(d.below(64) + 1, '\0');
    for (char& c : noise) c = static_cast<char>(d.below(256));
    (void)refused(noise);
  }
  // Keys out of order, a key overflowing, a date out of range.
  CHECK(refused(std::string("\x02\x01\x30\x00\x00\x00", 6)));  // a second key of step 0
  CHECK(refused(std::string("\x01\x00\x30\x00\x00", 5)));      // a first key of 0
  CHECK(refused(std::string("\x02\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x30\x00\x00", 13) +
                std::string("\x01\x30\x00\x00", 4)));  // a second key past INT64_MAX
  CHECK(refused(std::string("\x01\x01\x33\xff\xff\xff\xff\x3f\x00\x00", 10)));
  // And a set, which no cell holds, is never packed.
  sqlite::cell_packer packer(1);
  CHECK_THROWS(packer.add(1, value{code_set{"a"}}, {}, std::nullopt));
}

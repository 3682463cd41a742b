// The property the whole design rests on: replicas that record offline and
// exchange changes in any order, with duplicates and with losses that are
// retried, end in the same state, and that state is the one computed directly
// from the union of all changes.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <haven/sync/hlc.hpp>
#include <haven/sync/merge.hpp>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "test_cells.hpp"

using namespace haven;
using namespace haven::sync;
using namespace haven::test;

namespace {

// The fields the devices write, per record type: scalar keys with a small
// pool of values (so that concurrent writes often collide) and a set field.
struct type_shape {
  std::string name;
  std::vector<std::pair<std::string, std::vector<value>>> scalars;
  std::string set_field;  // empty: none
  std::vector<std::string> elements;
};

const std::vector<type_shape>& shapes() {
  static const std::vector<type_shape> all = {
      {"pats_session",
       {{"site", {std::string("vic"), std::string("logatec"), std::string("postojna"), value{}}},
        {"format", {std::string("individual"), std::string("group")}},
        {"participants", {std::int64_t{1}, std::int64_t{12}, std::int64_t{40}, value{}}},
        {"date", {from_civil(2025, 3, 1), from_civil(2025, 3, 2)}}},
       "topics",
       {"thb", "sexual-violence", "gbv"}},
      {"assistance_case",
       {{"programme", {std::string("crisis-accommodation"), std::string("reintegration")}},
        {"nationality", {std::string("SI"), std::string("UA"), std::string("XX")}},
        {"admitted", {from_civil(2025, 1, 1), from_civil(2025, 1, 5), value{}}}},
       "services",
       {"food", "escort", "accommodation", "legal-information"}},
      {"on_call_event",
       {{"caller", {std::string("police"), std::string("ngo")}},
        {"response_minutes", {std::int64_t{0}, std::int64_t{15}, value{}}}},
       "",
       {}},
  };
  return all;
}

const type_shape& shape_of(const std::string& type) {
  for (const auto& s : shapes())
    if (s.name == type) return s;
  FAIL("no shape for " << type);
  return shapes().front();
}

template <class T>
const T& pick(std::mt19937_64& rng, const std::vector<T>& items) {
  return items[rng() % items.size()];
}

bool chance(std::mt19937_64& rng, int percent) {
  return static_cast<int>(rng() % 100) < percent;
}

struct device {
  node_id node;
  hlc_clock clock;
  memory_replica replica;
  std::vector<record_change> own;    // the changes this device made
  std::vector<record_change> known;  // own and received ones: what it passes on
};

struct delivery {
  std::size_t to;
  record_change change;
};

// Counts over all seeds, to show the scenarios really happened.
struct tally {
  std::size_t changes = 0, deliveries = 0, drops = 0, duplicates = 0, reissued_stamps = 0;
  std::size_t discarded_cells = 0, superseded_cells = 0;
};

// One seeded run: devices, a shared physical clock, and the network between them.
class world {
 public:
  world(std::uint64_t seed, tally& counts) : rng_(seed), counts_(counts) {
    const std::size_t n = 3 + rng_() % 3;
    for (std::size_t i = 0; i < n; ++i) {
      // Some devices run a little ahead or behind, within the skew bound;
      // others share the clock exactly, so equal HLCs happen across nodes.
      const std::int64_t offset =
          chance(rng_, 50) ? 0 : static_cast<std::int64_t>(rng_() % 120'001) - 60'000;
      devices_.push_back(
          device{static_cast<node_id>(100 + (n - i) * 7),  // node order unlike device order
                 hlc_clock(hlc_clock::default_max_skew_ms,
                           [this, offset] {
                             return static_cast<std::uint64_t>(static_cast<std::int64_t>(now_ms_) +
                                                               offset);
                           }),
                 {},
                 {},
                 {}});
    }
  }

  world(const world&) = delete;
  world& operator=(const world&) = delete;

  void run(int steps) {
    for (int s = 0; s < steps; ++s) {
      const int roll = static_cast<int>(rng_() % 100);
      if (roll < 55) {
        advance_time();
        local_change(devices_[rng_() % devices_.size()]);
      } else if (roll < 90) {
        exchange();
      } else {
        retry_dropped(50);
      }
    }
    retry_dropped(100);
    anti_entropy();
  }

  const std::vector<device>& devices() const { return devices_; }

  std::vector<record_change> all_changes() const {
    std::vector<record_change> out;
    for (const auto& d : devices_) out.insert(out.end(), d.own.begin(), d.own.end());
    return out;
  }

 private:
  void advance_time() {
    const int roll = static_cast<int>(rng_() % 100);
    if (roll < 35) return;  // frozen: several writes in one millisecond
    if (roll < 75)
      now_ms_ += 1 + rng_() % 5;
    else
      now_ms_ += 1 + rng_() % 5000;
  }

  cell stamped(device& d, std::string key, value v) {
    return cell{std::move(key), std::move(v), stamp{d.clock.now(), d.node}};
  }

  void scalar_cells(device& d, const type_shape& shape, std::vector<cell>& cells, int percent) {
    for (const auto& [key, pool] : shape.scalars)
      if (chance(rng_, percent)) cells.push_back(stamped(d, key, pick(rng_, pool)));
  }

  void any_scalar_cell(device& d, const type_shape& shape, std::vector<cell>& cells) {
    const auto& [key, pool] = pick(rng_, shape.scalars);
    cells.push_back(stamped(d, key, pick(rng_, pool)));
  }

  // The live records this device knows, to edit or delete.
  std::vector<record_id> live_records(const device& d) const {
    std::vector<record_id> out;
    for (const auto& [id, rec] : d.replica.records())
      if (!rec.deleted) out.push_back(id);
    return out;
  }

  // A faulty device (say, restored from a backup with its clock) writes its
  // last cell again at the same stamp with another value: for an equal stamp
  // the value must decide, the same way everywhere.
  bool reissued_stamp(device& d) {
    if (d.own.empty() || !chance(rng_, 3)) return false;
    const record_change& last = d.own.back();
    cell c = last.cells.front();
    if (c.key == deleted_key) return false;
    if (const bool* b = std::get_if<bool>(&c.val)) {
      c.val = !*b;
    } else {
      for (const auto& [key, pool] : shape_of(last.type).scalars)
        if (key == c.key) c.val = pick(rng_, pool);
    }
    record_change again{last.id, last.type, last.team, {c}};
    d.replica.apply(again);
    d.own.push_back(again);
    d.known.push_back(std::move(again));
    ++counts_.reissued_stamps;
    return true;
  }

  void local_change(device& d) {
    if (reissued_stamp(d)) return;
    const auto live = live_records(d);
    const int roll = static_cast<int>(rng_() % 100);
    record_change change;
    if (live.empty() || roll < 25) {
      const type_shape& shape = pick(rng_, shapes());
      change =
          record_change{random_id(rng_), shape.name, chance(rng_, 80) ? "team-a" : "team-b", {}};
      scalar_cells(d, shape, change.cells, 70);
      if (!shape.set_field.empty())
        for (int i = static_cast<int>(rng_() % 3); i > 0; --i)
          change.cells.push_back(
              stamped(d, element_key(shape.set_field, pick(rng_, shape.elements)), true));
      if (change.cells.empty()) any_scalar_cell(d, shape, change.cells);
    } else {
      const record_id id = pick(rng_, live);
      const auto& rec = d.replica.records().at(id);
      const type_shape& shape = shape_of(rec.type);
      change = record_change{id, rec.type, rec.team, {}};
      if (roll >= 90) {
        change.cells.push_back(stamped(d, std::string(deleted_key), true));
      } else if (roll >= 60 && !shape.set_field.empty()) {
        // Add or remove one element of the set.
        change.cells.push_back(
            stamped(d, element_key(shape.set_field, pick(rng_, shape.elements)), chance(rng_, 50)));
      } else {
        scalar_cells(d, shape, change.cells, 40);
        if (change.cells.empty()) any_scalar_cell(d, shape, change.cells);
      }
    }
    d.replica.apply(change);
    d.own.push_back(change);
    d.known.push_back(change);
    ++counts_.changes;
  }

  void receive(std::size_t to, const record_change& change) {
    device& d = devices_[to];
    for (const cell& c : change.cells)
      if (auto observed = d.clock.observe(c.at.time); !observed) FAIL(observed.err().message);
    const merge_stats stats = d.replica.apply(change);
    counts_.discarded_cells += stats.discarded;
    counts_.superseded_cells += stats.superseded;
    d.known.push_back(change);
    ++counts_.deliveries;
  }

  // One device sends some of what it knows to another, in random order, with
  // repeats; some messages are lost and retried later.
  void exchange() {
    const std::size_t from = rng_() % devices_.size();
    std::size_t to = rng_() % (devices_.size() - 1);
    if (to >= from) ++to;
    const auto& known = devices_[from].known;
    if (known.empty()) return;
    std::vector<record_change> batch;
    for (int i = 1 + static_cast<int>(rng_() % 6); i > 0; --i) batch.push_back(pick(rng_, known));
    if (chance(rng_, 20)) {
      batch.push_back(batch.front());
      ++counts_.duplicates;
    }
    std::shuffle(batch.begin(), batch.end(), rng_);
    for (const auto& change : batch) {
      if (chance(rng_, 15)) {
        dropped_.push_back({to, change});
        ++counts_.drops;
      } else {
        receive(to, change);
      }
    }
  }

  void retry_dropped(int percent) {
    std::shuffle(dropped_.begin(), dropped_.end(), rng_);
    std::vector<delivery> still_lost;
    for (const auto& d : dropped_) {
      if (chance(rng_, percent))
        receive(d.to, d.change);
      else
        still_lost.push_back(d);
    }
    dropped_ = std::move(still_lost);
  }

  // Finally every device gets every change, each in its own order.
  void anti_entropy() {
    const auto all = all_changes();
    for (std::size_t to = 0; to < devices_.size(); ++to) {
      auto shuffled = all;
      std::shuffle(shuffled.begin(), shuffled.end(), rng_);
      for (const auto& change : shuffled) receive(to, change);
    }
  }

  std::mt19937_64 rng_;
  tally& counts_;
  std::uint64_t now_ms_ = 1'700'000'000'000;
  std::vector<device> devices_;  // their clocks read now_ms_ through `this`: a world never moves
  std::vector<delivery> dropped_;
};

// The expected state, computed straight from the changes: for each record,
// deleted if any deletion exists (holding only the greatest deletion cell),
// else per key the cell with the greatest (hlc, node, value).
struct expected_record {
  std::string type, team;
  bool deleted = false;
  std::map<std::string, cell> cells;
};

bool greater(const cell& a, const cell& b) {
  return std::make_tuple(a.at.time.packed, a.at.node) !=
                 std::make_tuple(b.at.time.packed, b.at.node)
             ? std::make_tuple(a.at.time.packed, a.at.node) >
                   std::make_tuple(b.at.time.packed, b.at.node)
             : b.val < a.val;
}

void keep_greatest(std::map<std::string, cell>& cells, const cell& c) {
  auto [it, inserted] = cells.try_emplace(c.key, c);
  if (!inserted && greater(c, it->second)) it->second = c;
}

std::map<record_id, expected_record> oracle(const std::vector<record_change>& changes) {
  std::map<record_id, expected_record> values, deletions;
  for (const auto& change : changes) {
    for (auto* out : {&values, &deletions}) {
      auto& rec = (*out)[change.id];
      rec.type = change.type;
      rec.team = change.team;
    }
    for (const cell& c : change.cells) {
      const bool is_delete = c.key == deleted_key && c.val == value{true};
      keep_greatest((is_delete ? deletions : values)[change.id].cells, c);
    }
  }
  for (auto& [id, rec] : values) {
    auto& del = deletions.at(id);
    if (!del.cells.empty()) {
      rec.deleted = true;
      rec.cells = std::move(del.cells);
    }
  }
  return values;
}

// What differs between a replica and the expected state, one line a difference.
std::vector<std::string> differences(
    const std::map<record_id, memory_replica::record_state>& actual,
    const std::map<record_id, expected_record>& expected) {
  std::vector<std::string> out;
  for (const auto& [id, got] : actual)
    if (!expected.count(id)) out.push_back(id.hex() + ": unexpected record");
  for (const auto& [id, want] : expected) {
    const std::string name = id.hex() + ": ";
    const auto found = actual.find(id);
    if (found == actual.end()) {
      out.push_back(name + "missing");
      continue;
    }
    const auto& got = found->second;
    if (got.type != want.type || got.team != want.team)
      out.push_back(name + "type or team " + got.type + "/" + got.team);
    if (got.deleted != want.deleted)
      out.push_back(name + (got.deleted ? "deleted" : "not deleted"));
    for (const auto& [key, c] : got.cells) {
      const auto w = want.cells.find(key);
      if (c.key != key) out.push_back(name + key + " holds a cell keyed " + c.key);
      if (w == want.cells.end())
        out.push_back(name + key + " should not be held");
      else if (!(w->second == c))
        out.push_back(
            name + key + " = " + to_text(c.val) + " at " + std::to_string(c.at.time.packed) + "/" +
            std::to_string(c.at.node) + ", expected " + to_text(w->second.val) + " at " +
            std::to_string(w->second.at.time.packed) + "/" + std::to_string(w->second.at.node));
    }
    for (const auto& [key, c] : want.cells)
      if (!got.cells.count(key)) out.push_back(name + key + " is missing");
    // The data of a deleted record is gone: only its marker remains.
    if (got.deleted && (got.cells.size() != 1 || got.cells.begin()->first != deleted_key))
      out.push_back(name + "deleted but holds other cells");
  }
  return out;
}

// How many (record, key) pairs got writes from different nodes at one equal
// hlc: the node then decides.
std::size_t hlc_ties(const std::vector<record_change>& changes) {
  std::map<std::tuple<record_id, std::string, std::uint64_t>, std::set<node_id>> writers;
  for (const auto& change : changes)
    for (const cell& c : change.cells)
      writers[{change.id, c.key, c.at.time.packed}].insert(c.at.node);
  return static_cast<std::size_t>(std::count_if(writers.begin(), writers.end(),
                                                [](const auto& w) { return w.second.size() > 1; }));
}

}  // namespace

TEST_CASE("replicas converge to the state of the union of all changes", "[sync][convergence]") {
  tally counts;
  std::size_t records = 0, deleted = 0, ties = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    CAPTURE(seed);
    world w(seed, counts);
    w.run(200);

    const auto& devices = w.devices();
    for (std::size_t i = 1; i < devices.size(); ++i) {
      CAPTURE(i);
      REQUIRE(devices[i].replica == devices[0].replica);
    }
    const auto changes = w.all_changes();
    const auto expected = oracle(changes);
    REQUIRE(differences(devices[0].replica.records(), expected) == std::vector<std::string>{});

    records += expected.size();
    for (const auto& [id, rec] : expected) deleted += rec.deleted;
    ties += hlc_ties(changes);
  }
  INFO("changes " << counts.changes << ", deliveries " << counts.deliveries << ", drops "
                  << counts.drops << ", duplicates " << counts.duplicates << ", records " << records
                  << ", deleted " << deleted << ", equal-hlc writes " << ties
                  << ", reissued stamps " << counts.reissued_stamps << ", cells discarded "
                  << counts.discarded_cells << ", superseded " << counts.superseded_cells);
  // The runs exercised what they claim to.
  CHECK(deleted > 200);
  CHECK(records - deleted > 1000);
  CHECK(ties > 10);
  CHECK(counts.reissued_stamps > 100);
  CHECK(counts.discarded_cells > 1000);
  CHECK(counts.superseded_cells > 1000);
  CHECK(counts.drops > 500);
  CHECK(counts.duplicates > 100);
}

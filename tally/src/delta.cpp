#include <algorithm>
#include <haven/core/result.hpp>
#include <haven/tally/delta.hpp>
#include <stdexcept>

namespace haven::tally {
namespace {

// Sorts a list of changes by leaf and sums each leaf's, leaving out those of 0.
void net(delta::leaf_counts& changes) {
  std::sort(changes.begin(), changes.end());
  auto out = changes.begin();
  for (auto c = changes.begin(); c != changes.end();) {
    const cell_key leaf = c->first;
    std::int64_t n = 0;
    for (; c != changes.end() && c->first == leaf; ++c) n += c->second;
    if (n != 0) *out++ = {leaf, n};
  }
  changes.erase(out, changes.end());
}

}  // namespace

std::int64_t delta::checked_sum(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out))
    throw failure(errc::invalid_input,
                  "refused: a tally sum would pass the largest number a tally holds (" +
                      std::to_string(a) + " + " + std::to_string(b) +
                      "); nothing of this push was saved");
  return out;
}

std::size_t delta::key_hash::operator()(const cell_key& k) const {
  std::uint64_t h = (std::uint64_t{k.tally} << 32 | k.measure) * 0x9e3779b97f4a7c15ULL;
  h ^= (std::uint64_t{k.path} << 32 | k.column) + 0x632be59bd9b4e019ULL + (h << 6) + (h >> 2);
  h ^= static_cast<std::uint64_t>(k.period) * 0xbf58476d1ce4e5b9ULL + (h << 6) + (h >> 2);
  return static_cast<std::size_t>(h ^ (h >> 31));
}

void delta::add(const record_cells& c, std::int64_t sign) {
  for (const auto& [key, amount] : c.amounts) {
    std::int64_t& sum = amounts_[key];
    sum = checked_sum(sum, sign * amount);
  }
  // Month leaves only, as count_cells gives them: the cells above and the years follow.
  for (const auto& [key, person] : c.persons) {
    if (tally_period::month_of(key.period) == 0)
      throw std::logic_error("tally::delta: a person named in a year's cell");
    auto it = persons_.find(person);
    if (it == persons_.end()) it = persons_.emplace(std::string(person), leaf_counts{}).first;
    it->second.emplace_back(key, sign);
  }
}

std::vector<std::string_view> delta::persons() {
  std::vector<std::string_view> out;
  out.reserve(persons_.size());
  for (auto& [person, change] : persons_) {
    net(change);
    if (!change.empty()) out.push_back(person);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool delta::holds_any(const cell_key& cell, const leaf_counts& leaves) const {
  // The leaves of the cell's tally and measure in its month, or in the
  // months of its year, are a range of the sorted leaves.
  const bool year = tally_period::month_of(cell.period) == 0;
  const std::int32_t first = year ? cell.period + 1 : cell.period,
                     last = year ? cell.period + 12 : cell.period;
  auto it = std::lower_bound(
      leaves.begin(), leaves.end(), cell_key{cell.tally, cell.measure, first, 0, 0},
      [](const auto& entry, const cell_key& key) { return entry.first < key; });
  for (; it != leaves.end(); ++it) {
    const cell_key& l = it->first;
    if (l.tally != cell.tally || l.measure != cell.measure || l.period > last) break;
    if ((cell.column == cell_names::every_column || cell.column == l.column) &&
        names_.leads_to(cell.path, l.path))
      return true;
  }
  return false;
}

delta::leaf_counts delta::apply_person(std::string_view who, const leaf_counts& before) {
  const auto it = persons_.find(who);
  if (it == persons_.end()) return before;
  leaf_counts& change = it->second;
  net(change);

  // The counts after, and the leaves the person enters or leaves: only a
  // cell above one of those can gain or lose them.
  leaf_counts after;
  after.reserve(before.size() + change.size());
  std::vector<cell_key>& cells = cells_;
  cells.clear();
  auto b = before.begin();
  for (const auto& [leaf, n] : change) {
    for (; b != before.end() && b->first < leaf; ++b) after.push_back(*b);
    const std::int64_t was = b != before.end() && b->first == leaf ? (b++)->second : 0;
    const std::int64_t now = was + n;
    if (now < 0)
      throw failure(errc::store,
                    "store: the tally retracted what it never counted (reset and replay it)");
    if (now != 0) after.emplace_back(leaf, now);
    if ((was == 0) == (now == 0)) continue;  // it held the person before and after, or never
    for (const std::int32_t period : {leaf.period, tally_period::year_number_of(leaf.period)})
      for (std::uint32_t path = leaf.path;; path = names_.parent(path)) {
        for (const std::uint32_t column : {leaf.column, cell_names::every_column})
          cells.push_back({leaf.tally, leaf.measure, period, path, column});
        if (path == cell_names::grand_total) break;
      }
  }
  after.insert(after.end(), b, before.end());
  std::sort(cells.begin(), cells.end());
  cells.erase(std::unique(cells.begin(), cells.end()), cells.end());

  // A person new to the tallies enters every such cell, one gone leaves every one.
  if (before.empty() || after.empty()) {
    for (const cell_key& cell : cells) amounts_[cell] += before.empty() ? 1 : -1;
    return after;
  }
  for (const cell_key& cell : cells)
    if (const bool was = holds_any(cell, before), is = holds_any(cell, after); was != is)
      amounts_[cell] += is ? 1 : -1;
  return after;
}

}  // namespace haven::tally

#include <algorithm>
#include <haven/core/result.hpp>
#include <haven/tally/delta.hpp>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace haven::tally {

std::int64_t delta::checked_sum(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out))
    throw failure(errc::invalid_input,
                  "refused: a tally sum would pass the largest number a tally holds (" +
                      std::to_string(a) + " + " + std::to_string(b) +
                      "); nothing of this push was saved");
  return out;
}

std::size_t delta::key_hash::operator()(const tally_key& k) const {
  std::size_t h = std::hash<std::string>{}(k.path);
  const auto mix = [&h](std::size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
  mix(std::hash<std::string>{}(k.column));
  mix(k.tally);
  mix(static_cast<std::size_t>(k.period.year) * 13 + static_cast<std::size_t>(k.period.month));
  mix(k.measure);
  return h;
}

void delta::add(const tally_contribution& c, std::int64_t sign) {
  for (const auto& [key, amount] : c.amounts) {
    std::int64_t& sum = amounts_[key];
    sum = checked_sum(sum, sign * amount);
  }
  // Month leaves only, as contribution_of gives them: the cells above and the years follow.
  for (const auto& [key, person] : c.persons) {
    if (key.period.month == 0)
      throw std::logic_error("tally::delta: a person named in a year's cell");
    persons_[{key.tally, key.measure, person}][{key.period, key.path, key.column}] += sign;
  }
}

namespace {

// A cell of one person's distinct measure, as apply_person weighs it: a
// period (a month, or a year) and a row path and a column the person's
// leaves are under.
struct person_cell {
  tally_period period;
  std::string_view path, column;
  bool operator==(const person_cell&) const = default;

  // Whether month leaf `l` puts the person in this cell: in its month (or
  // the month's year), under the path (each prefix ends in '/'), in the
  // column or over all columns.
  bool holds(const delta::leaf& l) const {
    return (period.month == 0 ? l.period.year == period.year : l.period == period) &&
           l.path.starts_with(path) && (column == all_columns || column == l.column);
  }
  bool holds_any(const delta::leaf_counts& leaves) const {
    return std::any_of(leaves.begin(), leaves.end(),
                       [&](const auto& entry) { return holds(entry.first); });
  }
};

}  // namespace

delta::leaf_counts delta::apply_person(const person_key& who, const leaf_counts& before) {
  leaf_counts after = before;
  // Only a cell above a leaf that the person enters or leaves can gain or
  // lose them: those cells, at every level, in the leaf's month and its year.
  std::vector<person_cell> cells;
  const auto it = persons_.find(who);
  if (it != persons_.end())
    for (const auto& [l, n] : it->second) {
      if (n == 0) continue;
      const std::int64_t now = (after[l] += n);
      if (now < 0)
        throw failure(errc::store,
                      "store: the tally retracted what it never counted (reset and replay it)");
      if (now == 0) after.erase(l);
      const bool entered = now == n, left = now == 0;
      if (!entered && !left) continue;  // it held the person before and after
      for (const tally_period p : {l.period, tally_period{l.period.year, 0}})
        for (std::size_t end = 0;;) {
          const std::string_view prefix = std::string_view(l.path).substr(0, end);
          for (const std::string_view column : {std::string_view(l.column), all_columns})
            if (const person_cell c{p, prefix, column};
                std::find(cells.begin(), cells.end(), c) == cells.end())
              cells.push_back(c);
          if (end == l.path.size()) break;
          end = l.path.find('/', end) + 1;
        }
    }
  for (const person_cell& c : cells)
    if (const bool was = c.holds_any(before), is = c.holds_any(after); was != is)
      amounts_[{who.tally, c.period, std::string(c.path), std::string(c.column), who.measure}] +=
          is ? 1 : -1;
  return after;
}

void delta::clear() {
  amounts_.clear();
  persons_.clear();
}

}  // namespace haven::tally

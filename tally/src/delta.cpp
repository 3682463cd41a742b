#include <algorithm>
#include <haven/core/result.hpp>
#include <haven/tally/delta.hpp>
#include <set>

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

bool delta::is_leaf(const tally_key& key) const {
  const tally_def& t = tallies_[key.tally];
  const auto depth = static_cast<std::size_t>(std::count(key.path.begin(), key.path.end(), '/'));
  return depth == t.rows.size() && (key.column == all_columns) != t.column.has_value();
}

void delta::add(const tally_contribution& c, std::int64_t sign) {
  for (const auto& [key, amount] : c.amounts) {
    std::int64_t& sum = amounts_[key];
    sum = checked_sum(sum, sign * amount);
  }
  // Month leaves only: the year's cells follow from its months.
  for (const auto& [key, person] : c.persons)
    if (key.period.month != 0 && is_leaf(key))
      persons_[{key.tally, key.measure, person}][{key.period, key.path, key.column}] += sign;
}

delta::leaf_counts delta::apply_person(const person_key& who, const leaf_counts& before) {
  std::set<tally_period> periods;  // the months that change, and their years
  leaf_counts after = before;
  if (const auto it = persons_.find(who); it != persons_.end())
    for (const auto& [l, n] : it->second) {
      if (n == 0) continue;
      periods.insert(l.period);
      periods.insert({l.period.year, 0});
      const std::int64_t now = (after[l] += n);
      if (now < 0)
        throw failure(errc::store,
                      "store: the tally retracted what it never counted (reset and replay it)");
      if (now == 0) after.erase(l);
    }
  // The cells the person is in, within the periods that change: a month
  // leaf puts them in its month's cells above it and in its year's.
  auto cells = [&](const leaf_counts& leaves) {
    std::set<tally_key> out;
    for (const auto& [l, n] : leaves)
      for (const tally_period p : {l.period, tally_period{l.period.year, 0}}) {
        if (!periods.count(p)) continue;
        for (std::size_t end = 0;;) {
          const std::string prefix = l.path.substr(0, end);
          out.insert({who.tally, p, prefix, l.column, who.measure});
          out.insert({who.tally, p, prefix, std::string(all_columns), who.measure});
          if (end == l.path.size()) break;
          end = l.path.find('/', end) + 1;
        }
      }
    return out;
  };
  const auto was = cells(before), is = cells(after);
  for (const auto& key : is)
    if (!was.count(key)) amounts_[key] += 1;
  for (const auto& key : was)
    if (!is.count(key)) amounts_[key] -= 1;
  return after;
}

void delta::clear() {
  amounts_.clear();
  persons_.clear();
}

}  // namespace haven::tally

// Disclosure control (tally/disclosure): the constructed tables on which a
// naive suppression pattern fails, and a property test whose oracle is an
// exhaustive search over integer values, written apart from the LP audit.

#include <catch2/catch.hpp>
#include <haven/tally/disclosure.hpp>
#include <numeric>
#include <random>

namespace haven::test {
namespace {

using namespace tally::disclosure;

// A row of parts and their total (cells 0..n-1 the parts, n the total).
table row(const std::vector<std::int64_t>& parts, relation_kind kind = relation_kind::sum,
          std::optional<std::int64_t> total = {}) {
  table t;
  relation r{kind, parts.size(), {}};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    t.cells.push_back({parts[i], parts[i]});
    r.parts.push_back(i);
  }
  const auto sum = total.value_or(std::accumulate(parts.begin(), parts.end(), std::int64_t{0}));
  t.cells.push_back({sum, sum});
  t.relations.push_back(r);
  return t;
}

// An r x c table of counts with its row totals, column totals and grand
// total: cell (i, j) is i * c + j, row total i is r * c + i, column total j
// is r * c + r + j, the grand total the last.
table grid(const std::vector<std::vector<std::int64_t>>& v) {
  const std::size_t r = v.size(), c = v[0].size();
  table t;
  for (const auto& line : v)
    for (auto x : line) t.cells.push_back({x, x});
  std::int64_t grand = 0;
  for (std::size_t i = 0; i < r; ++i) {
    relation rel{relation_kind::sum, t.cells.size(), {}};
    std::int64_t sum = 0;
    for (std::size_t j = 0; j < c; ++j) {
      rel.parts.push_back(i * c + j);
      sum += v[i][j];
    }
    t.cells.push_back({sum, sum});
    t.relations.push_back(rel);
    grand += sum;
  }
  relation totals{relation_kind::sum, 0, {}};
  for (std::size_t j = 0; j < c; ++j) {
    relation rel{relation_kind::sum, t.cells.size(), {}};
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < r; ++i) {
      rel.parts.push_back(i * c + j);
      sum += v[i][j];
    }
    totals.parts.push_back(t.cells.size());
    t.cells.push_back({sum, sum});
    t.relations.push_back(rel);
  }
  totals.total = t.cells.size();
  t.cells.push_back({grand, grand});
  t.relations.push_back(totals);
  relation by_rows{relation_kind::sum, totals.total, {}};
  for (std::size_t i = 0; i < r; ++i) by_rows.parts.push_back(r * c + i);
  t.relations.push_back(by_rows);
  return t;
}

std::vector<bool> primary(const table& t, std::int64_t k) {
  std::vector<bool> hidden;
  for (const auto& c : t.cells) hidden.push_back(sensitive(c, k));
  return hidden;
}

std::size_t count(const std::vector<bool>& hidden) {
  return static_cast<std::size_t>(std::count(hidden.begin(), hidden.end(), true));
}

// The independent oracle: every integer assignment of the hidden cells from
// 0 to `ceiling` that keeps every relation, by backtracking; the least and
// greatest value each hidden cell takes in one. A greatest value at the
// ceiling stands for "no bound" (the ceiling is above every value plus k).
struct integer_range {
  std::int64_t low = 0, high = 0;
};
std::vector<integer_range> exhaustive_ranges(const table& t, const std::vector<bool>& hidden,
                                             std::int64_t ceiling) {
  std::vector<std::size_t> unknown;
  for (std::size_t i = 0; i < t.cells.size(); ++i)
    if (hidden[i]) unknown.push_back(i);
  std::vector<std::int64_t> value(t.cells.size());
  for (std::size_t i = 0; i < t.cells.size(); ++i) value[i] = hidden[i] ? -1 : t.cells[i].value;
  std::vector<integer_range> out(unknown.size(), {ceiling + 1, -1});
  const auto holds = [&](const relation& r) {
    std::int64_t parts = 0;
    for (auto p : r.parts) {
      if (value[p] < 0) return true;  // not yet assigned
      parts += value[p];
    }
    if (value[r.total] < 0) return true;
    switch (r.kind) {
      case relation_kind::sum:
        return value[r.total] == parts;
      case relation_kind::cover:
        for (auto p : r.parts)
          if (value[p] > value[r.total]) return false;
        return value[r.total] <= parts;
      case relation_kind::bound:
        return parts <= value[r.total];
    }
    return false;
  };
  std::function<void(std::size_t)> assign = [&](std::size_t next) {
    if (next == unknown.size()) {
      for (std::size_t u = 0; u < unknown.size(); ++u) {
        out[u].low = std::min(out[u].low, value[unknown[u]]);
        out[u].high = std::max(out[u].high, value[unknown[u]]);
      }
      return;
    }
    for (std::int64_t v = 0; v <= ceiling; ++v) {
      value[unknown[next]] = v;
      if (std::all_of(t.relations.begin(), t.relations.end(), holds)) assign(next + 1);
    }
    value[unknown[next]] = -1;
  };
  assign(0);
  return out;
}

bool exhaustively_safe(const table& t, const std::vector<bool>& hidden, std::int64_t k) {
  std::int64_t ceiling = 0;
  for (const auto& c : t.cells) ceiling = std::max(ceiling, c.value);
  ceiling += k + 1;
  for (const auto& r : exhaustive_ranges(t, hidden, ceiling))
    if (r.high < ceiling && r.high - r.low < k) return false;
  return true;
}

}  // namespace

TEST_CASE(
    "disclosure: a single small cell in a row is recovered by subtraction unless another "
    "cell is hidden with it",
    "[tally][disclosure]") {
  const table t = row({2, 30, 25});
  const auto naive = primary(t, 5);
  REQUIRE(count(naive) == 1);
  const auto unsafe = audit(t, naive, 5);
  CHECK_FALSE(unsafe.safe);
  REQUIRE(unsafe.hidden.size() == 1);
  CHECK(unsafe.hidden[0].range.low == Approx(2));
  CHECK(unsafe.hidden[0].range.high == Approx(2));

  const auto shipped = suppress(t, 5).hidden;
  CHECK(shipped[0]);
  CHECK(count(shipped) == 2);
  CHECK(shipped[2]);  // the smaller partner of at least k, not the total
  CHECK(audit(t, shipped, 5).safe);
  CHECK(exhaustively_safe(t, shipped, 5));
}

TEST_CASE("disclosure: two small cells of a row that together are under k are hidden with a third",
          "[tally][disclosure]") {
  const table t = row({2, 1, 40, 12});
  const auto naive = primary(t, 5);
  REQUIRE(count(naive) == 2);
  CHECK_FALSE(audit(t, naive, 5).safe);  // each lies in [0, 3]
  CHECK_FALSE(exhaustively_safe(t, naive, 5));
  const auto shipped = suppress(t, 5).hidden;
  CHECK(count(shipped) == 3);
  CHECK(shipped[3]);
  CHECK(audit(t, shipped, 5).safe);
  CHECK(exhaustively_safe(t, shipped, 5));
}

TEST_CASE(
    "disclosure: a small cell whose row and column each have one other cell needs four "
    "hidden cells",
    "[tally][disclosure]") {
  const table t = grid({{2, 20}, {15, 30}});
  const auto naive = primary(t, 5);
  REQUIRE(count(naive) == 1);
  // Hiding its row partner too is not enough: the column total gives it away.
  auto row_partner = naive;
  row_partner[1] = true;
  CHECK_FALSE(audit(t, row_partner, 5).safe);
  CHECK_FALSE(exhaustively_safe(t, row_partner, 5));

  const auto shipped = suppress(t, 5).hidden;
  CHECK(shipped[0]);
  CHECK(shipped[1]);
  CHECK(shipped[2]);
  CHECK(shipped[3]);
  const auto result = audit(t, shipped, 5);
  CHECK(result.safe);
  CHECK(exhaustively_safe(t, shipped, 5));
  for (const auto& h : result.hidden) CHECK(h.range.at_least(5));
}

TEST_CASE("disclosure: a table that publishes another's margin is protected with it",
          "[tally][disclosure]") {
  // Persons by nationality and sex (2 x 2 with margins), and persons by
  // nationality in a second tally: cells 9 and 10 equal the first's row totals.
  table joint = grid({{3, 2}, {20, 25}});
  for (std::size_t i = 0; i < 2; ++i) {
    const auto total = joint.cells[4 + i];
    joint.relations.push_back({relation_kind::sum, joint.cells.size(), {4 + i}});
    joint.cells.push_back(total);
  }
  // With k = 6, hiding the first tally's cells and row totals keeps 3 and 2
  // in [0, 23] and [0, 27] given its own margins: safe for it alone. The
  // second tally publishes those row totals: then 3 + 2 = 5, under 6.
  const table first_alone = grid({{3, 2}, {20, 25}});
  std::vector<bool> naive{true, true, true, true, true, true, false, false, false};
  CHECK(audit(first_alone, naive, 6).safe);
  naive.push_back(false);
  naive.push_back(false);
  CHECK_FALSE(audit(joint, naive, 6).safe);
  CHECK_FALSE(exhaustively_safe(joint, naive, 6));

  const auto shipped = suppress(joint, 6).hidden;
  CHECK(shipped[9] == shipped[4]);
  CHECK(shipped[10] == shipped[5]);
  CHECK(audit(joint, shipped, 6).safe);
  CHECK(exhaustively_safe(joint, shipped, 6));
}

TEST_CASE("disclosure: distinct persons are bounded, not added: a person met at two sites",
          "[tally][disclosure]") {
  // 2 + 9 + 9 persons at three sites, 18 persons in all.
  const table t = row({2, 9, 9}, relation_kind::cover, 18);
  const auto shipped = suppress(t, 5).hidden;
  CHECK(count(shipped) == 1);  // 18 <= x + 18 and x <= 18: anything from 0 to 18
  const auto result = audit(t, shipped, 5);
  CHECK(result.safe);
  CHECK(result.hidden[0].range.low == Approx(0));
  CHECK(result.hidden[0].range.high == Approx(18));
  CHECK(exhaustively_safe(t, shipped, 5));

  // Taken for a sum, the figures would pin it at 0, a value it does not have.
  const table as_sum = row({2, 9, 9}, relation_kind::sum, 18);
  const auto wrong = audit(as_sum, primary(as_sum, 5), 5);
  CHECK_FALSE(wrong.safe);
  CHECK(wrong.hidden[0].range.high == Approx(0));
}

TEST_CASE("disclosure: a hidden zero is revealed when the visible cells make up the total",
          "[tally][disclosure]") {
  const table t = row({0, 3, 30, 40});
  auto with_zero = primary(t, 5);
  with_zero[0] = true;
  const auto result = audit(t, with_zero, 5);
  CHECK_FALSE(result.safe);
  const auto shipped = suppress(t, 5).hidden;
  CHECK_FALSE(shipped[0]);  // the zero protects nothing; the 30 does
  CHECK(shipped[2]);
  CHECK(audit(t, shipped, 5).safe);
}

TEST_CASE("disclosure: an empty or an all-large table hides nothing", "[tally][disclosure]") {
  CHECK(count(suppress(row({0, 0, 0}), 5).hidden) == 0);
  CHECK(count(suppress(grid({{5, 9}, {12, 30}}), 5).hidden) == 0);
  CHECK(audit(grid({{5, 9}, {12, 30}}), std::vector<bool>(9, false), 5).safe);
}

TEST_CASE(
    "disclosure: random tables, random k: every sensitive cell hidden, and an exhaustive "
    "search finds every hidden cell at least k wide",
    "[tally][disclosure][property]") {
  std::mt19937 random(20261206);
  const auto uniform = [&](int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(random);
  };
  for (int round = 0; round < 60; ++round) {
    const std::int64_t k = uniform(2, 4);
    table t;
    if (round % 3 == 2) {  // distinct persons over one row
      std::vector<std::int64_t> parts;
      for (int i = uniform(2, 4); i > 0; --i) parts.push_back(uniform(0, 6));
      const auto sum = std::accumulate(parts.begin(), parts.end(), std::int64_t{0});
      const auto most = *std::max_element(parts.begin(), parts.end());
      t = row(parts, relation_kind::cover, uniform(static_cast<int>(most), static_cast<int>(sum)));
    } else {
      std::vector<std::vector<std::int64_t>> v(2, std::vector<std::int64_t>(uniform(2, 3)));
      for (auto& line : v)
        for (auto& x : line) x = uniform(0, 6);
      t = grid(v);
    }
    INFO("round " << round << ", k " << k);
    const auto hidden = suppress(t, k).hidden;
    for (std::size_t i = 0; i < t.cells.size(); ++i)
      if (sensitive(t.cells[i], k)) CHECK(hidden[i]);
    CHECK(audit(t, hidden, k).safe);
    CHECK(exhaustively_safe(t, hidden, k));
  }
}

}  // namespace haven::test

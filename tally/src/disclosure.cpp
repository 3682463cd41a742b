#include <ClpSimplex.hpp>
#include <CoinPackedMatrix.hpp>
#include <CoinPackedVector.hpp>
#include <algorithm>
#include <cmath>
#include <haven/core/result.hpp>
#include <haven/tally/disclosure.hpp>
#include <map>
#include <set>

namespace haven::tally::disclosure {
namespace {

// One linear program over the hidden cells: a column per hidden cell (>= 0,
// no upper bound), a row per relation inequality that holds a hidden cell,
// the published cells moved to the right-hand side. Each bound of a cell is
// then a solve with that cell's objective coefficient set, warm-started from
// the last.
class range_solver {
 public:
  range_solver(const table& t, const std::vector<bool>& hidden) {
    for (std::size_t i = 0; i < t.cells.size(); ++i)
      if (hidden[i]) column_of_.emplace(i, column_of_.size());
    CoinPackedMatrix rows(false, 0, 0);
    std::vector<double> row_low, row_high;
    // Adds "sum of coefficient * cell <= 0" (or == 0), published cells as constants.
    const auto add = [&](const std::vector<std::pair<std::size_t, double>>& terms, bool equal) {
      CoinPackedVector row;
      double constant = 0;
      std::map<int, double> coefficients;
      for (const auto& [cell, coefficient] : terms) {
        if (auto c = column_of_.find(cell); c != column_of_.end())
          coefficients[static_cast<int>(c->second)] += coefficient;
        else
          constant += coefficient * static_cast<double>(t.cells[cell].value);
      }
      for (const auto& [column, coefficient] : coefficients)
        if (coefficient != 0) row.insert(column, coefficient);
      if (row.getNumElements() == 0) return;
      rows.appendRow(row);
      row_low.push_back(equal ? -constant : -COIN_DBL_MAX);
      row_high.push_back(-constant);
    };
    for (const auto& r : t.relations) {
      std::vector<std::pair<std::size_t, double>> total_minus_parts{{r.total, 1.0}};
      for (auto p : r.parts) total_minus_parts.emplace_back(p, -1.0);
      switch (r.kind) {
        case relation_kind::sum:
          add(total_minus_parts, true);
          break;
        case relation_kind::cover:
          add(total_minus_parts, false);
          for (auto p : r.parts) add({{p, 1.0}, {r.total, -1.0}}, false);
          break;
        case relation_kind::bound: {
          std::vector<std::pair<std::size_t, double>> parts_minus_total{{r.total, -1.0}};
          for (auto p : r.parts) parts_minus_total.emplace_back(p, 1.0);
          add(parts_minus_total, false);
          break;
        }
      }
    }
    const auto columns = static_cast<int>(column_of_.size());
    rows.setDimensions(static_cast<int>(row_low.size()), columns);
    const std::vector<double> column_low(column_of_.size(), 0.0),
        column_high(column_of_.size(), COIN_DBL_MAX), objective(column_of_.size(), 0.0);
    model_.setLogLevel(0);
    model_.loadProblem(rows, column_low.data(), column_high.data(), objective.data(),
                       row_low.data(), row_high.data());
  }

  interval range(std::size_t cell) {
    const int column = static_cast<int>(column_of_.at(cell));
    model_.setObjectiveCoefficient(column, 1.0);
    interval out;
    out.low = solve(1.0).value_or(0.0);
    out.high = solve(-1.0);
    model_.setObjectiveCoefficient(column, 0.0);
    return out;
  }

 private:
  // The optimum of the objective in `direction` (1 minimise, -1 maximise);
  // nullopt when unbounded.
  std::optional<double> solve(double direction) {
    model_.setOptimizationDirection(direction);
    model_.primal();
    if (model_.isProvenOptimal()) return model_.objectiveValue();
    if (model_.isProvenDualInfeasible()) return std::nullopt;
    throw failure(errc::internal, "disclosure audit: the linear program has no solution (status " +
                                      std::to_string(model_.status()) +
                                      "): the table's relations do not hold for its own values");
  }

  std::map<std::size_t, std::size_t> column_of_;  // cell -> LP column
  ClpSimplex model_;
};

// The first hidden cell whose range is under k, if any.
std::optional<std::size_t> first_unsafe(const table& t, const std::vector<bool>& hidden,
                                        std::int64_t k) {
  range_solver solver(t, hidden);
  for (std::size_t i = 0; i < t.cells.size(); ++i)
    if (hidden[i] && !solver.range(i).at_least(k)) return i;
  return std::nullopt;
}

// The visible cells that share a relation with `from` or, through hidden
// cells, with the hidden cells around it (nearest first).
std::vector<std::size_t> visible_neighbours(const table& t, const std::vector<bool>& hidden,
                                            std::size_t from) {
  std::vector<std::vector<std::size_t>> relations_of(t.cells.size());
  for (std::size_t r = 0; r < t.relations.size(); ++r) {
    relations_of[t.relations[r].total].push_back(r);
    for (auto p : t.relations[r].parts) relations_of[p].push_back(r);
  }
  std::vector<bool> seen(t.cells.size(), false);
  std::vector<std::size_t> frontier{from}, visible;
  seen[from] = true;
  while (!frontier.empty() && visible.empty()) {
    std::vector<std::size_t> next;
    for (auto cell : frontier)
      for (auto r : relations_of[cell]) {
        std::vector<std::size_t> members{t.relations[r].total};
        members.insert(members.end(), t.relations[r].parts.begin(), t.relations[r].parts.end());
        for (auto m : members) {
          if (seen[m]) continue;
          seen[m] = true;
          (hidden[m] ? next : visible).push_back(m);
        }
      }
    frontier = std::move(next);
  }
  return visible;
}

}  // namespace

bool sensitive(const cell& c, std::int64_t k) {
  return c.contributors > 0 && c.contributors < k;
}

audit_result audit(const table& t, const std::vector<bool>& hidden, std::int64_t k) {
  audit_result out;
  out.k = k;
  range_solver solver(t, hidden);
  for (std::size_t i = 0; i < t.cells.size(); ++i) {
    if (!hidden[i]) continue;
    out.hidden.push_back({i, solver.range(i)});
    out.safe = out.safe && out.hidden.back().range.at_least(k);
  }
  return out;
}

std::vector<bool> suppress(const table& t, std::int64_t k) {
  std::multimap<std::size_t, std::size_t> members;  // group -> cells
  for (std::size_t i = 0; i < t.cells.size(); ++i)
    if (t.cells[i].group != cell::alone) members.emplace(t.cells[i].group, i);
  std::vector<bool> hidden(t.cells.size(), false);
  const auto hide = [&](std::size_t i) {
    hidden[i] = true;
    const auto [from, to] = members.equal_range(t.cells[i].group);
    for (auto m = from; m != to; ++m) hidden[m->second] = true;
  };
  for (std::size_t i = 0; i < t.cells.size(); ++i)
    if (sensitive(t.cells[i], k)) hide(i);
  std::set<std::size_t> totals;
  for (const auto& r : t.relations) totals.insert(r.total);
  // Cheapest first: a leaf before a total, a value that can cover k before a
  // smaller one (a hidden zero protects nothing), then the smaller value.
  const auto cost = [&](std::size_t i) {
    const auto v = t.cells[i].value;
    return std::make_tuple(totals.count(i) ? 1 : 0, v >= k ? 0 : v > 0 ? 1 : 2, v, i);
  };
  while (const auto unsafe = first_unsafe(t, hidden, k)) {
    const auto candidates = visible_neighbours(t, hidden, *unsafe);
    if (candidates.empty())
      throw failure(errc::internal, "disclosure: a hidden cell stays unsafe with nothing to hide");
    hide(*std::min_element(candidates.begin(), candidates.end(),
                           [&](auto a, auto b) { return cost(a) < cost(b); }));
  }
  return hidden;
}

}  // namespace haven::tally::disclosure

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

// The relations each cell is in.
std::vector<std::vector<std::size_t>> relations_of(const table& t) {
  std::vector<std::vector<std::size_t>> out(t.cells.size());
  for (std::size_t r = 0; r < t.relations.size(); ++r) {
    out[t.relations[r].total].push_back(r);
    for (auto p : t.relations[r].parts) out[p].push_back(r);
  }
  return out;
}

std::vector<std::size_t> members(const relation& r) {
  std::vector<std::size_t> out{r.total};
  out.insert(out.end(), r.parts.begin(), r.parts.end());
  return out;
}

// The visible cells that share a relation with `from` or, through hidden
// cells, with the hidden cells around it (nearest first).
std::vector<std::size_t> visible_neighbours(const table& t,
                                            const std::vector<std::vector<std::size_t>>& relations,
                                            const std::vector<bool>& hidden, std::size_t from) {
  std::vector<bool> seen(t.cells.size(), false);
  std::vector<std::size_t> frontier{from}, visible;
  seen[from] = true;
  while (!frontier.empty() && visible.empty()) {
    std::vector<std::size_t> next;
    for (auto cell : frontier)
      for (auto r : relations[cell])
        for (auto m : members(t.relations[r])) {
          if (seen[m]) continue;
          seen[m] = true;
          (hidden[m] ? next : visible).push_back(m);
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

suppression suppress(const table& t, std::int64_t k) {
  std::multimap<std::size_t, std::size_t> group_members;
  for (std::size_t i = 0; i < t.cells.size(); ++i)
    if (t.cells[i].group != cell::alone) group_members.emplace(t.cells[i].group, i);
  const auto relations = relations_of(t);
  std::vector<bool> hidden(t.cells.size(), false);
  std::vector<std::size_t> newly_hidden;
  const auto hide = [&](std::size_t i) {
    const auto [from, to] = group_members.equal_range(t.cells[i].group);
    for (auto m = from; m != to; ++m) newly_hidden.push_back(m->second);
    newly_hidden.push_back(i);
    for (auto h : newly_hidden) hidden[h] = true;
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
  const auto cheapest = [&](const std::vector<std::size_t>& candidates) {
    return *std::min_element(candidates.begin(), candidates.end(),
                             [&](auto a, auto b) { return cost(a) < cost(b); });
  };
  // First, without a solver, the patterns every sum must avoid: one hidden
  // cell alone (found by subtraction), and hidden parts of a published total
  // that together are under k (each lies between 0 and their sum).
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& r : t.relations) {
      if (r.kind != relation_kind::sum) continue;
      std::vector<std::size_t> visible;
      std::size_t hidden_count = 0;
      std::int64_t hidden_parts = 0;
      for (auto m : members(r)) {
        if (!hidden[m]) {
          visible.push_back(m);
          continue;
        }
        ++hidden_count;
        if (m != r.total) hidden_parts += t.cells[m].value;
      }
      if (hidden_count == 0 || visible.empty()) continue;
      if (hidden_count == 1 || (!hidden[r.total] && hidden_parts < k)) {
        hide(cheapest(visible));
        changed = true;
      }
    }
  }
  // Then rounds: audit every hidden cell, then give each unsafe one a partner,
  // unless a partner given this round already shares a relation with it.
  for (;;) {
    const auto result = audit(t, hidden, k);
    if (result.safe) return {std::move(hidden), result};
    newly_hidden.clear();
    std::vector<bool> helped(t.cells.size(), false);
    for (const auto& h : result.hidden) {
      if (h.range.at_least(k) || helped[h.index]) continue;
      const auto candidates = visible_neighbours(t, relations, hidden, h.index);
      if (candidates.empty())
        throw failure(errc::internal,
                      "disclosure: a hidden cell stays unsafe with nothing to hide");
      const std::size_t before = newly_hidden.size();
      hide(cheapest(candidates));
      for (std::size_t n = before; n < newly_hidden.size(); ++n)
        for (auto r : relations[newly_hidden[n]])
          for (auto m : members(t.relations[r])) helped[m] = true;
    }
  }
}

}  // namespace haven::tally::disclosure

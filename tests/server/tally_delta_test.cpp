// tally::delta, the pure half of writing a batch: sums of amounts, and a
// person counted into and out of every level of cells as the records that
// put them in a leaf come and go.

#include <catch2/catch.hpp>
#include <haven/tally/delta.hpp>

#include "tally_fixture.hpp"

namespace haven::test {
namespace {

using tally::cell_key;
using tally::delta;

}  // namespace

TEST_CASE("tally::delta sums amounts and counts a person once per cell at every level",
          "[server][tally][delta]") {
  const auto s = shipped_schema();
  const tally_def* t =
      s->tally("assisted-by-nationality-sex");  // rows programme, nationality; column sex
  REQUIRE(t);
  const auto index = static_cast<std::uint32_t>(t - s->tallies().data());
  const std::int32_t year = tally::tally_period{2026, 0}.number(),
                     march = tally::tally_period{2026, 3}.number();
  tally::cell_names names;
  const auto cell = [&](std::int32_t period, std::string_view path, std::string_view column,
                        std::uint32_t measure) {
    return cell_key{index, measure, period, names.number(path), names.number(column)};
  };
  delta d(names);
  // Two records of one person in March, in two leaves under one programme
  // (a contribution counts a record in its year and its months, and names
  // the person in the month's leaves).
  tally::record_cells first, second;
  for (auto [c, nationality] : {std::pair{&first, "UA"}, std::pair{&second, "SI"}}) {
    const std::string leaf = "crisis-accommodation/" + std::string(nationality) + "/";
    for (const auto period : {year, march})
      c->amounts.emplace_back(cell(period, leaf, "female", tally::records_measure), 1);
    c->persons.emplace_back(cell(march, leaf, "female", 0), "P-0001H");
  }
  d.add(first, 1);
  d.add(second, 1);
  d.add(second, -1);
  d.add(second, 1);
  CHECK(d.amounts().at(cell(year, "crisis-accommodation/UA/", "female", tally::records_measure)) ==
        1);
  REQUIRE(d.persons() == std::vector<std::string_view>{"P-0001H"});
  const auto after = d.apply_person("P-0001H", {});
  CHECK(after.size() == 2);  // the month's leaves: the year's follow from them
  // In each leaf, in the programme's subtotal and the grand total once, per
  // column and over all, in the month and in the year.
  for (const auto period : {year, march}) {
    INFO(period);
    const auto persons = [&](std::string_view path, std::string_view column) {
      const auto it = d.amounts().find(cell(period, path, column, 0));
      return it == d.amounts().end() ? 0 : it->second;
    };
    CHECK(persons("crisis-accommodation/UA/", "female") == 1);
    CHECK(persons("crisis-accommodation/SI/", tally::all_columns) == 1);
    CHECK(persons("crisis-accommodation/", "female") == 1);
    CHECK(persons("", tally::all_columns) == 1);
    CHECK(persons("safe-accommodation/", tally::all_columns) == 0);
  }

  // The person leaves one leaf only: the subtotal keeps them.
  delta later(names);
  later.add(second, -1);
  const auto left = later.apply_person("P-0001H", after);
  CHECK(left.size() == 1);
  for (const auto period : {year, march}) {
    CHECK(later.amounts().at(cell(period, "crisis-accommodation/SI/", "female", 0)) == -1);
    CHECK_FALSE(later.amounts().count(cell(period, "crisis-accommodation/", "female", 0)));
  }
  // A second record in a leaf that holds the person already moves no cell.
  delta again(names);
  again.add(first, 1);
  const auto twice = again.apply_person("P-0001H", after);
  REQUIRE(twice.size() == 2);
  CHECK(twice[0].first == cell(march, "crisis-accommodation/UA/", "female", 0));
  CHECK(twice[0].second == 2);
  for (const auto& [key, amount] : again.amounts()) CHECK((key.measure != 0 || amount == 0));
  // A batch that adds and retracts the same record changes no person.
  delta undone(names);
  undone.add(first, 1);
  undone.add(first, -1);
  CHECK(undone.persons().empty());
  // Retracting what was never counted is the store's inconsistency.
  delta wrong(names);
  wrong.add(first, -1);
  try {
    wrong.apply_person("P-0001H", {});
    FAIL("a negative count was accepted");
  } catch (const failure& e) {
    CHECK(e.err().code == errc::store);
  }
  CHECK_THROWS_AS(delta::checked_sum(INT64_MAX, 1), failure);
}

TEST_CASE("tally::cell_names numbers each path and code once and knows a path's parents",
          "[server][tally][delta]") {
  tally::cell_names names;
  CHECK(names.number("") == tally::cell_names::grand_total);
  CHECK(names.number(tally::all_columns) == tally::cell_names::every_column);
  const auto leaf = names.number("crisis-accommodation/UA/");
  const auto programme = names.number("crisis-accommodation/");
  CHECK(names.number("crisis-accommodation/UA/") == leaf);
  CHECK(names.name(leaf) == "crisis-accommodation/UA/");
  CHECK(names.parent(leaf) == programme);
  CHECK(names.parent(programme) == tally::cell_names::grand_total);
  CHECK(names.depth(leaf) == 2);
  CHECK(names.depth(tally::cell_names::grand_total) == 0);
  CHECK(names.leads_to(programme, leaf));
  CHECK(names.leads_to(leaf, leaf));
  CHECK(names.leads_to(tally::cell_names::grand_total, leaf));
  CHECK_FALSE(names.leads_to(leaf, programme));
  CHECK_FALSE(names.leads_to(names.number("safe-accommodation/"), leaf));
  // A not-recorded code "" as an element: "/" and "crisis-accommodation//".
  const auto blank = names.number("crisis-accommodation//");
  CHECK(names.parent(blank) == programme);
  CHECK(names.parent(names.number("/")) == tally::cell_names::grand_total);
  CHECK(names.parent(names.number("//")) == names.number("/"));
  CHECK(names.depth(names.number("/UA/")) == 2);
  // Codes are no paths: no codes deep, under the grand total, leading nowhere.
  const auto code = names.number("female");
  CHECK_FALSE(names.is_path(code));
  CHECK(names.is_path(leaf));
  CHECK(names.is_path(tally::cell_names::grand_total));
  CHECK_FALSE(names.is_path(tally::cell_names::every_column));
  CHECK(names.depth(code) == 0);
  CHECK(names.parent(code) == tally::cell_names::grand_total);
  CHECK_FALSE(names.leads_to(code, leaf));
}

}  // namespace haven::test

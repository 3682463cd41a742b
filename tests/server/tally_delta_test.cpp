// tally::delta, the pure half of writing a batch: sums of amounts, and a
// person counted into and out of every level of cells as the records that
// put them in a leaf come and go.

#include <catch2/catch.hpp>
#include <haven/tally/delta.hpp>

#include "tally_fixture.hpp"

namespace haven::test {
namespace {

using tally::delta;
using tally::tally_key;

}  // namespace

TEST_CASE("tally::delta sums amounts and counts a person once per cell at every level",
          "[server][tally][delta]") {
  const auto s = shipped_schema();
  const tally_def* t =
      s->tally("assisted-by-nationality-sex");  // rows programme, nationality; column sex
  REQUIRE(t);
  const auto index = static_cast<std::uint32_t>(t - s->tallies().data());
  const tally::tally_period year{2026, 0}, march{2026, 3};
  delta d;
  // Two records of one person in March, in two leaves under one programme
  // (a contribution counts a record in its year and its months, and names
  // the person in the month's leaves).
  tally::tally_contribution first, second;
  for (auto [c, nationality] : {std::pair{&first, "UA"}, std::pair{&second, "SI"}}) {
    const std::string leaf = "crisis-accommodation/" + std::string(nationality) + "/";
    for (const auto period : {year, march})
      c->amounts[{index, period, leaf, "female", tally::records_measure}] = 1;
    c->persons.insert({{index, march, leaf, "female", 0}, "P-0001H"});
  }
  d.add(first, 1);
  d.add(second, 1);
  d.add(second, -1);
  d.add(second, 1);
  const tally_key ua_records{index, year, "crisis-accommodation/UA/", "female",
                             tally::records_measure};
  CHECK(d.amounts().at(ua_records) == 1);
  REQUIRE(d.persons().size() == 1);
  const auto& [who, change] = *d.persons().begin();
  const auto after = d.apply_person(who, {});
  CHECK(after.size() == 2);  // the month's leaves: the year's follow from them
  // In each leaf, in the programme's subtotal and the grand total once, per
  // column and over all, in the month and in the year.
  for (const auto period : {year, march}) {
    INFO(period.key());
    const auto persons = [&](const std::string& path, std::string_view column) {
      const auto it = d.amounts().find({index, period, path, std::string(column), 0});
      return it == d.amounts().end() ? 0 : it->second;
    };
    CHECK(persons("crisis-accommodation/UA/", "female") == 1);
    CHECK(persons("crisis-accommodation/SI/", tally::all_columns) == 1);
    CHECK(persons("crisis-accommodation/", "female") == 1);
    CHECK(persons("", tally::all_columns) == 1);
  }

  // The person leaves one leaf only: the subtotal keeps them.
  delta later;
  later.add(second, -1);
  const auto left = later.apply_person(who, after);
  CHECK(left.size() == 1);
  for (const auto period : {year, march}) {
    CHECK(later.amounts().at({index, period, "crisis-accommodation/SI/", "female", 0}) == -1);
    CHECK_FALSE(later.amounts().count({index, period, "crisis-accommodation/", "female", 0}));
  }
  // A second record in a leaf that holds the person already moves no cell.
  delta again;
  again.add(first, 1);
  const auto twice = again.apply_person(who, after);
  CHECK(twice.at({march, "crisis-accommodation/UA/", "female"}) == 2);
  for (const auto& [key, amount] : again.amounts()) CHECK((key.measure != 0 || amount == 0));
  // Retracting what was never counted is the store's inconsistency.
  delta wrong;
  wrong.add(first, -1);
  try {
    wrong.apply_person(who, {});
    FAIL("a negative count was accepted");
  } catch (const failure& e) {
    CHECK(e.err().code == errc::store);
  }
  CHECK_THROWS_AS(delta::checked_sum(INT64_MAX, 1), failure);
}

}  // namespace haven::test

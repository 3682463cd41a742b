// The public view of a period's tallies (tally/publication): built from the
// built-in schema's reports, hidden together where two tallies publish the
// same figure, shown as "<k" in JSON and CSV, and the internal view unchanged.

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <haven/schema/schema.hpp>
#include <haven/tally/contribution.hpp>
#include <haven/tally/publication.hpp>
#include <map>
#include <set>

namespace haven::test {
namespace {

using Catch::Matchers::Contains;
namespace json = boost::json;

// An assistance case as the test states it: the codes its tallies read.
struct case_record {
  std::string programme, nationality, sex, person;
  std::int64_t care_days = 0;
};

// The amounts a tally store holds for tally `t` over `cases`, counted by
// plain loops (every case is in the period; no set fields).
std::vector<tally::stored_amount> amounts_of(const tally_def& t,
                                             const std::vector<case_record>& cases) {
  struct content {
    std::int64_t records = 0, care_days = 0;
    std::set<std::string> persons;
  };
  std::map<std::pair<std::string, std::string>, content> cells;
  const auto code = [](const case_record& c, const std::string& field) {
    return field == "programme" ? c.programme : field == "nationality" ? c.nationality : c.sex;
  };
  for (const auto& c : cases) {
    bool counts = true;
    for (const auto& f : t.filter)
      counts =
          counts && std::find(f.codes.begin(), f.codes.end(), code(c, f.field)) != f.codes.end();
    if (!counts) continue;
    std::vector<std::string> columns{std::string(tally::all_columns)};
    if (t.column) columns.push_back(code(c, *t.column));
    std::string path;
    for (std::size_t depth = 0; depth <= t.rows.size(); ++depth) {
      for (const auto& column : columns) {
        auto& cell = cells[{path, column}];
        ++cell.records;
        cell.care_days += c.care_days;
        cell.persons.insert(c.person);
      }
      if (depth < t.rows.size()) path += code(c, t.rows[depth]) + "/";
    }
  }
  std::vector<tally::stored_amount> out;
  for (const auto& [where, c] : cells) {
    out.push_back({where.first, where.second, tally::records_measure, c.records});
    for (std::uint32_t m = 0; m < t.measures.size(); ++m)
      out.push_back({where.first, where.second, m,
                     t.measures[m].kind == measure_kind::distinct
                         ? static_cast<std::int64_t>(c.persons.size())
                     : t.measures[m].kind == measure_kind::sum ? c.care_days
                                                               : c.records});
  }
  return out;
}

// n cases of one programme, nationality and sex, each its own person.
void add(std::vector<case_record>& cases, int n, const std::string& programme,
         const std::string& nationality, const std::string& sex) {
  for (int i = 0; i < n; ++i)
    cases.push_back({programme, nationality, sex,
                     "P-" + programme.substr(0, 3) + nationality + sex + std::to_string(i), 10});
}

// Every persons figure a report's JSON shows as a number.
std::vector<std::int64_t> shown_persons(const json::value& report) {
  std::vector<std::int64_t> out;
  const auto take = [&](const json::value& values) {
    if (const auto* p = values.as_object().if_contains("persons"); p && p->is_int64())
      out.push_back(p->as_int64());
  };
  for (const auto& row : report.at("table").as_array()) {
    take(row.at("total"));
    if (const auto* by_column = row.as_object().if_contains("by_column"))
      for (const auto& [code, values] : by_column->as_object()) take(values);
  }
  take(report.at("total"));
  return out;
}

}  // namespace

TEST_CASE(
    "public view: a figure two tallies publish is hidden in both, no shown figure is under "
    "k, and the audit passes",
    "[tally][publication]") {
  const auto s = schema::builtin();
  const tally_def& by_sex = *s->tally("assisted-by-nationality-sex");
  const tally_def& care_days = *s->tally("care-days-by-nationality");
  std::vector<case_record> cases;
  add(cases, 2, "crisis-accommodation", "RS", "F");  // 2 persons: under k = 5
  add(cases, 6, "crisis-accommodation", "UA", "F");
  add(cases, 7, "crisis-accommodation", "UA", "M");
  add(cases, 9, "crisis-accommodation", "SY", "M");
  add(cases, 8, "crisis-accommodation", "SY", "F");
  const tally::period_report a(*s, by_sex, 2026, {}, amounts_of(by_sex, cases));
  const tally::period_report b(*s, care_days, 2026, {}, amounts_of(care_days, cases));

  const auto views = tally::public_views(*s, {&a, &b}, 5);
  REQUIRE(views.size() == 2);
  CHECK(views[0].hides("crisis-accommodation/RS/", "F"));
  CHECK(views[0].hides("crisis-accommodation/RS/", tally::all_columns));
  CHECK(views[1].hides("RS/", tally::all_columns));  // the same figure, in the other tally
  CHECK(views[0].hidden_figures > 0);
  CHECK((!views[0].narrowest || *views[0].narrowest >= 5));

  for (std::size_t i = 0; i < 2; ++i) {
    const auto& report = i == 0 ? a : b;
    const auto shown = json::parse(tally::to_json(report, views[i]));
    INFO(json::serialize(shown));
    CHECK(shown.at("view").at("name") == "public");
    CHECK(shown.at("view").at("k") == 5);
    CHECK(shown.at("view").at("audit").at("passed") == true);
    for (auto n : shown_persons(shown)) CHECK((n == 0 || n >= 5));
    CHECK_THAT(tally::to_csv(report, views[i]), Contains("<5") && Contains("\nview,public,k=5,"));
  }

  // The internal view shows every figure, and says so.
  const auto internal = json::parse(tally::to_json(a));
  CHECK(internal.at("view").at("name") == "internal");
  const auto internal_persons = shown_persons(internal);
  CHECK(std::find(internal_persons.begin(), internal_persons.end(), 2) != internal_persons.end());
  CHECK_THAT(tally::to_csv(a), Contains("\nview,internal\n"));
}

TEST_CASE("public view: a tally with only large cells hides nothing", "[tally][publication]") {
  const auto s = schema::builtin();
  const tally_def& care_days = *s->tally("care-days-by-nationality");
  std::vector<case_record> cases;
  add(cases, 6, "crisis-accommodation", "UA", "F");
  add(cases, 9, "crisis-accommodation", "SY", "M");
  const tally::period_report r(*s, care_days, 2026, {}, amounts_of(care_days, cases));
  const auto views = tally::public_views(*s, {&r}, 5);
  CHECK(views.at(0).hidden.empty());
  CHECK(tally::to_json(r, views[0]).find("<5") == std::string::npos);
  const tally::period_report empty(*s, care_days, 2026, {}, {});
  CHECK(tally::public_views(*s, {&empty}, 5).at(0).hidden.empty());
}

}  // namespace haven::test

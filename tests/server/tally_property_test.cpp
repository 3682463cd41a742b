// Property tests of the incremental tally: random adds, edits and deletes of
// records of every type, in random batches inside transactions (some rolled
// back), with today moving on; after every batch each tally's report for
// several years and months equals the oracle's recomputation from scratch.
// And the contribution is a pure function of the fields its tallies read and
// of today's month.

#include <catch2/catch.hpp>
#include <deque>
#include <haven/tally/contribution.hpp>
#include <random>
#include <string>

#include "tally_fixture.hpp"

namespace haven::test {
namespace {

class record_maker {
 public:
  explicit record_maker(std::uint64_t seed) : rng_(seed) {}

  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  int between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <class T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(between(0, static_cast<int>(items.size()) - 1))];
  }

  date day() { return date{between(from_civil(2024, 11, 1).days, from_civil(2027, 2, 28).days)}; }

  // Sets `key` to a random value for its type, or clears it now and then.
  void set_field(const std::string& type, const std::string& key, field_map& f) {
    if (chance(0.06)) {
      f.erase(key);
      return;
    }
    const std::vector<std::string> persons{"P-0001H", "P-0002F", "P-0003D",
                                           "P-0004B", "P-00059", "P-00067"};
    const std::vector<std::string> countries{"UA", "SY", "SI", "XX"};
    const std::vector<std::string> sexes{"female", "male", "unknown"};
    if (key == "date")
      f[key] = day();
    else if (key == "site")
      f[key] = pick<std::string>({"vic", "logatec", "postojna"});
    else if (key == "format")
      f[key] = pick<std::string>({"individual", "group"});
    else if (key == "participants")
      f[key] = std::int64_t{between(1, 40)};
    else if (key == "teachers")
      f[key] = std::int64_t{between(0, 4)};
    else if (key == "person")
      f[key] = pick(persons);
    else if (key == "nationality")
      f[key] = pick(countries);
    else if (key == "sex")
      f[key] = pick(sexes);
    else if (key == "programme")
      f[key] = pick<std::string>({"crisis-accommodation", "safe-accommodation", "reintegration"});
    else if (key == "exploitation") {
      code_set s;
      for (const char* c : {"sexual", "labour", "begging"})
        if (chance(0.35)) s.insert(c);
      f[key] = s;
    } else if (key == "admitted")
      f[key] = day();
    else if (key == "discharged") {
      const auto admitted = f.find("admitted");
      if (chance(0.3) || admitted == f.end())
        f.erase(key);
      else if (chance(0.05))
        f[key] =
            date{std::get<date>(admitted->second).days - between(1, 5)};  // merged out of order
      else
        f[key] = date{std::get<date>(admitted->second).days + (chance(0.15) ? 0 : between(1, 70))};
    } else if (key == "caller")
      f[key] = pick<std::string>({"police", "ngo", "victim"});
    else if (key == "outcome")
      f[key] = pick<std::string>({"admitted", "advice-only", "referred-elsewhere"});
    else if (key == "audience")
      f[key] = pick<std::string>({"primary-school", "secondary-school"});
    else if (key == "region")
      f[key] = pick<std::string>({"gorenjska", "goriska", "podravska"});
    else if (key == "topics")
      f[key] = code_set{"thb"};
    else if (key == "response_minutes")
      f[key] = std::int64_t{between(0, 90)};
    else
      FAIL("no generator for " << type << "." << key);
  }

  static const std::vector<std::string>& keys(const std::string& type) {
    static const std::map<std::string, std::vector<std::string>> all{
        {"pats_session",
         {"date", "site", "format", "participants", "person", "nationality", "sex", "topics"}},
        {"assistance_case",
         {"programme", "person", "sex", "nationality", "exploitation", "admitted", "discharged"}},
        {"on_call_event", {"date", "caller", "outcome", "response_minutes"}},
        {"prevention_workshop", {"date", "audience", "region", "participants", "teachers"}},
    };
    return all.at(type);
  }

  std::string type() {
    return pick<std::string>(
        {"pats_session", "assistance_case", "on_call_event", "prevention_workshop"});
  }

  field_map record(const std::string& type) {
    field_map f;
    for (const auto& key : keys(type)) set_field(type, key, f);
    if (type == "pats_session" && f.count("format") &&
        std::get<std::string>(f["format"]) == "group" && chance(0.8))
      f.erase("person");
    return f;
  }

  void edit(const std::string& type, field_map& f) {
    const int n = between(1, 3);
    for (int i = 0; i < n; ++i) set_field(type, pick(keys(type)), f);
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
};

}  // namespace

TEST_CASE("random edits in random batches: every report equals the oracle's recomputation",
          "[server][tally][property]") {
  const std::uint64_t seed = GENERATE(1, 2, 3, 4, 5, 6);
  INFO("seed " << seed);
  record_maker make(seed);
  tally_fixture f;
  f.today = from_civil(2026, 1, 10);
  int names = 0, checks = 0;

  constexpr int batches = 120;
  for (int batch = 0; batch < batches; ++batch) {
    INFO("batch " << batch);
    if (make.chance(0.25)) {
      f.today = date{f.today.days + make.between(0, 75)};
      f.refresh_open_stays();
    }
    const auto before = f.state();
    const bool roll_back = make.chance(0.1);
    // Either one update() per change, or the whole batch in one call, where
    // a record changed twice is one change: from its state before the batch
    // to its last.
    const bool one_call = make.chance(0.5);
    std::deque<field_map> states;  // what the changes point to, kept until the call
    std::deque<std::string> types;
    std::vector<server::tally_book::change> changes;
    std::map<std::string, std::size_t> change_of;  // a record's place in changes
    auto apply = [&](const std::string& name, const std::string& type, const field_map* fields) {
      const auto was = f.counted(name);
      f.note(name, type, fields);
      const std::string& kept_type = types.emplace_back(type);
      if (fields) fields = &states.emplace_back(*fields);
      const server::tally_book::change c{f.record_of(name), kept_type,
                                         was ? &states.emplace_back(*was) : nullptr, fields};
      if (!one_call)
        f.book().update(c);
      else if (const auto [at, first] = change_of.emplace(name, changes.size()); first)
        changes.push_back(c);
      else
        changes[at->second].fields = fields;
    };
    {
      sqlite::transaction tx(f.db());
      const int ops = make.between(1, 15);
      for (int op = 0; op < ops; ++op) {
        const auto& records = f.records();
        const bool any = !records.empty();
        const int what = make.between(0, 9);
        if (!any || what < 4) {
          const std::string type = make.type();
          const field_map fields = make.record(type);
          apply("r" + std::to_string(++names), type, &fields);
        } else {
          const oracle_record r = make.pick(records);
          if (what < 8 && !r.deleted) {
            field_map fields = r.fields;
            make.edit(r.type, fields);
            apply(r.id, r.type, &fields);
          } else if (what == 8 && !r.deleted) {
            apply(r.id, r.type, &r.fields);  // resent unchanged
          } else {
            apply(r.id, r.type, nullptr);  // a deleted record stays deleted
          }
        }
      }
      if (one_call) f.book().update(changes);
      if (!roll_back) tx.commit();
    }
    if (roll_back) f.restore(before);

    std::vector<std::pair<int, std::optional<int>>> periods{
        {2024, {}}, {2025, {}}, {2026, {}}, {2027, {}}};
    for (int i = 0; i < 3; ++i) periods.emplace_back(make.between(2025, 2027), make.between(1, 12));
    for (const auto& t : f.definitions().tallies()) {
      for (const auto& [year, month] : periods) {
        auto report = f.reports().json(t.id, year, month);
        REQUIRE(report.ok());
        const std::string problems =
            compare_report(report.value(), f.definitions(), t, f.records(), f.today, year, month);
        INFO(report.value());
        REQUIRE(problems == "");
        ++checks;
      }
    }
  }
  CHECK(static_cast<std::size_t>(checks) == batches * 7 * f.definitions().tallies().size());
  CHECK(names > 200);
}

TEST_CASE("a contribution depends only on the fields its tallies read and on today's month",
          "[server][tally][property]") {
  const auto s = shipped_schema();
  record_maker make(42);
  for (int i = 0; i < 400; ++i) {
    const std::string type = make.type();
    const field_map fields = make.record(type);
    const date today = make.day();
    const auto c = tally::contribution_of(*s, type, fields, today);
    CHECK(tally::contribution_of(*s, type, fields, today).amounts == c.amounts);

    // Fields no tally reads change nothing.
    const auto read = tally::tally_fields(*s, type);
    field_map only_read;
    for (const auto& [key, v] : fields)
      if (std::find(read.begin(), read.end(), key) != read.end()) only_read.emplace(key, v);
    const auto d = tally::contribution_of(*s, type, only_read, today);
    CHECK(d.amounts == c.amounts);
    CHECK(d.persons == c.persons);

    // Another day of the same month changes nothing; a contribution that does
    // not depend on today is the same any day.
    const civil_date cd = to_civil(today);
    const date first = from_civil(cd.year, cd.month, 1);
    const date other = c.depends_on_today ? first : make.day();
    const auto e = tally::contribution_of(*s, type, fields, other);
    CHECK(e.amounts == c.amounts);
    CHECK(e.persons == c.persons);

    // Persons are named in the month leaves only: a full row path, one column code.
    for (const auto& [key, person] : c.persons) {
      const tally_def& t = s->tallies()[key.tally];
      CHECK(key.period.month != 0);
      CHECK(static_cast<std::size_t>(std::count(key.path.begin(), key.path.end(), '/')) ==
            t.rows.size());
      CHECK((key.column == tally::all_columns) != t.column.has_value());
      CHECK(c.amounts.count({key.tally, key.period, key.path, key.column, tally::records_measure}));
    }
    // And in every month leaf the record counts in, for each distinct measure it has a person for.
    for (const auto& [key, amount] : c.amounts) {
      const tally_def& t = s->tallies()[key.tally];
      if (key.measure != tally::records_measure || key.period.month == 0 ||
          static_cast<std::size_t>(std::count(key.path.begin(), key.path.end(), '/')) !=
              t.rows.size() ||
          (key.column == tally::all_columns) == t.column.has_value())
        continue;
      for (std::uint32_t m = 0; m < t.measures.size(); ++m) {
        if (t.measures[m].kind != measure_kind::distinct) continue;
        const auto person = fields.find(t.measures[m].field);
        if (person == fields.end() || !std::holds_alternative<std::string>(person->second))
          continue;
        tally::tally_key named = key;
        named.measure = m;
        CHECK(c.persons.count({named, std::get<std::string>(person->second)}));
      }
    }

    // Every cell carries the record count; the grand total counts the record once per period.
    for (const auto& [key, amount] : c.amounts)
      if (key.measure == tally::records_measure) CHECK(amount == 1);
  }
  CHECK(tally::contribution_of(*s, "no_such_type", {}, make.day()).empty());
}

}  // namespace haven::test

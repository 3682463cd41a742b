// Benchmark of disclosure control: the public view of a table shaped like
// "persons assisted by programme, nationality and sex" (2 programmes x N
// nationalities x 3 sexes, with every subtotal and total), counts drawn so
// that most nationalities are small, as in the national report. Prints one
// JSON object; no thresholds.
//   disclosure_bench [nationalities [k]]   (defaults 60 and 5; --help)
#include <chrono>
#include <haven/core/command_line.hpp>
#include <haven/tally/disclosure.hpp>
#include <iostream>
#include <random>

namespace {

using namespace haven::tally::disclosure;
using clock_type = std::chrono::steady_clock;

// Cells: for programme p, nationality n (n = nationalities: the programme's
// subtotal), sex s (s = 3: all sexes); then the grand total by sex.
table programme_nationality_sex(std::size_t nationalities, std::mt19937& random) {
  constexpr std::size_t programmes = 2, sexes = 3;
  const auto at = [&](std::size_t p, std::size_t n, std::size_t s) {
    return (p * (nationalities + 1) + n) * (sexes + 1) + s;
  };
  const std::size_t grand = programmes * (nationalities + 1) * (sexes + 1);
  table t;
  t.cells.resize(grand + sexes + 1);
  std::geometric_distribution<int> persons(0.25);  // mostly small, a few large
  for (std::size_t p = 0; p < programmes; ++p)
    for (std::size_t n = 0; n < nationalities; ++n)
      for (std::size_t s = 0; s < sexes; ++s) {
        const std::int64_t v = n < 5 ? 20 + persons(random) * 4 : persons(random);
        for (auto cell : {at(p, n, s), at(p, n, sexes), at(p, nationalities, s),
                          at(p, nationalities, sexes), grand + s, grand + sexes}) {
          t.cells[cell].value += v;
          t.cells[cell].contributors += v;
        }
      }
  const auto relate = [&](std::size_t total, std::vector<std::size_t> parts) {
    t.relations.push_back({relation_kind::sum, total, std::move(parts)});
  };
  for (std::size_t p = 0; p < programmes; ++p)
    for (std::size_t n = 0; n <= nationalities; ++n) {
      std::vector<std::size_t> by_sex;
      for (std::size_t s = 0; s < sexes; ++s) by_sex.push_back(at(p, n, s));
      relate(at(p, n, sexes), by_sex);
    }
  for (std::size_t p = 0; p < programmes; ++p)
    for (std::size_t s = 0; s <= sexes; ++s) {
      std::vector<std::size_t> by_nationality;
      for (std::size_t n = 0; n < nationalities; ++n) by_nationality.push_back(at(p, n, s));
      relate(at(p, nationalities, s), by_nationality);
    }
  for (std::size_t s = 0; s <= sexes; ++s)
    relate(grand + s, {at(0, nationalities, s), at(1, nationalities, s)});
  relate(grand + sexes, {grand, grand + 1, grand + 2});
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = haven::command_line::parse_counts(
      argc, argv, "disclosure_bench",
      "[nationalities [k]]: the public view of a programme x nationality x sex table, as JSON",
      {{"nationalities", 60, 1, 250, "nationalities (rows per programme)"},
       {"k", 5, 2, 100, "the least number of persons a published cell may count"}});
  if (args.exit_code) return *args.exit_code;
  std::mt19937 random(42);
  const table t = programme_nationality_sex(args.values[0], random);
  const auto k = static_cast<std::int64_t>(args.values[1]);

  auto start = clock_type::now();
  const auto hidden = suppress(t, k).hidden;
  const double suppress_s = std::chrono::duration<double>(clock_type::now() - start).count();
  start = clock_type::now();
  const auto result = audit(t, hidden, k);
  const double audit_s = std::chrono::duration<double>(clock_type::now() - start).count();
  std::size_t primary = 0;
  for (const auto& c : t.cells) primary += sensitive(c, k) ? 1 : 0;
  std::cout << "{\"benchmark\":\"disclosure\",\"cells\":" << t.cells.size()
            << ",\"relations\":" << t.relations.size() << ",\"k\":" << k
            << ",\"primary\":" << primary << ",\"hidden\":" << result.hidden.size()
            << ",\"safe\":" << (result.safe ? "true" : "false") << ",\"suppress_s\":" << suppress_s
            << ",\"audit_s\":" << audit_s
            << ",\"floor\":\"the public view of every tally of a year within the 1 s a page "
               "may take\"}\n";
}

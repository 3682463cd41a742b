// tally: havend (the program) filled with records by devices pushing at
// once (untimed), then every declared tally read for a year over HTTP, as the
// dashboard and scripts read them (each read the median of five), and the
// incremental update: a device syncs one new record, committed with its
// tally update (the median of five, each a new record), and /healthz (the
// median of five), which counts the store's records and cells. The floor: the same records as plain
// rows, and one tally (persons by nationality and sex) as a GROUP BY over them.
#include <algorithm>
#include <cmath>
#include <haven/core/command_line.hpp>

#include "havend_process.hpp"
#include "plain_rows.hpp"
#include "report.hpp"
#include "scenarios.hpp"
#include "workload.hpp"

namespace haven::bench {
namespace {

constexpr int year = 2025;
constexpr int reads = 5;

// The median time of `reads` runs of f, each after its prepare(i).
template <class F, class P = void (*)(int)>
double median_ms(
    F&& f, P&& prepare = [](int) {}) {
  std::vector<double> ms;
  for (int i = 0; i < reads; ++i) {
    prepare(i);
    const auto start = clock_type::now();
    f();
    ms.push_back(1000 * seconds_since(start));
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int tally(int argc, const char* const* argv) {
  const auto args =
      command_line::parse_counts(argc, argv, "haven_bench tally", "[devices [records]]",
                                 {{"devices", 10, 1, 1000, "devices that fill havend"},
                                  {"records", 100000, 1, 10000000, "records each device pushes"}});
  if (args.exit_code) return *args.exit_code;
  const std::size_t devices = args.values[0], per_device = args.values[1];
  const scratch_dir dir("tally");
  fleet field(dir, "device", devices, per_device, solo_team);
  havend_child havend(dir.file("central.db"));
  field.sync_all(havend.sync_options());

  boost::json::object each;
  double slowest = 0;
  const auto& s = field.stores()[0]->schema();
  for (const auto& t : s.tallies()) {
    const std::string path = "/api/tallies/" + t.id + "?year=" + std::to_string(year);
    const double ms = median_ms([&] {
      if (test::http_get(havend.address(), path).status != 200)
        throw failure(errc::internal, "GET " + path + " failed");
    });
    each[t.id] = std::round(ms * 1000) / 1000;
    slowest = std::max(slowest, ms);
  }

  // Each update a new record, synced alone; the writer pulls everything
  // first, so that each sync pushes its record and pulls it back only.
  auto& writer = *field.stores()[0];
  unwrap(client::sync_now(writer, havend.sync_options()));
  const auto updates = field_records(reads, 99);
  const double update_ms =
      median_ms([&] { unwrap(client::sync_now(writer, havend.sync_options())); },
                [&](int i) { unwrap(writer.add(updates[static_cast<std::size_t>(i)])); });

  // What a monitor asks every few seconds, over the whole store.
  const double health_ms = median_ms([&] {
    if (test::http_get(havend.address(), "/healthz").status != 200)
      throw failure(errc::internal, "GET /healthz failed");
  });

  const auto all = field.all_inputs();
  plain_rows plain(dir.file("plain.db"), all);
  plain.insert_batched(all, 10000, plain_rows::durability::relaxed);
  const double floor_ms = median_ms([&] {
    sqlite::statement q(plain.db(),
                        "SELECT nationality, sex, count(DISTINCT person) FROM assistance_case "
                        "WHERE admitted LIKE '2025-%' GROUP BY nationality, sex");
    while (q.step()) {
    }
  });

  print("tally",
        {{"devices", devices},
         {"records", field.records()},
         {"cells", field.cells()},
         {"tallies", s.tallies().size()},
         {"year", year}},
        {{"slowest_tally_read_ms", figure(slowest, "ms", "under 10 ms over 1,000,000 records")},
         {"assisted_by_nationality_sex_read_ms",
          figure(each.at("assisted-by-nationality-sex").as_double(), "ms", floor_ms)},
         {"incremental_update_ms", figure(update_ms, "ms")},
         {"health_check_ms", figure(health_ms, "ms")},
         {"read_ms_by_tally", each}});
  return 0;
}

}  // namespace haven::bench

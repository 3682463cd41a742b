// apply: a device applies remote cells from a cold start, batch by batch as a
// pull brings them (the batches drained from another device's outbox,
// untimed), beside the same values inserted into plain rows in batches of
// as many records with the same durability (relaxed, as pulled cells are:
// they can be pulled again). The floor's rate is the cells over the plain
// rows' time.
#include <ctime>
#include <haven/core/command_line.hpp>

#include "plain_rows.hpp"
#include "report.hpp"
#include "scenarios.hpp"
#include "workload.hpp"

namespace haven::bench {

int apply(int argc, const char* const* argv) {
  const auto args = command_line::parse_counts(
      argc, argv, "haven_bench apply", "[records [batch-cells]]",
      {{"records", 100000, 1, 10000000, "records whose cells are applied"},
       {"batch-cells", 8000, 1, 100000, "cells per pulled batch (havend sends 8000)"}});
  if (args.exit_code) return *args.exit_code;
  const std::size_t n = args.values[0], batch_cells = args.values[1];
  const scratch_dir dir("apply");
  const auto records = field_records(n, 1);

  std::vector<client::outbox_batch> batches;
  {
    auto source = unwrap(client::store::create(dir.file("source.db"), "bench"));
    add_in_batches(*source, records, 10000);
    for (;;) {
      auto b = unwrap(source->outbox(batch_cells));
      if (b.changes.empty()) break;
      unwrap(source->acknowledge(b.last_seq));
      batches.push_back(std::move(b));
    }
  }

  std::size_t cells = 0, max_batch_records = 1;
  timespec cpu0{}, cpu1{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
  const auto start_cold = clock_type::now();
  auto target = unwrap(client::store::create(dir.file("target.db"), "bench"));
  for (std::size_t i = 0; i < batches.size(); ++i) {
    unwrap(target->apply_remote(batches[i].changes, i + 1));
    cells += batches[i].cells;
    max_batch_records = std::max(max_batch_records, batches[i].changes.size());
  }
  const double apply_s = seconds_since(start_cold);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
  const double apply_cpu_s = (cpu1.tv_sec - cpu0.tv_sec) + (cpu1.tv_nsec - cpu0.tv_nsec) / 1e9;

  plain_rows plain(dir.file("plain.db"), records);
  const auto start = clock_type::now();
  plain.insert_batched(records, max_batch_records, plain_rows::durability::relaxed);
  const double plain_s = seconds_since(start);
  const std::size_t values = plain_rows::values(records);

  print("apply",
        {{"records", n}, {"cells", cells}, {"batches", batches.size()}, {"values", values}},
        {{"apply_cells_per_s", figure(cells / apply_s, "cells/s", cells / plain_s, true,
                                      "at least 500,000 cells/s, within 2x the plain-rows floor")},
         {"apply_s", figure(apply_s, "s", plain_s)},
         {"apply_cpu_s", figure(apply_cpu_s, "s")}});
  return 0;
}

}  // namespace haven::bench

// local-write: assistance cases written through the client-core API, one
// transaction per record (as a form saves them) and in batches (as an import
// does), beside the same rows written into plain SQLite tables with the same
// durability (a full fsync per commit).
#include <haven/core/command_line.hpp>

#include "plain_rows.hpp"
#include "report.hpp"
#include "scenarios.hpp"
#include "workload.hpp"

namespace haven::bench {

int local_write(int argc, const char* const* argv) {
  const auto args = command_line::parse_counts(
      argc, argv, "haven_bench local-write", "[records [batch [single]]]",
      {{"records", 100000, 1, 10000000, "assistance cases written each way"},
       {"batch", 1000, 1, 100000, "records per transaction when batched"},
       {"single", 100000, 1, 10000000,
        "of those, how many are written one transaction each (a full fsync each)"}});
  if (args.exit_code) return *args.exit_code;
  const std::size_t n = args.values[0], batch = args.values[1],
                    singles = std::min(n, args.values[2]);
  const scratch_dir dir("local-write");
  const auto records = assistance_cases(n, 1);

  auto single = unwrap(client::store::create(dir.file("single.db"), "bench"));
  auto start = clock_type::now();
  for (std::size_t i = 0; i < singles; ++i) unwrap(single->add(records[i]));
  const double single_s = seconds_since(start);

  auto batched = unwrap(client::store::create(dir.file("batched.db"), "bench"));
  start = clock_type::now();
  add_in_batches(*batched, records, batch);
  const double batched_s = seconds_since(start);
  const std::size_t cells = unwrap(batched->status()).pending_cells;

  plain_rows plain_single(dir.file("plain-single.db"), records);
  start = clock_type::now();
  plain_single.insert_each(
      {records.begin(), records.begin() + static_cast<std::ptrdiff_t>(singles)});
  const double plain_single_s = seconds_since(start);
  plain_rows plain_batched(dir.file("plain-batched.db"), records);
  start = clock_type::now();
  plain_batched.insert_batched(records, batch);
  const double plain_batched_s = seconds_since(start);

  print("local-write",
        {{"records", n},
         {"batch", batch},
         {"single", singles},
         {"cells", cells},
         {"values", plain_rows::values(records)}},
        {{"one_transaction_each_ms",
          figure(1000 * single_s / singles, "ms per record", 1000 * plain_single_s / singles, false,
                 "at most 1.5x the plain-rows floor")},
         {"batched_records_per_s", figure(n / batched_s, "records/s", n / plain_batched_s, true,
                                          "at most 1.5x the plain-rows floor")}});
  return 0;
}

}  // namespace haven::bench

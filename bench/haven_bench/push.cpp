// push: devices, each alone in its team, push everything they recorded
// offline into havend (the program, on 127.0.0.1) at once; the last
// acknowledgement means every push batch is committed with its tally update.
// The floor: the same records as plain rows in transactions of a push
// batch's records each, durable as havend's commits are.
#include <haven/core/command_line.hpp>

#include "plain_rows.hpp"
#include "report.hpp"
#include "scenarios.hpp"
#include "workload.hpp"

namespace haven::bench {

int push(int argc, const char* const* argv) {
  const auto args =
      command_line::parse_counts(argc, argv, "haven_bench push", "[devices [records]]",
                                 {{"devices", 10, 1, 1000, "devices that push at once"},
                                  {"records", 10000, 1, 10000000, "records each device pushes"}});
  if (args.exit_code) return *args.exit_code;
  const std::size_t devices = args.values[0], per_device = args.values[1];
  const scratch_dir dir("push");
  fleet field(dir, "device", devices, per_device, solo_team);
  havend_child havend(dir.file("central.db"));
  const double server_cpu_start = cpu_seconds(havend.pid()), own_cpu_start = cpu_seconds();
  const double push_s = field.sync_all(havend.sync_options());
  const double server_cpu_s = cpu_seconds(havend.pid()) - server_cpu_start;
  const double devices_cpu_s = cpu_seconds() - own_cpu_start;
  const auto server_peak = havend.peak_rss_bytes();
  havend.stop_and_measure_store();

  const auto all = field.all_inputs();
  plain_rows plain(dir.file("plain.db"), all);
  const std::size_t per_batch =
      std::max<std::size_t>(1, all.size() * 4000 / std::max<std::size_t>(1, field.cells()));
  const auto start = clock_type::now();
  plain.insert_batched(all, per_batch);
  const double plain_s = seconds_since(start);

  const double cells = static_cast<double>(field.cells());
  print("push",
        {{"devices", devices}, {"records_per_device", per_device}, {"cells", field.cells()}},
        {{"push_cells_per_s", figure(cells / push_s, "cells/s", cells / plain_s, true,
                                     "at least 300,000 cells/s with the tally kept exact")},
         {"push_s", figure(push_s, "s", plain_s)},
         {"server_peak_rss_bytes", figure(static_cast<double>(server_peak), "bytes")},
         // Steadier than the time on a machine the devices share with havend.
         {"server_cpu_us_per_cell", figure(server_cpu_s * 1e6 / cells, "us of CPU per cell")},
         {"devices_cpu_us_per_cell", figure(devices_cpu_s * 1e6 / cells, "us of CPU per cell")}});
  return 0;
}

}  // namespace haven::bench

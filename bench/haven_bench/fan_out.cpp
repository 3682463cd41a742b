// fan-out: devices of one team connected at once to havend (the program),
// live; one device of the team writes a record and syncs it (sync_now, from
// the start: connect, push, commit); the time until each listening device
// has it, over several writes. Raises the file-descriptor limit (havend
// inherits it) and bounds the connecting by a deadline. Server RSS once all
// are connected, and its peak; the CPU time each write costs havend and the
// devices (this program), which contention on a small machine leaves steadier
// than the delays. No floor: the anchor is the target.
#include <algorithm>
#include <haven/core/command_line.hpp>

#include "crowd.hpp"
#include "report.hpp"
#include "scenarios.hpp"
#include "workload.hpp"

namespace haven::bench {
namespace {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int fan_out(int argc, const char* const* argv) {
  const auto args = command_line::parse_counts(
      argc, argv, "haven_bench fan-out", "[devices [writes [deadline-seconds]]]",
      {{"devices", 1000, 1, 100000, "listening devices connected at once"},
       {"writes", 5, 1, 1000, "records written, each delivered to all"},
       {"deadline", 300, 1, 3600, "seconds allowed for connecting them all"}});
  if (args.exit_code) return *args.exit_code;
  const std::size_t devices = args.values[0], writes = args.values[1];
  const auto open_files = raise_open_files_limit();
  const scratch_dir dir("fan-out");
  const std::string most = std::to_string(devices + 100);
  havend_child havend(
      dir.file("central.db"),
      {"--max-connections", most, "--max-connections-per-address", most, "--idle-timeout", "3600"});
  const auto rss_empty = havend.rss_bytes();

  crowd listeners(havend.address(), "fan-out", devices);
  const auto connect_start = clock_type::now();
  const std::size_t live = listeners.connect(200, std::chrono::seconds(args.values[2]));
  const double connect_s = seconds_since(connect_start);
  const auto rss_connected = havend.rss_bytes();

  auto writer = unwrap(client::store::create(dir.file("writer.db"), "fan-out"));
  const auto records = field_records(writes, 7);
  std::vector<double> delays;
  std::size_t missed = 0;
  double sync_s = 0;
  const double server_cpu_start = cpu_seconds(havend.pid()), own_cpu_start = cpu_seconds();
  for (const auto& r : records) {
    unwrap(writer->add(r));
    const auto sent = clock_type::now();
    unwrap(client::sync_now(*writer, havend.sync_options()));
    sync_s += seconds_since(sent);
    const auto got = listeners.await_delivery(sent, std::chrono::seconds(30));
    missed += live > got.size() ? live - got.size() : 0;  // some may connect after `live` was read
    delays.insert(delays.end(), got.begin(), got.end());
  }
  const auto per_write_ms = [&](double cpu_s) {
    return figure(1000 * cpu_s / static_cast<double>(writes), "ms");
  };

  print("fan-out",
        {{"devices", devices},
         {"connected", live},
         {"writes", writes},
         {"open_files_limit", open_files}},
        {{"delivery_p50_ms", figure(1000 * percentile(delays, 0.5), "ms")},
         {"delivery_p99_ms",
          figure(1000 * percentile(delays, 0.99), "ms", "under 100 ms at 10,000 devices")},
         {"delivery_max_ms", figure(1000 * percentile(delays, 1.0), "ms")},
         {"missed_deliveries", figure(static_cast<double>(missed), "deliveries")},
         {"writer_sync_ms", figure(1000 * sync_s / static_cast<double>(writes), "ms")},
         // CPU time per write, all deliveries included: havend's, and this
         // program's (the listening devices and the writer).
         {"server_cpu_ms_per_write", per_write_ms(cpu_seconds(havend.pid()) - server_cpu_start)},
         {"devices_cpu_ms_per_write", per_write_ms(cpu_seconds() - own_cpu_start)},
         {"connect_all_s", figure(connect_s, "s")},
         {"server_rss_bytes",
          figure(static_cast<double>(rss_connected), "bytes", "under 1 GiB at 10,000 devices")},
         {"server_rss_idle_bytes", figure(static_cast<double>(rss_empty), "bytes")},
         {"server_peak_rss_bytes", figure(static_cast<double>(havend.peak_rss_bytes()), "bytes")}});
  return 0;
}

}  // namespace haven::bench

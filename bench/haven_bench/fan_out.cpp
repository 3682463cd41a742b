// fan-out: devices of one team, each enrolled, signed in and connected at
// once to havend (the program, with authentication as in the field), live; one device of the team
// writes a record and syncs it (sync_now, from the start: connect, push, commit); the time until
// each listening device has it, over several writes. Raises the file-descriptor limit (havend
// inherits it) and bounds the connecting by a deadline. Server RSS once all
// are connected, and its peak; the CPU time each write costs havend and the
// devices (this program), which contention on a small machine leaves steadier
// than the delays. No floor: the anchor is the issue's target.
#include <algorithm>
#include <haven/client/enrollment.hpp>
#include <haven/client/sync_client.hpp>
#include <haven/core/clock.hpp>
#include <haven/core/command_line.hpp>
#include <haven/crypto/crypto.hpp>
#include <haven/server/access_registry.hpp>

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
  const std::string team = "fan-out";
  const auto open_files = raise_open_files_limit();
  const scratch_dir dir("fan-out");
  const std::string most = std::to_string(devices + 100);
  havend_child havend(
      dir.file("central.db"),
      {"--max-connections", most, "--max-connections-per-address", most, "--idle-timeout", "3600"},
      true);
  const auto rss_empty = havend.rss_bytes();

  // Every device enrolled, as in the field (not timed): the listeners with a
  // code redeemed in the registry (the store file havend serves, as `havend
  // enroll` opens it), the writer over /api/enroll as `haven enroll` does.
  const auto enroll_start = clock_type::now();
  std::vector<crowd::identity> enrolled;
  auto writer = unwrap(client::store::create(dir.file("writer.db"), "unenrolled"));
  {
    const auto registry = server::open_sqlite_registry(dir.file("central.db"));
    const auto code = [&](const std::string& name) {
      return registry->issue_code(name, team, server::device_role::worker, std::chrono::hours(1),
                                  unix_ms_now());
    };
    for (std::size_t i = 0; i < devices; ++i) {
      const auto key = crypto::generate_signing_key();
      const auto grant = registry->redeem(code("listener " + std::to_string(i)).code,
                                          key.public_key, "127.0.0.1", unix_ms_now());
      enrolled.push_back({grant.device_id, key.private_key});
    }
    unwrap(client::enroll(*writer, "ws://" + havend.address(), code("writer").code, ""));
  }
  const double enroll_s = seconds_since(enroll_start);
  auto writer_options = unwrap(client::sync_options_for(*writer, std::nullopt, std::nullopt));
  writer_options.idle_timeout = havend.sync_options().idle_timeout;

  crowd listeners(havend.address(), team, devices, std::move(enrolled));
  const auto connect_start = clock_type::now();
  const std::size_t live = listeners.connect(200, std::chrono::seconds(args.values[2]));
  const double connect_s = seconds_since(connect_start);
  const auto rss_connected = havend.rss_bytes();

  const auto records = field_records(writes, 7);
  std::vector<double> delays;
  std::size_t missed = 0;
  double sync_s = 0;
  const double server_cpu_start = cpu_seconds(havend.pid()), own_cpu_start = cpu_seconds();
  for (const auto& r : records) {
    unwrap(writer->add(r));
    const auto sent = clock_type::now();
    unwrap(client::sync_now(*writer, writer_options));
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
         {"enroll_all_s", figure(enroll_s, "s")},
         {"server_rss_bytes",
          figure(static_cast<double>(rss_connected), "bytes", "under 1 GiB at 10,000 devices")},
         {"server_rss_idle_bytes", figure(static_cast<double>(rss_empty), "bytes")},
         {"server_peak_rss_bytes", figure(static_cast<double>(havend.peak_rss_bytes()), "bytes")}});
  return 0;
}

}  // namespace haven::bench

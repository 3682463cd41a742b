// initial-sync: a fresh device pulls everything its team holds from havend
// (the program, restarted after being filled so that its peak memory is the
// pull's) over a real connection on 127.0.0.1. The device is a process of its
// own (haven_bench pull-into), so that its peak RSS is the pull's alone; peak
// RSS of both ends; bytes on the wire counted by a relay at the socket, on a
// second fresh device's pull (untimed). The floor: the same values as plain
// rows on the device, in transactions of a pulled batch's records each.
#include <boost/json.hpp>
#include <haven/core/command_line.hpp>
#include <iostream>

#include "cutting_proxy.hpp"
#include "plain_rows.hpp"
#include "process.hpp"
#include "report.hpp"
#include "scenarios.hpp"
#include "workload.hpp"

namespace haven::bench {
namespace {

// What the device process reports of its pull.
struct device_pull {
  std::size_t records = 0, cells = 0, batches = 0;
  double seconds = 0;
  std::uint64_t rss_before = 0, peak_rss = 0;
};

// Runs `haven_bench pull-into DB URL` and reads its report.
device_pull pull_in_own_process(const std::string& db, const std::string& url) {
  test::child device({"/proc/self/exe", "pull-into", db, url});
  std::string line;
  if (!device.read_line(line) || device.wait() != 0)
    throw failure(errc::unavailable, "the pulling device (haven_bench pull-into) failed");
  const auto o = boost::json::parse(line).as_object();
  auto count = [&](const char* key) { return boost::json::value_to<std::uint64_t>(o.at(key)); };
  return {count("records"),    count("cells"),
          count("batches"),    o.at("seconds").to_number<double>(),
          count("rss_before"), count("peak_rss")};
}

}  // namespace

int pull_into(int argc, const char* const* argv) {
  if (argc != 3) {
    std::cerr << "haven_bench pull-into DB URL: a fresh device store at DB pulls from URL; "
                 "prints one line of JSON (used by initial-sync)\n";
    return command_line::exit_usage;
  }
  const auto rss_before = rss_bytes();
  const auto start = clock_type::now();
  auto fresh = unwrap(client::store::create(argv[1], "field"));
  client::sync_options options;
  options.server_url = argv[2];
  options.idle_timeout = std::chrono::minutes(10);
  const auto pulled = unwrap(client::sync_now(*fresh, options));
  const double seconds = seconds_since(start);
  boost::json::object out{{"records", unwrap(fresh->status()).records},
                          {"cells", pulled.progress.changes_down},
                          {"batches", pulled.progress.batches_down},
                          {"seconds", seconds},
                          {"rss_before", rss_before},
                          {"peak_rss", peak_rss_bytes()}};
  std::cout << boost::json::serialize(out) << std::endl;
  return 0;
}

int initial_sync(int argc, const char* const* argv) {
  const auto args = command_line::parse_counts(
      argc, argv, "haven_bench initial-sync", "[records]",
      {{"records", 100000, 1, 10000000, "records the team holds (about 6 cells each)"}});
  if (args.exit_code) return *args.exit_code;
  const std::size_t n = args.values[0];
  const scratch_dir dir("initial-sync");
  const auto team = [](std::size_t) { return std::string("field"); };
  std::size_t cells = 0;
  std::vector<client::record_input> records;
  {
    fleet recorder(dir, "recorder", 1, n, team);
    havend_child filling(dir.file("central.db"));
    recorder.sync_all(filling.sync_options());
    cells = recorder.cells();
    records = recorder.inputs(0);
  }
  havend_child havend(dir.file("central.db"));
  const auto server_before = havend.rss_bytes();
  // The device's store in a folder of its own: havend watches its store's
  // folder, and would otherwise be woken by every write of the device's.
  const auto device_folder = dir.file("device");
  std::filesystem::create_directory(device_folder);
  const auto device =
      pull_in_own_process(device_folder / "fresh.db", havend.sync_options().server_url);
  const auto server_peak = havend.peak_rss_bytes();

  test::cutting_proxy relay(havend.address());
  auto counted = unwrap(client::store::create(dir.file("counted.db"), "field"));
  auto via_relay = havend.sync_options();
  via_relay.server_url = relay.sync_url();
  unwrap(client::sync_now(*counted, via_relay));
  const auto down = relay.bytes(test::cutting_proxy::direction::down),
             up = relay.bytes(test::cutting_proxy::direction::up);

  plain_rows plain(dir.file("plain.db"), records);
  const auto plain_start = clock_type::now();
  plain.insert_batched(records,
                       std::max<std::size_t>(1, n * 8000 / std::max<std::size_t>(1, cells)),
                       plain_rows::durability::relaxed);
  const double plain_s = seconds_since(plain_start);

  print("initial-sync",
        {{"records", device.records}, {"cells", device.cells}, {"batches", device.batches}},
        {{"pull_s", figure(device.seconds, "s", plain_s, false, "under 3 s for 1,000,000 cells")},
         {"pull_cells_per_s", figure(static_cast<double>(device.cells) / device.seconds, "cells/s",
                                     static_cast<double>(device.cells) / plain_s, true)},
         {"client_peak_rss_bytes", figure(static_cast<double>(device.peak_rss), "bytes")},
         {"client_rss_before_bytes", figure(static_cast<double>(device.rss_before), "bytes")},
         {"server_peak_rss_bytes", figure(static_cast<double>(server_peak), "bytes")},
         {"server_rss_before_bytes", figure(static_cast<double>(server_before), "bytes")},
         {"bytes_down", figure(static_cast<double>(down), "bytes")},
         {"bytes_up", figure(static_cast<double>(up), "bytes")}});
  return 0;
}

}  // namespace haven::bench

// initial-sync: a fresh device pulls everything its team holds from havend
// (the program, restarted after being filled so that its peak memory is the
// pull's) over a real connection on 127.0.0.1. Peak RSS of both ends; bytes
// on the wire counted by a relay at the socket, on a second fresh device's
// pull (untimed). The floor: the same values as plain rows on the device, in
// transactions of a pulled batch's records each. The device's peak is
// reset before the pull, but the records were made and pushed in this
// process first: a pull that needs less than that left behind shows no peak
// of its own (to do: pull in a process of its own).
#include <haven/core/command_line.hpp>

#include "cutting_proxy.hpp"
#include "plain_rows.hpp"
#include "report.hpp"
#include "scenarios.hpp"
#include "workload.hpp"

namespace haven::bench {

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
  reset_peak_rss();
  const auto client_before = rss_bytes();

  const auto start = clock_type::now();
  auto fresh = unwrap(client::store::create(dir.file("fresh.db"), "field"));
  const auto pulled = unwrap(client::sync_now(*fresh, havend.sync_options()));
  const double pull_s = seconds_since(start);
  const auto client_peak = peak_rss_bytes(), server_peak = havend.peak_rss_bytes();
  const std::size_t pulled_records = unwrap(fresh->status()).records;

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
        {{"records", pulled_records},
         {"cells", pulled.progress.changes_down},
         {"batches", pulled.progress.batches_down}},
        {{"pull_s", figure(pull_s, "s", plain_s, false, "under 3 s for 1,000,000 cells")},
         {"pull_cells_per_s", figure(pulled.progress.changes_down / pull_s, "cells/s",
                                     pulled.progress.changes_down / plain_s, true)},
         {"client_peak_rss_bytes", figure(static_cast<double>(client_peak), "bytes")},
         {"client_rss_before_bytes", figure(static_cast<double>(client_before), "bytes")},
         {"server_peak_rss_bytes", figure(static_cast<double>(server_peak), "bytes")},
         {"server_rss_before_bytes", figure(static_cast<double>(server_before), "bytes")},
         {"bytes_down", figure(static_cast<double>(down), "bytes")},
         {"bytes_up", figure(static_cast<double>(up), "bytes")}});
  return 0;
}

}  // namespace haven::bench

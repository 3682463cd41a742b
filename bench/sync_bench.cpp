// End-to-end sync benchmark over real sockets on 127.0.0.1: an in-process
// havend, D devices with R records each (each alone in its team) pushing at
// once, then fresh devices, one per team in turn, pulling everything. Prints
// one JSON object; no thresholds.
//   sync_bench [devices] [records-per-device]   (default 10 10000)
#include <cstdio>
#include <filesystem>
#include <haven/client/store.hpp>
#include <haven/client/sync_client.hpp>
#include <haven/core/command_line.hpp>
#include <haven/schema/pseudonym.hpp>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "in_process_havend.hpp"

namespace {

using namespace haven;
using bench::clock_type;
using bench::seconds_since;

// A realistic mix: individual and group sessions, workshops, on-call events.
std::string team_of(std::size_t device) {
  return "device-" + std::to_string(device);
}

client::record_input random_record(std::mt19937& rng, std::size_t device, std::size_t i) {
  static const char* sites[] = {"vic", "logatec", "postojna", "other"};
  static const char* regions[] = {"gorenjska", "goriska",   "koroska",
                                  "podravska", "savinjska", "zasavska"};
  const std::string date = "2026-" + std::string(1 + rng() % 9 < 10 ? "0" : "") +
                           std::to_string(1 + rng() % 9) + "-1" + std::to_string(rng() % 10);
  switch (rng() % 4) {
    case 0:
      return {"pats_session",
              "",
              {{"date", date},
               {"site", sites[rng() % 4]},
               {"format", "individual"},
               {"person", with_check_symbol("PK-" + std::to_string(device) + "-" +
                                            std::to_string(rng() % 5000))},
               {"nationality", "UA"},
               {"topics", "thb,gbv"}}};
    case 1:
      return {"pats_session",
              "",
              {{"date", date},
               {"site", sites[rng() % 4]},
               {"format", "group"},
               {"participants", std::to_string(2 + rng() % 30)}}};
    case 2:
      return {"prevention_workshop",
              "",
              {{"date", date},
               {"audience", "secondary-school"},
               {"region", regions[rng() % 6]},
               {"participants", std::to_string(1 + rng() % 40)},
               {"teachers", std::to_string(rng() % 3)}}};
    default:
      return {"on_call_event",
              "",
              {{"date", date},
               {"caller", "police"},
               {"outcome", "advice-only"},
               {"response_minutes", std::to_string(i % 120)}}};
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = haven::command_line::parse_counts(
      argc, argv, "sync_bench",
      "[devices [records]]: devices pushing through havend in process, as JSON",
      {{"devices", 10, 1, 1000, "devices that push at once"},
       {"records", 10000, 1, 10000000, "records each device pushes"}});
  if (args.exit_code) return *args.exit_code;
  const std::size_t devices = args.values[0], per_device = args.values[1];
  const bench::scratch_dir dir("sync");
  bench::in_process_havend havend(dir.file("central.db"),
                                  false);  // the bench's devices are not enrolled
  client::sync_options options;
  options.server_url = havend.sync_url();

  // Each device records its contacts offline (not timed).
  std::vector<std::unique_ptr<client::store>> stores;
  std::size_t cells = 0;
  for (std::size_t d = 0; d < devices; ++d) {
    std::mt19937 rng(static_cast<unsigned>(d));
    // Each device is alone in its team (a device pushes only its own team's
    // records), so that the push phase measures pushes, not pulls of the others.
    stores.push_back(
        unwrap(client::store::create(dir.file("device" + std::to_string(d) + ".db"), team_of(d))));
    std::vector<client::record_input> inputs;
    for (std::size_t i = 0; i < per_device; ++i) inputs.push_back(random_record(rng, d, i));
    unwrap(stores.back()->add_all(inputs));
    cells += unwrap(stores.back()->status()).pending_cells;
  }

  // All devices push at once; when the last push is acknowledged its commit
  // (and the tally update inside it) is durable.
  auto t = clock_type::now();
  std::vector<std::thread> pushers;
  for (auto& s : stores) pushers.emplace_back([&] { unwrap(client::sync_now(*s, options)); });
  for (auto& p : pushers) p.join();
  const double push_s = seconds_since(t);

  // Fresh devices pull everything: one new device per team, one after the other.
  std::vector<std::unique_ptr<client::store>> fresh;
  for (std::size_t d = 0; d < devices; ++d)
    fresh.push_back(
        unwrap(client::store::create(dir.file("fresh" + std::to_string(d) + ".db"), team_of(d))));
  std::size_t records = 0, pulled_cells = 0;
  t = clock_type::now();
  for (auto& f : fresh) pulled_cells += unwrap(client::sync_now(*f, options)).progress.changes_down;
  const double pull_s = seconds_since(t);
  for (auto& f : fresh) records += unwrap(f->status()).records;

  havend.stop();
  std::uintmax_t central_bytes = 0;
  for (const char* f : {"central.db", "central.db-wal"})
    if (std::filesystem::exists(dir.file(f)))
      central_bytes += std::filesystem::file_size(dir.file(f));

  std::printf(
      "{\"benchmark\":\"sync\",\"devices\":%zu,\"records_per_device\":%zu,\"cells_pushed\":%zu,"
      "\"push_all_s\":%.2f,\"push_cells_per_s\":%.0f,\"push_records_per_s\":%.0f,"
      "\"fresh_pull_records\":%zu,\"fresh_pull_cells\":%zu,\"fresh_pull_s\":%.2f,\"pull_records_"
      "per_s\":%.0f,"
      "\"central_store_bytes\":%ju}\n",
      devices, per_device, cells, push_s, cells / push_s, devices * per_device / push_s, records,
      pulled_cells, pull_s, records / pull_s, central_bytes);
}

// Benchmarks of the device store. Prints one JSON object; no thresholds.
//   store_bench [records]   (default 20000; --help)
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <haven/client/store.hpp>
#include <haven/core/command_line.hpp>
#include <haven/core/result.hpp>
#include <iostream>
#include <random>
#include <string>

namespace {

using namespace haven;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

client::record_input workshop(std::mt19937& rng) {
  static const char* regions[] = {"gorenjska", "goriska",   "koroska",
                                  "podravska", "savinjska", "zasavska"};
  return {"prevention_workshop",
          "",
          {{"date", "2026-0" + std::to_string(1 + rng() % 9) + "-1" + std::to_string(rng() % 10)},
           {"audience", "secondary-school"},
           {"region", regions[rng() % 6]},
           {"participants", std::to_string(1 + rng() % 40)},
           {"teachers", std::to_string(rng() % 3)}}};
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = haven::command_line::parse_counts(
      argc, argv, "store_bench", "[records]: benchmarks of the device store, printed as JSON",
      {{"records", 20000, 1, 10000000, "records to write, import and list"}});
  if (args.exit_code) return *args.exit_code;
  const std::size_t n = args.values[0];
  const auto dir =
      std::filesystem::temp_directory_path() / ("haven-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::mt19937 rng(42);

  auto source = unwrap(client::store::create(dir / "source.db", "bench"));
  std::vector<client::record_input> inputs;
  for (std::size_t i = 0; i < n; ++i) inputs.push_back(workshop(rng));

  auto t = clock_type::now();
  unwrap(source->add_all(inputs));
  const double import_s = seconds_since(t);

  const std::size_t single = std::min<std::size_t>(n, 500);
  t = clock_type::now();
  for (std::size_t i = 0; i < single; ++i) unwrap(source->add(inputs[i]));
  const double add_s = seconds_since(t);

  auto records = unwrap(source->list());
  t = clock_type::now();
  for (std::size_t i = 0; i < single; ++i)
    unwrap(source->edit(records[i].id, {{"participants", client::field_edit::op::set,
                                         std::to_string(2 + i % 30)}}));
  const double edit_s = seconds_since(t);

  t = clock_type::now();
  records = unwrap(source->list());
  const double list_s = seconds_since(t);

  // Drain the outbox in batches and apply them to a second, empty store, as a pull would.
  auto target = unwrap(client::store::create(dir / "target.db", "bench"));
  double outbox_s = 0, apply_s = 0;
  std::size_t cells = 0, batches = 0;
  for (;;) {
    t = clock_type::now();
    auto batch = unwrap(source->outbox(5000));
    unwrap(source->acknowledge(batch.last_seq));
    outbox_s += seconds_since(t);
    if (batch.changes.empty()) break;
    t = clock_type::now();
    unwrap(target->apply_remote(batch.changes, ++batches));
    apply_s += seconds_since(t);
    cells += batch.cells;
  }
  source.reset();  // closing checkpoints the WAL into the file
  const auto file_bytes = std::filesystem::file_size(dir / "source.db");
  target.reset();
  std::filesystem::remove_all(dir);

  std::printf(
      "{\"benchmark\":\"store\",\"records\":%zu,"
      "\"import_all_s\":%.3f,\"import_records_per_s\":%.0f,"
      "\"single_adds\":%zu,\"add_ms_each\":%.3f,\"edit_ms_each\":%.3f,"
      "\"list_all_s\":%.3f,\"outbox_cells\":%zu,\"outbox_read_s\":%.3f,"
      "\"apply_remote_s\":%.3f,\"apply_cells_per_s\":%.0f,\"store_bytes\":%ju}\n",
      records.size(), import_s, n / import_s, single, 1000 * add_s / single, 1000 * edit_s / single,
      list_s, cells, outbox_s, apply_s, cells / apply_s, static_cast<std::uintmax_t>(file_bytes));
}

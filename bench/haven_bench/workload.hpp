#pragma once
// The records the scenarios write, the devices that hold them, and havend as
// a separate process (so that its memory is measured apart from the
// devices'). Not thread-safe unless said.

#include <cstdint>
#include <functional>
#include <haven/client/store.hpp>
#include <haven/client/sync_client.hpp>
#include <memory>
#include <string>
#include <vector>

#include "../scratch_dir.hpp"
#include "havend_process.hpp"

namespace haven::bench {

// `n` valid assistance_case records, each with every field set (sets of one
// to three codes), reproducibly from `seed`.
std::vector<client::record_input> assistance_cases(std::size_t n, unsigned seed);
// `n` valid records of every type, as field work mixes them (tests'
// field_work), reproducibly from `seed`.
std::vector<client::record_input> field_records(std::size_t n, unsigned seed);

// Writes `records` into `db` with add_all, `batch` records a transaction.
void add_in_batches(client::store& db, const std::vector<client::record_input>& records,
                    std::size_t batch);

// Devices that recorded their records offline: device d's store is
// "NAME-d.db" in `dir`, in team team(d), holding `per_device` field_records.
class fleet {
 public:
  fleet(const scratch_dir& dir, const std::string& name, std::size_t devices,
        std::size_t per_device, const std::function<std::string(std::size_t)>& team);

  // Every device syncs at once, each on a thread of its own (push, then
  // pull); returns the seconds until the last one is done. Throws on a failed sync.
  double sync_all(const client::sync_options& options);

  std::size_t cells() const { return cells_; }  // pending before the first sync
  std::size_t records() const;
  std::vector<std::unique_ptr<client::store>>& stores() { return stores_; }
  const std::vector<client::record_input>& inputs(std::size_t d) const { return inputs_[d]; }
  // Every device's records, device by device.
  std::vector<client::record_input> all_inputs() const;

 private:
  std::vector<std::unique_ptr<client::store>> stores_;
  std::vector<std::vector<client::record_input>> inputs_;
  std::size_t cells_ = 0;
};

// Team of device `d` when each device is alone in its team (so that its
// sync pushes, and pulls nothing of the others').
std::string solo_team(std::size_t d);

// havend (the program) on `db`, 127.0.0.1 and a free port, with `options`
// added; with --dev-no-auth unless `authenticated` (then only enrolled
// devices sync). Stopped (SIGTERM) by its destructor.
class havend_child {
 public:
  havend_child(const std::filesystem::path& db, std::vector<std::string> options = {},
               bool authenticated = false);
  client::sync_options sync_options() const;
  const std::string& address() const { return process_.address(); }
  int pid() const { return process_.pid(); }
  std::uint64_t peak_rss_bytes() const;
  std::uint64_t rss_bytes() const;
  // Stops it; returns the bytes of its store on disk (WAL included).
  std::uintmax_t stop_and_measure_store();

 private:
  std::filesystem::path db_;
  test::havend_process process_;
  bool stopped_ = false;
};

// Raises this process's RLIMIT_NOFILE to its hard limit (children inherit
// it); returns the limit now in force.
std::uint64_t raise_open_files_limit();

// The bytes of a store file and its WAL.
std::uintmax_t store_bytes(const std::filesystem::path& db);

}  // namespace haven::bench

#pragma once
// Devices (real client stores) syncing through a real havend on 127.0.0.1,
// and the checks every sync test ends with: each team's devices hold the
// same records, and every tally havend serves equals a from-scratch
// recomputation (tests/support/tally_oracle) over those records.

#include <haven/client/store.hpp>
#include <haven/client/sync_client.hpp>
#include <memory>
#include <string>
#include <vector>

#include "../support/field_work.hpp"
#include "../support/havend_process.hpp"
#include "../support/process.hpp"
#include "../support/tally_oracle.hpp"

namespace haven::test {

// Every record `db` holds, as JSON text sorted by id, pending flags left out.
std::string records_json(client::store& db);
// Every record `db` holds, as the tally oracle takes them.
std::vector<oracle_record> oracle_records(client::store& db);
// REQUIREs that every tally havend at `address` serves, for the given years
// and a few months, equals the oracle over `records` (all the merged records
// of every team); `token` is a coordinator's, when havend asks for one.
void check_served_tallies(const std::string& address, const std::vector<oracle_record>& records,
                          const std::vector<int>& years, const std::string& token = "");

struct device {
  std::string name;
  std::string team;
  std::unique_ptr<client::store> db;
};

class sync_fixture {
 public:
  // havend started with `server_options` added to the fixture's own.
  explicit sync_fixture(std::vector<std::string> server_options = {})
      : server_(dir_.file("central.db"), std::move(server_options)) {}

  // A new device store enrolled in `team`.
  device& add_device(const std::string& team);
  // The options sync() uses: the server (or `url`), short timeouts.
  client::sync_options sync_options(const std::string& url = "");
  // One sync of `d` with the server (or through `url`); returns its result.
  result<client::sync_summary> sync(device& d, const std::string& url = "");
  // Syncs every device, twice over, so that all have everything.
  void sync_everyone();

  // Every record a device of `team` holds, as JSON text sorted by id, pending flags left out.
  std::string records_of(device& d);
  // REQUIREs that each team's devices hold the same records.
  void check_teams_agree();
  // REQUIREs that every tally, for the given years and a few months, equals
  // the oracle over the records the devices hold.
  void check_tallies(const std::vector<int>& years = {2025, 2026});

  havend_process& server() { return server_; }
  std::vector<std::unique_ptr<device>>& devices() { return devices_; }
  const temp_dir& dir() const { return dir_; }

 private:
  temp_dir dir_;
  havend_process server_;
  std::vector<std::unique_ptr<device>> devices_;
};

}  // namespace haven::test

// Sign-in benchmark: what authentication adds to a connection. Two havends
// in process on 127.0.0.1, one with authentication and one with
// --dev-no-auth. The first's devices are enrolled the real way: a one-time
// code from its access registry (what `havend enroll` issues), redeemed by
// client::enroll over /api/enroll with the device's new Ed25519 key; the
// second's devices are not enrolled. A sign-in is one sync_now of an empty
// device store: TCP connect, WebSocket upgrade, the server's challenge, the
// hello (signed over the nonce by an enrolled device; the server then reads
// the device from its registry and verifies the signature), the welcome, an
// empty push and pull, close. The two kinds alternate, one of each per round
// and in turns first, so a shared machine's load falls on both alike; each
// device's first sync, which registers it with the server, is not timed.
// Prints one JSON object; no thresholds.
//   signin_bench [sign-ins-each-way] [devices]   (default 500 10)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <haven/client/enrollment.hpp>
#include <haven/client/store.hpp>
#include <haven/client/sync_client.hpp>
#include <haven/core/command_line.hpp>
#include <haven/server/access_registry.hpp>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "in_process_havend.hpp"

namespace {

using namespace haven;
using bench::clock_type;
using bench::seconds_since;

std::string team_of(std::size_t device) {
  return "team-" + std::to_string(device);
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One kind of sign-in: the devices of one server, how each reaches it, and
// how long each sign-in took.
struct signins {
  std::vector<std::unique_ptr<client::store>> devices;
  std::vector<client::sync_options> options;  // per device
  std::vector<double> seconds;

  void sign_in(std::size_t device) {
    const auto t = clock_type::now();
    unwrap(client::sync_now(*devices[device], options[device]));
    seconds.push_back(seconds_since(t));
  }
  double total_s() const {
    double sum = 0;
    for (double s : seconds) sum += s;
    return sum;
  }
  double median_ms() {
    std::sort(seconds.begin(), seconds.end());
    const std::size_t n = seconds.size();
    return n == 0 ? 0 : 1000 * (n % 2 ? seconds[n / 2] : (seconds[n / 2 - 1] + seconds[n / 2]) / 2);
  }
};

// Device `n`, a new store in `dir` enrolled with `havend` in team_of(n) as
// `haven enroll` does it; it then syncs with that server only, signing its
// hellos.
std::unique_ptr<client::store> enrolled_device(const bench::scratch_dir& dir,
                                               const bench::in_process_havend& havend,
                                               server::access_registry& registry, std::size_t n) {
  auto db =
      unwrap(client::store::create(dir.file("enrolled" + std::to_string(n) + ".db"), "unenrolled"));
  const auto code =
      registry.issue_code("bench device " + std::to_string(n), team_of(n),
                          server::device_role::worker, std::chrono::hours(1), now_ms());
  unwrap(client::enroll(*db, havend.url(), code.code, ""));
  return db;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = haven::command_line::parse_counts(
      argc, argv, "signin_bench", "[rounds [devices]]: sign-ins to havend in process, as JSON",
      {{"rounds", 500, 1, 1000000, "sign-ins per device"},
       {"devices", 10, 1, 1000, "enrolled devices"}});
  if (args.exit_code) return *args.exit_code;
  const std::size_t rounds = args.values[0], devices = args.values[1];
  const bench::scratch_dir dir("signin");
  bench::in_process_havend secured(dir.file("secured.db"), true);
  bench::in_process_havend open(dir.file("open.db"), false);

  // The devices (not timed). `havend enroll` opens the registry in the
  // server's store file beside the running server; so does this.
  signins with_auth, without_auth;
  {
    const auto registry = server::open_sqlite_registry(dir.file("secured.db"));
    for (std::size_t d = 0; d < devices; ++d) {
      with_auth.devices.push_back(enrolled_device(dir, secured, *registry, d));
      with_auth.options.push_back(
          unwrap(client::sync_options_for(*with_auth.devices.back(), std::nullopt, std::nullopt)));
      without_auth.devices.push_back(unwrap(
          client::store::create(dir.file("unenrolled" + std::to_string(d) + ".db"), team_of(d))));
      without_auth.options.push_back(client::sync_options{});
      without_auth.options.back().server_url = open.sync_url();
    }
  }
  for (std::size_t d = 0; d < devices; ++d) {
    unwrap(client::sync_now(*with_auth.devices[d], with_auth.options[d]));
    unwrap(client::sync_now(*without_auth.devices[d], without_auth.options[d]));
  }

  for (std::size_t i = 0; i < rounds; ++i) {
    const std::size_t d = i % devices;
    signins& first = i % 2 ? with_auth : without_auth;
    signins& second = i % 2 ? without_auth : with_auth;
    first.sign_in(d);
    second.sign_in(d);
  }

  const double auth_s = with_auth.total_s(), no_auth_s = without_auth.total_s();
  const double auth_mean_ms = 1000 * auth_s / rounds, no_auth_mean_ms = 1000 * no_auth_s / rounds;
  const double auth_median_ms = with_auth.median_ms(), no_auth_median_ms = without_auth.median_ms();
  std::printf(
      "{\"benchmark\":\"signin\",\"sign_ins_each\":%zu,\"devices\":%zu,"
      "\"auth_connections_per_s\":%.1f,\"auth_mean_ms\":%.3f,\"auth_median_ms\":%.3f,"
      "\"no_auth_connections_per_s\":%.1f,\"no_auth_mean_ms\":%.3f,\"no_auth_median_ms\":%.3f,"
      "\"auth_extra_mean_ms\":%.3f,\"auth_extra_median_ms\":%.3f,\"auth_extra_percent\":%.1f}\n",
      rounds, devices, rounds / auth_s, auth_mean_ms, auth_median_ms, rounds / no_auth_s,
      no_auth_mean_ms, no_auth_median_ms, auth_mean_ms - no_auth_mean_ms,
      auth_median_ms - no_auth_median_ms, 100 * (auth_s / no_auth_s - 1));
}

// bytes: what a record costs on the wire and on disk. One device pushes its
// records into havend and a fresh device of its team pulls them, both
// through a relay that counts the bytes at the socket (HTTP upgrade,
// WebSocket framing and every frame). Beside them: the same records as JSON
// lines ({"id", "type", "fields"}), plain and gzip'd as one file, and the
// plain-rows floor on disk.
#include <zlib.h>

#include <boost/json.hpp>
#include <haven/client/record_json.hpp>
#include <haven/core/command_line.hpp>
#include <stdexcept>

#include "cutting_proxy.hpp"
#include "plain_rows.hpp"
#include "report.hpp"
#include "scenarios.hpp"
#include "workload.hpp"

namespace haven::bench {
namespace {

// The records as JSON lines: {"id", "type", "fields"} of each, as the
// shells' JSON gives them (client::to_json: codes and dates as strings,
// integers as numbers, sets as arrays of codes).
std::string json_lines(const std::vector<client::record>& records) {
  std::string out;
  for (const auto& r : records) {
    const auto full = boost::json::parse(client::to_json(r)).as_object();
    out += boost::json::serialize(boost::json::object{
        {"id", full.at("id")}, {"type", full.at("type")}, {"fields", full.at("fields")}});
    out += '\n';
  }
  return out;
}

std::size_t gzip_size(const std::string& text) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("zlib: deflateInit2 failed");
  std::string out(deflateBound(&z, text.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  const std::size_t n = z.total_out;
  deflateEnd(&z);
  return n;
}

}  // namespace

int bytes(int argc, const char* const* argv) {
  const auto args =
      command_line::parse_counts(argc, argv, "haven_bench bytes", "[records]",
                                 {{"records", 10000, 1, 1000000, "records pushed and pulled"}});
  if (args.exit_code) return *args.exit_code;
  const std::size_t n = args.values[0];
  const scratch_dir dir("bytes");
  const auto team = [](std::size_t) { return std::string("field"); };

  havend_child havend(dir.file("central.db"));
  auto options = havend.sync_options();
  std::uint64_t push_up = 0, pull_down = 0;
  fleet recorder(dir, "recorder", 1, n, team);
  {
    test::cutting_proxy relay(havend.address());
    options.server_url = relay.sync_url();
    recorder.sync_all(options);
    push_up = relay.bytes(test::cutting_proxy::direction::up);
  }
  {
    test::cutting_proxy relay(havend.address());
    options.server_url = relay.sync_url();
    auto puller = unwrap(client::store::create(dir.file("puller.db"), "field"));
    unwrap(client::sync_now(*puller, options));
    pull_down = relay.bytes(test::cutting_proxy::direction::down);
  }
  const auto& records = recorder.inputs(0);
  const std::string lines = json_lines(unwrap(recorder.stores()[0]->list()));
  const double gz = static_cast<double>(gzip_size(lines));
  recorder.stores().clear();  // closed: their WAL checkpointed
  const double recording = static_cast<double>(store_bytes(dir.file("recorder-0.db"))),
               pulling = static_cast<double>(store_bytes(dir.file("puller.db"))),
               server = static_cast<double>(havend.stop_and_measure_store());
  plain_rows plain(dir.file("plain.db"), records);
  plain.insert_batched(records, 1000);
  const double floor = static_cast<double>(plain.bytes()), r = static_cast<double>(n);

  print("bytes", {{"records", n}, {"cells", recorder.cells()}},
        {{"wire_push_per_record",
          figure(push_up / r, "bytes", gz / r, false, "at most 2x the gzip'd JSON lines")},
         {"wire_pull_per_record",
          figure(pull_down / r, "bytes", gz / r, false, "at most 2x the gzip'd JSON lines")},
         {"json_lines_per_record", figure(lines.size() / r, "bytes")},
         {"gzip_json_lines_per_record", figure(gz / r, "bytes")},
         {"disk_recording_device_per_record",
          figure(recording / r, "bytes", floor / r, false, "at most 2x the plain-rows floor")},
         {"disk_pulling_device_per_record",
          figure(pulling / r, "bytes", floor / r, false, "at most 2x the plain-rows floor")},
         {"disk_server_per_record",
          figure(server / r, "bytes", floor / r, false, "at most 3x the plain-rows floor")}});
  return 0;
}

}  // namespace haven::bench

// bytes: what a record costs on the wire and on disk. One device pushes its
// records into havend and a fresh device of its team pulls them, both
// through a relay that counts the bytes at the socket (HTTP upgrade,
// WebSocket framing and every frame); once in protocol version 3, and once,
// with another device and team, in version 2 (the previous release's wire).
// Beside them: the same records as JSON lines ({"id", "type", "fields"}),
// plain and gzip'd as one file, the plain-rows floor on disk, and the CPU
// time to encode and decode a push batch of those records in either version.
#include <zlib.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <haven/client/record_json.hpp>
#include <haven/core/command_line.hpp>
#include <haven/sync/protocol.hpp>
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

// The bytes the recorder's one device pushes, and a fresh device of `team`
// (its store `puller`) then pulls, through counting relays, speaking at most
// `max_protocol`.
struct wire_bytes {
  double up = 0, down = 0;
};
wire_bytes push_and_pull(const std::filesystem::path& puller, havend_child& havend, fleet& recorder,
                         const std::string& team, std::uint32_t max_protocol) {
  auto options = havend.sync_options();
  options.max_protocol = max_protocol;
  wire_bytes out;
  {
    test::cutting_proxy relay(havend.address());
    options.server_url = relay.sync_url();
    recorder.sync_all(options);
    out.up = static_cast<double>(relay.bytes(test::cutting_proxy::direction::up));
  }
  test::cutting_proxy relay(havend.address());
  options.server_url = relay.sync_url();
  auto pulling = unwrap(client::store::create(puller, team));
  unwrap(client::sync_now(*pulling, options));
  out.down = static_cast<double>(relay.bytes(test::cutting_proxy::direction::down));
  return out;
}

// Microseconds of CPU (one thread) to encode and decode `batch` per record, in `version`.
double codec_us_per_record(const sync::push_batch& batch, std::uint32_t version) {
  constexpr int rounds = 20;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < rounds; ++i) {
    const auto decoded = sync::decode(sync::encode(batch, {}, version));
    if (!decoded || !(std::get<sync::push_batch>(decoded.value()) == batch))
      throw std::runtime_error("a push batch did not round-trip");
  }
  const std::chrono::duration<double, std::micro> spent = std::chrono::steady_clock::now() - start;
  return spent.count() / rounds / static_cast<double>(batch.changes.size());
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
  fleet recorder(dir, "recorder", 1, n, team);
  // A push batch of the recorder's records, as its first sync sends it.
  const client::outbox_batch first = unwrap(recorder.stores()[0]->outbox());
  const sync::push_batch batch{first.last_seq, first.changes};
  const double codec_v3 = codec_us_per_record(batch, sync::protocol_version),
               codec_v2 = codec_us_per_record(batch, sync::oldest_protocol_version);
  const wire_bytes v3 =
      push_and_pull(dir.file("puller.db"), havend, recorder, "field", sync::protocol_version);
  wire_bytes v2;
  {  // on a server of its own, so that the server's store holds only the records above
    havend_child old_havend(dir.file("central-v2.db"));
    fleet old_recorder(dir, "old-recorder", 1, n, team);
    v2 = push_and_pull(dir.file("puller-v2.db"), old_havend, old_recorder, "field",
                       sync::oldest_protocol_version);
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
          figure(v3.up / r, "bytes", gz / r, false, "at most 2x the gzip'd JSON lines")},
         {"wire_pull_per_record",
          figure(v3.down / r, "bytes", gz / r, false, "at most 2x the gzip'd JSON lines")},
         {"wire_v2_push_per_record", figure(v2.up / r, "bytes", "protocol version 2, before")},
         {"wire_v2_pull_per_record", figure(v2.down / r, "bytes", "protocol version 2, before")},
         {"codec_v3_us_per_record",
          figure(codec_v3, "us", codec_v2, false, "encode + decode, against version 2's")},
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

// bytes: what a record costs on the wire and on disk. One device pushes its
// records into havend and a fresh device of its team pulls them, both
// through a relay that counts the bytes at the socket (HTTP upgrade,
// WebSocket framing and every frame). Beside them: the same records as JSON
// lines ({"type", "fields"}; sets as arrays, integers as numbers), plain and
// gzip'd, and the plain-rows floor on disk.
#include <zlib.h>

#include <boost/json.hpp>
#include <charconv>
#include <haven/core/command_line.hpp>
#include <stdexcept>

#include "cutting_proxy.hpp"
#include "plain_rows.hpp"
#include "report.hpp"
#include "scenarios.hpp"
#include "workload.hpp"

namespace haven::bench {
namespace {

boost::json::value json_value(const std::string& text, bool set) {
  if (set) {
    boost::json::array codes;
    for (std::size_t at = 0; at <= text.size();) {
      const auto comma = std::min(text.find(',', at), text.size());
      if (comma > at) codes.emplace_back(text.substr(at, comma - at));
      at = comma + 1;
    }
    return codes;
  }
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc{} && end == text.data() + text.size()) return n;
  return boost::json::string(text);
}

std::string json_lines(const std::vector<client::record_input>& records, const schema& s) {
  std::string out;
  for (const auto& r : records) {
    boost::json::object fields;
    const auto* type = s.type(r.type);
    for (const auto& [name, text] : r.fields) {
      if (text.empty()) continue;
      const auto* field = type ? type->field(name) : nullptr;
      fields[name] = json_value(text, field && field->is_set());
    }
    out += boost::json::serialize(boost::json::object{{"type", r.type}, {"fields", fields}});
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
  const std::string lines = json_lines(records, recorder.stores()[0]->schema());
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

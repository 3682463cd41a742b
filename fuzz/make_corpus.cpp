// Writes the fuzz targets' seed corpus: valid frames of every message, made
// with encode(), so the seeds follow the codec when it changes.
//   make_corpus DIR  ->  DIR/fuzz_frame_decoder/<message>   one frame each
//                        DIR/fuzz_handshake/<sequence>      a mode byte, then
//                        frames with a 2-byte length (fuzz_check.hpp)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <haven/sync/protocol.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace haven;
using namespace haven::sync;

namespace {

record_change sample_change() {
  record_change c;
  c.id.bytes = {0x3c, 0x51, 0x0e, 0x2a, 0x9b, 0x44, 0x47, 0x01,
                0x8f, 0x12, 0x6d, 0x70, 0x21, 0xaa, 0x05, 0xe9};
  c.type = "pats_session";
  c.team = "pats";
  const stamp at{hlc::make(1'772'409'600'000, 3), 0x0123456789abcdefull};
  c.cells = {
      {"date", value{date{20514}}, at},
      {"site", value{std::string("vic")}, at},
      {"participants", value{std::int64_t{14}}, at},
      {"topics.thb", value{true}, at},
      {"referral", value{}, at},
  };
  return c;
}

record_change sample_deletion() {
  record_change c;
  c.id.bytes[0] = 0x42;
  c.type = "assistance_case";
  c.team = "crisis";
  c.cells = {{std::string(deleted_key), value{true}, stamp{hlc::make(1'772'409'600'500, 0), 9}}};
  return c;
}

// One sample of every message, named as in the session's logs.
std::vector<std::pair<std::string, message>> samples() {
  const hello h{.device_id = "tablet-07",
                .team = "pats",
                .node = 0x0123456789abcdefull,
                .schema_version = 1,
                .acked_seq = 41,
                .pulled_seq = 9000,
                .proof = std::string(32, 'n')};  // the stub server's nonce: "signed"
  hello unsigned_hello = h;
  unsigned_hello.proof.clear();
  const welcome w{.schema_version = 1,
                  .schema_json = R"({"version":1,"types":{}})",
                  .server_time = hlc::make(1'772'409'600'000, 0),
                  .acked_seq = 41};

  return {
      {"challenge", challenge{protocol_version, std::string(32, 'n')}},
      {"challenge_bound", challenge{protocol_version, std::string(32, 'n'), true}},
      {"hello", h},
      {"hello_unsigned", unsigned_hello},
      {"welcome", w},
      {"wipe_retired", wipe_order{"retired"}},
      {"wipe_revoked", wipe_order{"revoked"}},
      {"wipe_done", wipe_done{}},
      {"push", push_batch{42, {sample_change(), sample_deletion()}}},
      {"ack", push_ack{42}},
      {"pull", pull_request{9000, 8000}},
      {"changes", change_batch{9002, false, {sample_change()}}},
      {"changes_more", change_batch{9001, true, {sample_deletion()}}},
      {"error", error_frame{static_cast<std::uint16_t>(errc::clock_skew),
                            "refused: the sending device's clock is 3 days ahead"}},
  };
}

void write(const std::filesystem::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::vector<std::pair<std::string, std::string>> frames;  // name, frame
  for (const auto& [name, m] : samples()) frames.emplace_back(name, encode(m));
  auto frame = [&](const std::string& name) {
    for (const auto& [n, f] : frames)
      if (n == name) return f;
    throw std::logic_error("no sample " + name);
  };

  std::filesystem::create_directories(dir / "fuzz_frame_decoder");
  for (const auto& [name, f] : frames) write(dir / "fuzz_frame_decoder" / name, f);

  // Sessions as the other side would run them; the mode byte is explained in fuzz_handshake.cpp.
  const std::vector<std::pair<std::string, std::pair<int, std::vector<std::string>>>> sequences = {
      {"device_sync", {0, {"hello", "push", "pull", "error"}}},
      {"device_sync_behind", {4, {"hello", "pull", "pull", "push", "pull"}}},
      {"device_refused_push", {2, {"hello", "push"}}},
      {"device_retired", {16, {"hello", "push", "pull", "wipe_done"}}},
      {"device_revoked", {32, {"hello", "wipe_done"}}},
      {"device_forged", {64, {"hello_unsigned", "push"}}},
      {"server_sync", {8, {"challenge", "welcome", "ack", "changes_more", "changes"}}},
      {"server_live", {9, {"challenge", "welcome", "ack", "changes", "changes", "error"}}},
      {"server_retires", {8, {"challenge", "welcome", "ack", "wipe_retired"}}},
      {"server_revokes", {8, {"challenge", "wipe_revoked"}}},
      {"server_refusal", {0, {"challenge", "error"}}},
  };
  std::filesystem::create_directories(dir / "fuzz_handshake");
  for (const auto& [name, sequence] : sequences) {
    std::string bytes(1, static_cast<char>(sequence.first));
    for (const auto& message_name : sequence.second) {
      const std::string f = frame(message_name);
      bytes += static_cast<char>(f.size() & 0xff);
      bytes += static_cast<char>(f.size() >> 8);
      bytes += f;
    }
    write(dir / "fuzz_handshake" / name, bytes);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "make_corpus: %s\n", e.what());
  return 1;
}

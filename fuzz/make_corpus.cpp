// Writes the fuzz targets' seed corpus: valid frames of every message, made
// with encode(), so the seeds follow the codec when it changes; batches in
// both protocol versions (3: compact, stored and deflated; 2: Cereal).
//   make_corpus DIR  ->  DIR/fuzz_frame_decoder/<message>   one frame each
//                        DIR/fuzz_handshake/<sequence>      a mode byte, then
//                        frames with a 2-byte length (fuzz_check.hpp)
//                        DIR/fuzz_push_validator/<name>     mode 0 and a batch
//                        frame, or mode 1 and a hostile change (hostile_change.hpp)
//                        DIR/fuzz_pull_apply/<name>         change batches with a
//                        2-byte length, against device_records.hpp
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <haven/schema/schema.hpp>
#include <haven/sync/protocol.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "device_records.hpp"
#include "hostile_change.hpp"

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
      {"wipe_retired", wipe_order{standing::retired}},
      {"wipe_revoked", wipe_order{standing::revoked}},
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

// Frames with a 2-byte length before each, as fuzz::split_frames reads them.
std::string framed(const std::vector<std::string>& frames) {
  std::string bytes;
  for (const auto& f : frames) {
    bytes += static_cast<char>(f.size() & 0xff);
    bytes += static_cast<char>(f.size() >> 8);
    bytes += f;
  }
  return bytes;
}

// Pulled batches that update, delete, add and contradict the device's records.
std::vector<std::pair<std::string, std::string>> pull_seeds() {
  using fuzz::device_record_id;
  const stamp later{hlc::make(fuzz::device_millis - 3'600'000, 0), 0x5eed};
  const stamp older{hlc::make(fuzz::device_millis - 30 * 86'400'000ull, 0), 0x77};
  auto text = [](const char* t) { return value{std::string(t)}; };
  auto batch = [](std::uint64_t up_to, bool more, std::vector<record_change> changes) {
    return encode(change_batch{up_to, more, std::move(changes)});
  };
  const record_change edit{
      device_record_id(1),
      "pats_session",
      fuzz::device_team,
      {{"site", text("postojna"), later}, {"topics.gbv", value{false}, later}}};
  const record_change added{device_record_id(0x20),
                            "on_call_event",
                            fuzz::device_team,
                            {{"caller", text("ngo"), later},
                             {"date", value{fuzz::device_day(4, 1)}, later},
                             {"outcome", text("advice-only"), later}}};
  const record_change deletion{device_record_id(3),
                               "assistance_case",
                               fuzz::device_team,
                               {{std::string(deleted_key), value{true}, later}}};
  const record_change after_deletion{device_record_id(5),
                                     "prevention_workshop",
                                     fuzz::device_team,
                                     {{"region", text("pomurska"), later}}};
  const record_change stale{
      device_record_id(2),
      "pats_session",
      fuzz::device_team,
      {{"participants", value{std::int64_t{3}}, older}, {"site", text("vic"), older}}};
  const record_change newer_schema{
      device_record_id(4),
      "on_call_event",
      fuzz::device_team,
      {{"channel", text("chat"), later}, {"services.interpreting", value{true}, later}}};
  record_change other_type = edit;
  other_type.type = "on_call_event";
  record_change bad_value = stale;
  bad_value.cells = {{"participants", value{std::int64_t{0}}, later}};
  record_change free_text = added;
  free_text.id = device_record_id(0x21);
  free_text.cells.push_back({"caller", text("Ana Novak, called from the station"), later});
  // Stamped by a clock 3 days ahead; with the greatest stamp there is (the
  // device's next write was stamped 0 once); 9 minutes ahead, within twice the skew.
  record_change ahead = edit;
  for (auto& c : ahead.cells) c.at.time = hlc::make(fuzz::device_millis + 3 * 86'400'000ull, 0);
  record_change at_the_end = added;
  for (auto& c : at_the_end.cells) c.at.time = hlc{~std::uint64_t{0}};
  record_change nearly_ahead = edit;
  for (auto& c : nearly_ahead.cells)
    c.at.time = hlc::make(fuzz::device_millis + 9 * 60'000, 0xfff0);
  record_change other_team = added;
  other_team.id = device_record_id(0x22);
  other_team.team = "crisis";
  return {
      {"edit_and_add", framed({batch(101, false, {edit, added})})},
      {"delete", framed({batch(102, false, {deletion, after_deletion})})},
      {"two_batches", framed({batch(101, true, {edit}), batch(103, false, {added, deletion})})},
      {"stale", framed({batch(101, false, {stale})})},
      {"newer_schema", framed({batch(101, false, {newer_schema})})},
      {"all_again", framed({batch(100, false, fuzz::device_records())})},
      {"refused_type", framed({batch(101, false, {added, other_type})})},
      {"refused_value", framed({batch(101, false, {edit, bad_value}), batch(102, false, {added})})},
      {"refused_free_text", framed({batch(101, false, {free_text})})},
      {"other_team", framed({batch(101, false, {other_team})})},
      {"refused_ahead", framed({batch(101, false, {added, ahead})})},
      {"refused_end_of_clock", framed({batch(101, false, {at_the_end})})},
      {"nearly_ahead", framed({batch(101, false, {nearly_ahead}), batch(102, false, {edit})})},
  };
}

// Hostile changes for the validator's structured mode (hostile_change.hpp).
std::vector<std::pair<std::string, std::string>> validator_scripts() {
  const auto s = schema::builtin();
  auto type_index = [&](std::string_view name) {
    for (std::size_t i = 0; i < s->types().size(); ++i)
      if (s->types()[i].name == name) return static_cast<std::uint8_t>(i);
    throw std::logic_error("no record type " + std::string(name));
  };
  auto field_index = [&](std::string_view type, std::string_view field) {
    const auto& fields = s->type(type)->fields;
    for (std::size_t i = 0; i < fields.size(); ++i)
      if (fields[i].key == field) return static_cast<std::uint8_t>(i);
    throw std::logic_error("no field " + std::string(field));
  };
  auto code_index = [&](std::string_view type, std::string_view field, std::string_view code) {
    const auto& codes = fuzz::codes_of(*s->type(type)->field(field));
    const auto it = std::find(codes.begin(), codes.end(), code);
    if (it == codes.end()) throw std::logic_error("no code " + std::string(code));
    return static_cast<std::uint8_t>(it - codes.begin());
  };
  // A script's start: mode 1, the type, team "pats".
  auto start = [&](std::string_view type) {
    return fuzz::change_script{}.u8(1).u8(type_index(type)).u8(0);
  };
  auto code = [&](fuzz::change_script& sc, std::string_view type, std::string_view field,
                  std::string_view c) {
    sc.u8(field_index(type, field)).u8(fuzz::pick_code).u8(code_index(type, field, c));
  };
  auto element = [&](fuzz::change_script& sc, std::string_view type, std::string_view field,
                     std::string_view c, bool on) {
    sc.u8(field_index(type, field))
        .u8(code_index(type, field, c))
        .u8(fuzz::pick_boolean | (on ? 8 : 0));
  };
  auto day = [&](fuzz::change_script& sc, std::string_view type, std::string_view field,
                 std::int16_t offset) {
    sc.u8(field_index(type, field)).u8(fuzz::pick_date).u16(static_cast<std::uint16_t>(offset));
  };
  // An integer by its pick (hostile_change.hpp): 0 the field's min, 1 its max, 3 max + 1, ...
  auto integer = [&](fuzz::change_script& sc, std::string_view type, std::string_view field,
                     std::uint8_t pick) -> fuzz::change_script& {
    return sc.u8(field_index(type, field)).u8(fuzz::pick_integer).u8(pick);
  };

  auto individual = start("pats_session");
  day(individual, "pats_session", "date", -1);
  code(individual, "pats_session", "site", "vic");
  code(individual, "pats_session", "format", "individual");
  integer(individual, "pats_session", "participants", 0);  // its min, 1
  code(individual, "pats_session", "person", "P-SYNCED-00016");
  code(individual, "pats_session", "nationality", "SI");
  element(individual, "pats_session", "topics", "thb", true);

  auto hostile_session = start("pats_session");
  hostile_session.u8(field_index("pats_session", "site"))
      .u8(fuzz::pick_changed_code)
      .u8(code_index("pats_session", "site", "vic"))
      .u8(1)
      .u8(0x1b);                                                // "v\x1bc"
  integer(hostile_session, "pats_session", "participants", 3);  // max + 1
  day(hostile_session, "pats_session", "date", 400);
  hostile_session.u8(field_index("pats_session", "person")).u8(fuzz::pick_long).u16(1024).u8('A');
  hostile_session.u8(field_index("pats_session", "nationality")).u8(fuzz::pick_raw).raw("si");
  element(hostile_session, "pats_session", "topics", "gbv", true);
  hostile_session.u8(fuzz::key_again).u8(fuzz::pick_boolean);  // the same element again, false
  hostile_session.u8(fuzz::key_dotted)
      .u8(field_index("pats_session", "topics"))
      .raw("thb,gbv")
      .u8(fuzz::pick_boolean | 8);

  auto stay = start("assistance_case");
  code(stay, "assistance_case", "programme", "crisis-accommodation");
  code(stay, "assistance_case", "person", "P-SYNCED-00016");
  code(stay, "assistance_case", "sex", "female");
  code(stay, "assistance_case", "nationality", "NG");
  day(stay, "assistance_case", "admitted", -3);
  day(stay, "assistance_case", "discharged", 0);
  element(stay, "assistance_case", "services", "food", true);
  element(stay, "assistance_case", "exploitation", "sexual", true);

  auto hostile_stay = start("assistance_case");
  hostile_stay.u8(field_index("assistance_case", "admitted"))
      .u8(fuzz::pick_date | 8)
      .little_endian(0x7fffffff, 4);  // the last day an int32 holds
  hostile_stay.u8(field_index("assistance_case", "discharged"))
      .u8(fuzz::pick_date | 8)
      .little_endian(0x80000000, 4);  // and the first
  hostile_stay.u8(field_index("assistance_case", "services"))
      .u8(0xff)
      .raw("food\u202e")
      .u8(fuzz::pick_boolean | 8);
  hostile_stay.u8(field_index("assistance_case", "person"))
      .u8(fuzz::pick_raw)
      .raw("Ana Novak\n\x1b[2J");
  // 8 raw bytes: INT64_MAX where a code belongs.
  integer(hostile_stay, "assistance_case", "sex", 8).little_endian(0x7fffffffffffffff, 8);

  auto call = start("on_call_event");
  day(call, "on_call_event", "date", 0);
  code(call, "on_call_event", "caller", "police");
  code(call, "on_call_event", "outcome", "admitted");
  integer(call, "on_call_event", "response_minutes", 1);  // its max

  auto workshop = start("prevention_workshop");
  day(workshop, "prevention_workshop", "date", -30);
  code(workshop, "prevention_workshop", "audience", "professionals");
  code(workshop, "prevention_workshop", "region", "podravska");
  integer(workshop, "prevention_workshop", "participants", 5);  // 10^12 + 1
  workshop.u8(fuzz::key_raw)
      .raw(
          "region\x9b"  // C1 CSI, then "31m": red
          "31m")
      .u8(fuzz::pick_code)
      .u8(0);
  workshop.u8(fuzz::key_deleted).u8(fuzz::pick_boolean);  // a deletion marker that is false

  auto unknown_type =
      fuzz::change_script{}.u8(1).u8(0xff).raw("pats_session\u2066").u8(3).raw("Pats");
  unknown_type.u8(fuzz::key_raw).raw("site").u8(fuzz::pick_raw).raw("\xc0\xaf\xed\xa0\x80");

  return {{"individual", individual.bytes},
          {"hostile_session", hostile_session.bytes},
          {"stay", stay.bytes},
          {"hostile_stay", hostile_stay.bytes},
          {"call", call.bytes},
          {"workshop", workshop.bytes},
          {"unknown_type", unknown_type.bytes}};
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
  // The same messages as a device of version 2 sends and reads them, where they differ.
  for (const auto& [name, m] : samples())
    if (const std::string v2 = encode(m, {}, oldest_protocol_version); v2 != frame(name))
      write(dir / "fuzz_frame_decoder" / (name + "_v2"), v2);
  // A batch large enough to be deflated.
  write(dir / "fuzz_frame_decoder" / "push_deflated",
        encode(push_batch{7, fuzz::device_records()}));

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

  // The validator: batch frames (mode 0), then hostile changes (mode 1).
  std::filesystem::create_directories(dir / "fuzz_push_validator");
  const std::pair<std::string, std::string> batches[] = {
      {"push", frame("push")},
      {"changes", frame("changes")},
      {"push_every_type", encode(push_batch{7, fuzz::device_records()})},
      {"push_every_type_v2",
       encode(push_batch{7, fuzz::device_records()}, {}, oldest_protocol_version)},
  };
  for (const auto& [name, f] : batches)
    write(dir / "fuzz_push_validator" / ("frame_" + name), std::string(1, '\0') + f);
  for (const auto& [name, bytes] : validator_scripts())
    write(dir / "fuzz_push_validator" / name, bytes);

  std::filesystem::create_directories(dir / "fuzz_pull_apply");
  for (const auto& [name, bytes] : pull_seeds()) write(dir / "fuzz_pull_apply" / name, bytes);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "make_corpus: %s\n", e.what());
  return 1;
}

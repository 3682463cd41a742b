#pragma once
// What the device store of fuzz_pull_apply holds before every input: records
// of its team as the server once sent them (fixed ids, so that the seed
// corpus can change, delete and contradict them; make_corpus.cpp), pulled up
// to device_pulled_seq, on a device whose physical clock reads device_millis.

#include <cstdint>
#include <haven/core/value.hpp>
#include <haven/sync/change.hpp>
#include <string>
#include <vector>

namespace haven::fuzz {

inline constexpr const char* device_team = "pats";
inline constexpr std::uint64_t device_millis = 1'772'409'600'000;  // 2026-03-02
inline constexpr std::uint64_t device_pulled_seq = 100;

inline sync::record_id device_record_id(std::uint8_t n) {
  sync::record_id id;
  id.bytes = {0x3c, 0x51, 0x0e, 0x2a, 0x9b, 0x44, 0x47, 0x01,
              0x8f, 0x12, 0x6d, 0x70, 0x21, 0xaa, 0x05, n};
  return id;
}

// Stamps of another device, a day before the device's clock.
inline sync::stamp server_stamp(std::uint16_t counter = 0) {
  return {sync::hlc::make(device_millis - 86'400'000, counter), 0x5eed};
}

// Dates in 2025, which is never in the future where the fuzzer runs.
inline date device_day(unsigned month, unsigned day) {
  return from_civil(2025, month, day);
}

// Record 1: an individual PATS interview; 2: a group session; 3: a crisis-
// accommodation case with sets; 4: an on-call event; 5: a deleted workshop.
inline std::vector<sync::record_change> device_records() {
  const sync::stamp at = server_stamp();
  auto text = [](const char* s) { return value{std::string(s)}; };
  return {
      {device_record_id(1),
       "pats_session",
       device_team,
       {{"date", value{device_day(3, 2)}, at},
        {"format", text("individual"), at},
        {"nationality", text("UA"), at},
        {"participants", value{std::int64_t{1}}, at},
        {"person", text("P-SYNCED-00016"), at},
        {"site", text("vic"), at},
        {"topics.gbv", value{true}, at},
        {"topics.thb", value{true}, at}}},
      {device_record_id(2),
       "pats_session",
       device_team,
       {{"date", value{device_day(3, 3)}, at},
        {"format", text("group"), at},
        {"participants", value{std::int64_t{14}}, at},
        {"site", text("logatec"), at}}},
      {device_record_id(3),
       "assistance_case",
       device_team,
       {{"admitted", value{device_day(3, 1)}, at},
        {"discharged", value{device_day(3, 4)}, at},
        {"exploitation.sexual", value{true}, at},
        {"nationality", text("NG"), at},
        {"person", text("P-A1PHA-00011"), at},
        {"programme", text("crisis-accommodation"), at},
        {"services.food", value{true}, at},
        {"sex", text("female"), at}}},
      {device_record_id(4),
       "on_call_event",
       device_team,
       {{"caller", text("police"), at},
        {"date", value{device_day(3, 1)}, at},
        {"outcome", text("admitted"), at},
        {"response_minutes", value{std::int64_t{45}}, at}}},
      {device_record_id(5),
       "prevention_workshop",
       device_team,
       {{std::string(sync::deleted_key), value{true}, server_stamp(1)}}},
  };
}

}  // namespace haven::fuzz

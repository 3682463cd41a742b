#pragma once
// What the codec tests of both protocol versions share: frames as hex, the
// golden files that pin a version's bytes, and the refusal of a frame.

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <haven/sync/protocol.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace haven::test {

inline std::string hex_of(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

inline std::string bytes_of_hex(std::string_view hex) {
  std::string out;
  for (std::size_t at = 0; at + 1 < hex.size(); at += 2)
    out += static_cast<char>(std::stoi(std::string(hex.substr(at, 2)), nullptr, 16));
  return out;
}

// The frames of the golden file at `path` (one frame a line, as hex), which
// REQUIREs to hold as many as `frames`. With the environment variable
// `write_env` set, it first writes `frames` there and FAILs: a golden file is
// written once, from the encoder deployed devices run, and checked in.
inline std::vector<std::string> golden_frames(const char* path, const char* write_env,
                                              const std::vector<std::string>& frames) {
  if (std::getenv(write_env)) {
    std::ofstream out(path);
    for (const std::string& f : frames) out << hex_of(f) << "\n";
    FAIL("wrote " << path << "; check it in and run the test without " << write_env);
  }
  std::ifstream in(path);
  REQUIRE(in);
  std::vector<std::string> golden;
  for (std::string line; std::getline(in, line);) golden.push_back(bytes_of_hex(line));
  REQUIRE(golden.size() == frames.size());
  return golden;
}

// The error of a frame that must be refused, as a protocol error.
inline haven::error refusal(std::string_view frame, const sync::frame_limits& limits = {}) {
  auto r = sync::decode(frame, limits);
  if (r) FAIL("decode accepted a frame of " << frame.size() << " bytes");
  CHECK(r.err().code == errc::protocol);
  return r.err();
}

}  // namespace haven::test

#pragma once
// What the fuzz targets share: a failed property aborts with a message (so
// libFuzzer saves the input as a crash), and an input splits into frames.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace haven::fuzz {

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz property violated: %s\n", what.c_str());
  std::abort();
}

inline void require(bool holds, const std::string& what) {
  if (!holds) fail(what);
}

// The frames in `bytes`: each is a 2-byte little-endian length, then that many
// bytes (the last frame may be cut short by the end of the input). The seed
// corpus writes sequences in the same format (make_corpus.cpp).
inline std::vector<std::string_view> split_frames(std::string_view bytes) {
  std::vector<std::string_view> frames;
  while (bytes.size() >= 2) {
    const std::size_t n = static_cast<unsigned char>(bytes[0]) |
                          static_cast<std::size_t>(static_cast<unsigned char>(bytes[1])) << 8;
    bytes.remove_prefix(2);
    frames.push_back(bytes.substr(0, n));
    bytes.remove_prefix(frames.back().size());
  }
  return frames;
}

}  // namespace haven::fuzz

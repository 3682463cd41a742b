#pragma once
// What the fuzz targets share: a failed property aborts with a message (so
// libFuzzer saves the input as a crash), an input splits into frames, and a
// check that text is safe to print.

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

// The offset of the first thing in `text` that a terminal or a log must not
// get raw: a byte that is not part of valid UTF-8 (overlong forms and
// surrogates included), a C0 control, DEL, a C1 control (U+0080-U+009F) or a
// bidirectional override or isolate (U+202A-U+202E, U+2066-U+2069); npos if
// there is none. Written apart from haven::printable(), so that it checks it.
inline std::size_t unprintable_at(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    const std::size_t n = lead < 0x80                    ? 1
                          : lead >= 0xc2 && lead <= 0xdf ? 2
                          : lead >= 0xe0 && lead <= 0xef ? 3
                          : lead >= 0xf0 && lead <= 0xf4 ? 4
                                                         : 0;
    if (n == 0 || i + n > text.size()) return i;
    static constexpr unsigned char payload[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    char32_t c = lead & payload[n];
    for (std::size_t k = 1; k < n; ++k) {
      if ((byte(i + k) & 0xc0) != 0x80) return i;
      c = c << 6 | (byte(i + k) & 0x3fu);
    }
    const bool overlong = (n == 3 && c < 0x800) || (n == 4 && c < 0x10000);
    if (overlong || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return i;
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) ||
        (c >= 0x2066 && c <= 0x2069))
      return i;
    i += n;
  }
  return std::string_view::npos;
}

// Aborts unless `text` is safe to print (unprintable_at), naming `what`.
inline void require_printable(std::string_view text, const std::string& what) {
  const std::size_t at = unprintable_at(text);
  if (at == std::string_view::npos) return;
  std::string shown;  // the text's first bytes, ASCII only
  for (const char c : text.substr(0, 200)) {
    char escape[8];
    std::snprintf(escape, sizeof escape, "\\x%02x",
                  static_cast<unsigned>(static_cast<unsigned char>(c)));
    shown += c >= 0x20 && c < 0x7f ? std::string(1, c) : std::string(escape);
  }
  fail(what + " holds a control character or invalid UTF-8 at byte " + std::to_string(at) + ": " +
       shown);
}

}  // namespace haven::fuzz

#include "frame_deflate.hpp"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <memory>

#include "wire_bytes.hpp"

namespace haven::sync::wire {
namespace {

constexpr int raw_window_bits = -15;  // raw deflate: no zlib header or checksum
// Deflate expands at most 1032:1 (258 bytes from a 2-bit code, amortised);
// the constant covers a short stream's block headers.
constexpr std::size_t max_ratio = 1032, max_ratio_slack = 64;

Bytef* bytes_of(std::string_view s) {
  return reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));  // zlib only reads next_in
}

}  // namespace

std::string deflate_body(std::string_view body) {
  // A window no larger than the body, and a hash table to match: a small
  // frame (a live change) then costs a few KB to set up, not ~270 KB. Any
  // window inflates with raw_window_bits.
  const int window_bits =
      std::clamp(static_cast<int>(std::bit_width(body.size())), 9, -raw_window_bits);
  const int mem_level = std::clamp(window_bits - 7, 1, 8);
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -window_bits, mem_level,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    throw failure(errc::internal, "zlib could not start a compressor (out of memory?)");
  const std::unique_ptr<z_stream, int (*)(z_streamp)> end(&z, deflateEnd);
  std::string out(deflateBound(&z, static_cast<uLong>(body.size())), '\0');
  z.next_in = bytes_of(body);
  z.avail_in = static_cast<uInt>(body.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END)
    throw failure(errc::internal, "zlib could not compress a frame");
  out.resize(z.total_out);
  return out;
}

std::string inflate_body(std::string_view deflated, std::size_t size) {
  if (size > deflated.size() * max_ratio + max_ratio_slack)
    bad_frame("a compressed body of " + std::to_string(deflated.size()) +
              " bytes claims to inflate to " + std::to_string(size) +
              ", more than deflate can expand it");
  z_stream z{};
  if (inflateInit2(&z, raw_window_bits) != Z_OK)
    throw failure(errc::internal, "zlib could not start a decompressor (out of memory?)");
  const std::unique_ptr<z_stream, int (*)(z_streamp)> end(&z, inflateEnd);
  std::string out(size, '\0');
  z.next_in = bytes_of(deflated);
  z.avail_in = static_cast<uInt>(deflated.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  if (rc == Z_STREAM_END && z.total_out == size && z.avail_in == 0) return out;
  if (rc == Z_STREAM_END && z.avail_in != 0)
    bad_frame(std::to_string(z.avail_in) + " unexpected bytes after the compressed body");
  if (rc == Z_STREAM_END)
    bad_frame("a compressed body inflates to " + std::to_string(z.total_out) + " bytes, not the " +
              std::to_string(size) + " it declares");
  if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT)
    bad_frame(std::string("a compressed body is not valid deflate data: ") +
              (z.msg ? z.msg : "corrupt stream"));
  if (z.avail_out == 0)
    bad_frame("a compressed body inflates to more than the " + std::to_string(size) +
              " bytes it declares");
  bad_frame("truncated frame: the compressed body ends early");
}

}  // namespace haven::sync::wire

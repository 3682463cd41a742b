// libFuzzer target: the protocol frame decoder, fed arbitrary bytes.
//
// decode() must never crash, hang or allocate beyond frame_limits (libFuzzer's
// -malloc_limit_mb and -rss_limit_mb, with AddressSanitizer and UBSan, catch
// the rest). A refused frame is errc::protocol. A frame that decodes must
// encode again (or be refused by encode() with haven::failure, nothing else)
// and round-trip: decode(encode(m)) == m, and encoding that again gives the
// same bytes.

#include <cstddef>
#include <cstdint>
#include <haven/sync/protocol.hpp>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"

using namespace haven;
using namespace haven::sync;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  auto decoded = decode(frame);
  if (!decoded) {
    fuzz::require(decoded.err().code == errc::protocol,
                  "decode() refused a frame with a code other than protocol");
    return 0;
  }
  std::string encoded;
  try {
    encoded = encode(decoded.value());
  } catch (const failure&) {
    return 0;  // a message a peer would refuse to send: allowed
  } catch (const std::exception& e) {
    fuzz::fail(std::string("encode() threw something other than haven::failure: ") + e.what());
  }
  auto again = decode(encoded);
  fuzz::require(again.ok(),
                "a frame encode() made does not decode: " + (again ? "" : again.err().message));
  fuzz::require(again.value() == decoded.value(), "decode(encode(m)) != m");
  fuzz::require(encode(again.value()) == encoded,
                "encoding a round-tripped message gives other bytes");
  return 0;
}

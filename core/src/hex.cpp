#include <haven/core/hex.hpp>

namespace haven {
namespace {

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

result<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2)
    return error{errc::invalid_input, "a hex string has an even number of digits", {}};
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return error{errc::invalid_input, "\"" + std::string(hex) + "\" is not hex", {}};
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

}  // namespace haven

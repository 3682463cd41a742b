#pragma once
// Unsigned LEB128 varints (canonical: no redundant trailing zero groups),
// zigzag for signed numbers, and raw bytes: what the compact sync frames and
// the packed tally rows are made of. A reader knows how many bytes are left,
// so a count can be checked against them before anything is allocated; on
// bytes that end early or a bad varint it calls its `Fail`, which throws the
// error its user reports (a bad frame, a damaged store row).

#include <cstdint>
#include <string>
#include <string_view>

namespace haven::varint {

constexpr std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
constexpr std::int64_t unzigzag(std::uint64_t u) {
  return static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1);
}

// Appends to a string.
class writer {
 public:
  explicit writer(std::string& out) : out_(out) {}
  void byte(std::uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void varint(std::uint64_t v) {
    for (; v >= 0x80; v >>= 7) byte(static_cast<std::uint8_t>(v | 0x80));
    byte(static_cast<std::uint8_t>(v));
  }
  void signed_varint(std::int64_t v) { varint(zigzag(v)); }
  void bytes(std::string_view b) { out_.append(b); }

 private:
  std::string& out_;
};

// Reads bytes front to back; never reads past their end. `Fail(what)` must
// throw.
template <void (*Fail)(const std::string& what)>
class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}
  std::size_t remaining() const { return in_.size() - pos_; }

  std::uint8_t byte() {
    if (pos_ >= in_.size()) Fail("truncated frame: it ends inside a message");
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      const std::uint8_t b = byte();
      if (shift == 63 && b > 1) Fail("a varint overflows 64 bits");
      v |= std::uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) {
        if (b == 0 && shift != 0) Fail("a varint with redundant trailing zero bytes");
        return v;
      }
    }
  }
  std::int64_t signed_varint() { return unzigzag(varint()); }
  std::string_view bytes(std::size_t n) {
    if (n > remaining()) Fail("truncated frame: it ends inside a message");
    const std::string_view out = in_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  // A count or length read from the bytes: at most `limit`, and no more
  // than the bytes left allow at `min_bytes` per element. Fails otherwise.
  std::size_t count(std::size_t limit, std::size_t min_bytes, const char* what) {
    const std::uint64_t n = varint();
    if (n > limit)
      Fail(std::string(what) + " has " + std::to_string(n) + " elements, over the limit of " +
           std::to_string(limit));
    if (n > remaining() / min_bytes)
      Fail(std::string("truncated frame: ") + what + " claims " + std::to_string(n) +
           " elements but only " + std::to_string(remaining()) + " bytes are left");
    return static_cast<std::size_t>(n);
  }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace haven::varint

#pragma once
// Hybrid logical clock: 48-bit physical milliseconds and a 16-bit counter.
// Timestamps from it are strictly increasing on one node and follow every
// timestamp it has observed, so causally later writes win merges.

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <haven/core/result.hpp>

namespace haven::sync {

struct hlc {
  std::uint64_t packed = 0;  // millis << 16 | counter

  static constexpr hlc make(std::uint64_t millis, std::uint16_t counter) {
    return hlc{(millis << 16) | counter};
  }
  constexpr std::uint64_t millis() const { return packed >> 16; }
  constexpr std::uint16_t counter() const { return static_cast<std::uint16_t>(packed & 0xffff); }
  auto operator<=>(const hlc&) const = default;
};

// The clock of one node. Not thread-safe: one owner (a store, a session).
class hlc_clock {
 public:
  using physical_clock = std::function<std::uint64_t()>;  // milliseconds since the epoch

  static constexpr std::uint64_t default_max_skew_ms = 5 * 60 * 1000;
  static std::uint64_t system_millis();

  explicit hlc_clock(std::uint64_t max_skew_ms = default_max_skew_ms,
                     physical_clock physical = &hlc_clock::system_millis);

  // A timestamp for a local event, greater than every timestamp issued or
  // observed. Throws haven::failure (errc::clock_skew) when there is none: the
  // clock has taken in the greatest timestamp there is (the year 10889), which
  // only a faulty or hostile peer sends.
  hlc now();
  // Takes in a timestamp received from another node, so later local events
  // follow it. Returns errc::clock_skew (and changes nothing) when it is more
  // than max_skew ahead of this node's physical time; the message says by how much.
  result<void> observe(hlc remote);
  // Checks a remote timestamp against the skew bound without observing it.
  result<void> check(hlc remote) const;

  // The last timestamp issued or observed; restore() sets it after a restart.
  hlc last() const { return last_; }
  void restore(hlc last) { last_ = std::max(last_, last); }
  std::uint64_t max_skew_ms() const { return max_skew_ms_; }

 private:
  std::uint64_t max_skew_ms_;
  physical_clock physical_;
  hlc last_{};
};

// "3 days", "4 hours", "12 minutes": how far apart two clocks are, for messages.
std::string describe_duration(std::uint64_t millis);

}  // namespace haven::sync

#include <algorithm>
#include <haven/sync/hlc.hpp>
#include <string>

namespace haven::sync {

std::uint64_t hlc_clock::system_millis() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

hlc_clock::hlc_clock(std::uint64_t max_skew_ms, physical_clock physical)
    : max_skew_ms_(max_skew_ms), physical_(std::move(physical)) {}

namespace {
constexpr std::uint64_t max_millis = (std::uint64_t{1} << 48) - 1;
}  // namespace

hlc hlc_clock::now() {
  const std::uint64_t wall = physical_() & max_millis;
  if (wall > last_.millis()) {
    last_ = hlc::make(wall, 0);
  } else if (last_.counter() == 0xffff) {
    // Counter exhausted: borrow a millisecond, if the 48 bits have one left
    // (they would wrap to 0, and the change stamped then lose every merge).
    if (last_.millis() == max_millis)
      throw failure(
          errc::clock_skew,
          "the clock has taken in the greatest timestamp there is (in the year 10889, which "
          "only a faulty or hostile peer sends) and cannot stamp a change after it");
    last_ = hlc::make(last_.millis() + 1, 0);
  } else {
    last_ = hlc{last_.packed + 1};
  }
  return last_;
}

result<void> hlc_clock::check(hlc remote) const {
  const std::uint64_t wall = physical_();
  if (remote.millis() > wall + max_skew_ms_)
    return error{errc::clock_skew,
                 "refused: the sending device's clock is " +
                     describe_duration(remote.millis() - wall) +
                     " ahead; set its date and time correctly and sync again",
                 {}};
  return {};
}

result<void> hlc_clock::observe(hlc remote) {
  if (auto ok = check(remote); !ok) return ok;
  last_ = std::max(last_, remote);
  return {};
}

std::string describe_duration(std::uint64_t millis) {
  struct unit {
    std::uint64_t ms;
    const char* name;
  };
  static constexpr unit units[] = {
      {86'400'000, "day"}, {3'600'000, "hour"}, {60'000, "minute"}, {1000, "second"}};
  for (const auto& u : units) {
    if (millis >= u.ms) {
      const std::uint64_t n =
          (millis + u.ms / 2) / u.ms;  // to the nearest: "3 days", not 2 days 23:59
      return std::to_string(n) + " " + u.name + (n == 1 ? "" : "s");
    }
  }
  return std::to_string(millis) + " ms";
}

}  // namespace haven::sync

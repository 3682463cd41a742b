// The hybrid logical clock, driven by an injected physical clock.

#include <catch2/catch.hpp>
#include <cstdint>
#include <haven/sync/hlc.hpp>
#include <vector>

using namespace haven;
using namespace haven::sync;
using Catch::Matchers::Contains;

namespace {

constexpr std::uint64_t start_ms = 1'700'000'000'000;  // November 2023
constexpr std::uint64_t minute_ms = 60'000;

// A physical clock the test sets by hand.
struct manual_time {
  std::uint64_t ms = start_ms;
  hlc_clock clock(std::uint64_t max_skew = hlc_clock::default_max_skew_ms) {
    return hlc_clock(max_skew, [this] { return ms; });
  }
};

}  // namespace

TEST_CASE("hlc packs 48-bit milliseconds and a 16-bit counter", "[sync][hlc]") {
  constexpr hlc h = hlc::make(start_ms, 7);
  STATIC_REQUIRE(h.millis() == start_ms);
  STATIC_REQUIRE(h.counter() == 7);
  STATIC_REQUIRE(hlc::make((std::uint64_t{1} << 48) - 1, 0xffff).packed == ~std::uint64_t{0});
  CHECK(hlc::make(5, 0xffff) < hlc::make(6, 0));
  CHECK(hlc::make(5, 1) < hlc::make(5, 2));
  CHECK(hlc{} == hlc::make(0, 0));
}

TEST_CASE("now() follows the physical clock when it moves forward", "[sync][hlc]") {
  manual_time t;
  hlc_clock clock = t.clock();
  CHECK(clock.now() == hlc::make(start_ms, 0));
  t.ms += 5;
  CHECK(clock.now() == hlc::make(start_ms + 5, 0));
  CHECK(clock.last() == hlc::make(start_ms + 5, 0));
}

TEST_CASE("now() is strictly increasing under a frozen physical clock", "[sync][hlc]") {
  manual_time t;
  hlc_clock clock = t.clock();
  hlc previous = clock.now();
  bool increasing = true;
  for (int i = 0; i < 1000; ++i) {
    const hlc next = clock.now();
    increasing = increasing && next > previous;
    previous = next;
  }
  CHECK(increasing);
  CHECK(previous == hlc::make(start_ms, 1000));
}

TEST_CASE("now() is strictly increasing when the physical clock goes backwards", "[sync][hlc]") {
  manual_time t;
  hlc_clock clock = t.clock();
  const hlc first = clock.now();
  hlc previous = first;
  bool increasing = true;
  for (int i = 0; i < 500; ++i) {
    t.ms -= 37;  // e.g. an NTP correction, or a user setting the date back
    const hlc next = clock.now();
    increasing = increasing && next > previous;
    previous = next;
  }
  CHECK(increasing);
  CHECK(previous.millis() == first.millis());  // held, not followed back
  // Once the physical clock passes the held time again, it is followed.
  t.ms = start_ms + 10;
  CHECK(clock.now() == hlc::make(start_ms + 10, 0));
}

TEST_CASE("an exhausted counter borrows a millisecond", "[sync][hlc]") {
  manual_time t;
  hlc_clock clock = t.clock();
  clock.restore(hlc::make(start_ms, 0xfffe));
  CHECK(clock.now() == hlc::make(start_ms, 0xffff));
  CHECK(clock.now() == hlc::make(start_ms + 1, 0));
  CHECK(clock.now() == hlc::make(start_ms + 1, 1));
  // The physical clock catching up with the borrowed millisecond does not
  // reissue it.
  t.ms = start_ms + 1;
  CHECK(clock.now() == hlc::make(start_ms + 1, 2));

  SECTION("by counting up to it") {
    manual_time frozen;
    hlc_clock busy = frozen.clock();
    hlc last{};
    for (int i = 0; i <= 0xffff; ++i) last = busy.now();
    CHECK(last == hlc::make(start_ms, 0xffff));
    CHECK(busy.now() == hlc::make(start_ms + 1, 0));
  }
}

TEST_CASE("at the end of its range the clock refuses to stamp rather than wrap to 0",
          "[sync][hlc]") {
  // Found by fuzz_pull_apply: a pulled cell stamped with the greatest HLC
  // made the device's next write hlc 0, which lost every merge.
  constexpr std::uint64_t last_ms = (std::uint64_t{1} << 48) - 1;
  manual_time t;
  hlc_clock clock = t.clock();
  clock.restore(hlc::make(last_ms, 0xfffe));
  CHECK(clock.now() == hlc::make(last_ms, 0xffff));
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      const hlc wrapped = clock.now();
      FAIL("now() gave " << wrapped.packed << " after the greatest timestamp");
    } catch (const failure& f) {
      CHECK(f.err().code == errc::clock_skew);
      CHECK_THAT(f.err().message, Contains("greatest timestamp"));
    }
    CHECK(clock.last() == hlc::make(last_ms, 0xffff));  // never moved back
  }
}

TEST_CASE("restore() only moves the clock forward", "[sync][hlc]") {
  manual_time t;
  hlc_clock clock = t.clock();
  clock.restore(hlc::make(start_ms + 1000, 3));
  CHECK(clock.last() == hlc::make(start_ms + 1000, 3));
  clock.restore(hlc::make(start_ms, 0));
  CHECK(clock.last() == hlc::make(start_ms + 1000, 3));
  CHECK(clock.now() == hlc::make(start_ms + 1000, 4));
}

TEST_CASE("observe() moves the clock past a remote timestamp", "[sync][hlc]") {
  manual_time t;
  hlc_clock clock = t.clock();
  clock.now();
  const hlc remote = hlc::make(start_ms + 2 * minute_ms, 9);
  REQUIRE(clock.observe(remote));
  CHECK(clock.last() == remote);
  CHECK(clock.now() == hlc::make(start_ms + 2 * minute_ms, 10));

  // An older remote timestamp does not move the clock back.
  const hlc before = clock.last();
  REQUIRE(clock.observe(hlc::make(start_ms - minute_ms, 0)));
  CHECK(clock.last() == before);
  CHECK(clock.now() > before);

  // Equal milliseconds, a higher counter: still followed.
  REQUIRE(clock.observe(hlc::make(start_ms + 2 * minute_ms, 500)));
  CHECK(clock.now() == hlc::make(start_ms + 2 * minute_ms, 501));
}

TEST_CASE("observe() refuses a timestamp further ahead than the max skew", "[sync][hlc]") {
  manual_time t;
  hlc_clock clock = t.clock();
  const hlc mine = clock.now();
  CHECK(clock.max_skew_ms() == 5 * minute_ms);

  const hlc too_far = hlc::make(start_ms + 5 * minute_ms + 1, 0);
  const auto refused = clock.observe(too_far);
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == errc::clock_skew);
  CHECK_THAT(refused.err().message, Contains("5 minutes ahead"));
  CHECK(clock.last() == mine);
  CHECK(clock.now() == hlc::make(start_ms, 1));

  const auto days_ahead = clock.observe(hlc::make(start_ms + 3 * 86'400'000ull, 0));
  REQUIRE_FALSE(days_ahead);
  CHECK_THAT(days_ahead.err().message, Contains("3 days ahead"));

  // check() gives the same answer and never moves the clock.
  CHECK_FALSE(clock.check(too_far));
  CHECK(clock.check(too_far).err().code == errc::clock_skew);
  const hlc edge = hlc::make(start_ms + 5 * minute_ms, 0xffff);
  CHECK(clock.check(edge));
  CHECK(clock.last() == hlc::make(start_ms, 1));

  // Exactly max skew ahead is accepted, and the bound follows the physical clock.
  REQUIRE(clock.observe(edge));
  CHECK(clock.last() == edge);
  t.ms += minute_ms;
  CHECK(clock.observe(too_far));

  SECTION("with a custom bound") {
    manual_time u;
    hlc_clock strict = u.clock(1000);
    CHECK(strict.max_skew_ms() == 1000);
    CHECK(strict.observe(hlc::make(start_ms + 1000, 0)));
    const auto r = strict.observe(hlc::make(start_ms + 2400, 0));
    REQUIRE_FALSE(r);
    CHECK(r.err().code == errc::clock_skew);
    CHECK_THAT(r.err().message, Contains("2 seconds ahead"));
  }
}

TEST_CASE("the system clock is in milliseconds since the epoch", "[sync][hlc]") {
  const std::uint64_t ms = hlc_clock::system_millis();
  CHECK(ms > start_ms);                  // after November 2023
  CHECK(ms < (std::uint64_t{1} << 48));  // fits the 48 bits of an hlc
  hlc_clock clock;
  CHECK(clock.now().millis() >= ms);
}

TEST_CASE("describe_duration says how far apart two clocks are", "[sync][hlc]") {
  CHECK(describe_duration(0) == "0 ms");
  CHECK(describe_duration(999) == "999 ms");
  CHECK(describe_duration(1000) == "1 second");
  CHECK(describe_duration(59'999) == "60 seconds");  // to the nearest unit
  CHECK(describe_duration(60'000) == "1 minute");
  CHECK(describe_duration(12 * 60'000 + 29'000) == "12 minutes");
  CHECK(describe_duration(3'600'000) == "1 hour");
  CHECK(describe_duration(4 * 3'600'000 + 29 * 60'000) == "4 hours");
  CHECK(describe_duration(4 * 3'600'000 + 59 * 60'000) == "5 hours");
  CHECK(describe_duration(86'400'000) == "1 day");
  CHECK(describe_duration(3 * 86'400'000ull) == "3 days");
  CHECK(describe_duration(3 * 86'400'000ull - 50) ==
        "3 days");  // a clock set 3 days ahead, measured a moment later
  CHECK(describe_duration(400 * 86'400'000ull) == "400 days");
}

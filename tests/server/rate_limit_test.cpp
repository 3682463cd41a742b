// The rate limit on repeated log lines and audit rows: a few pass per key and
// interval, the rest are counted and reported once; memory stays bounded.
#include <catch2/catch.hpp>
#include <haven/server/rate_limit.hpp>

namespace haven {
namespace {

using ms = std::chrono::milliseconds;

TEST_CASE("rate_limiter: a few per key and interval pass, the rest are counted and reported once",
          "[server][rate_limit]") {
  server::rate_limiter limiter({3, ms(1000), 100});
  for (int i = 0; i < 3; ++i) CHECK(limiter.admit("refused 10.0.0.1", 0).pass);
  for (int i = 0; i < 7; ++i) CHECK_FALSE(limiter.admit("refused 10.0.0.1", 10 + i).pass);
  CHECK(limiter.admit("refused 10.0.0.2", 20).pass);  // per key
  CHECK(limiter.suppressed(999).empty());             // the interval has not ended
  // The next interval's first event carries the count.
  const auto next = limiter.admit("refused 10.0.0.1", 1000);
  CHECK(next.pass);
  CHECK(next.suppressed == 7);
  CHECK(limiter.suppressed(5000).empty());  // already reported
}

TEST_CASE("rate_limiter: a key that goes quiet has its count reported by suppressed()",
          "[server][rate_limit]") {
  server::rate_limiter limiter({1, ms(1000), 100});
  CHECK(limiter.admit("a", 0).pass);
  for (int i = 0; i < 4; ++i) CHECK_FALSE(limiter.admit("a", 1).pass);
  CHECK(limiter.admit("b", 0).pass);  // nothing suppressed: not reported
  const auto counts = limiter.suppressed(1000);
  REQUIRE(counts.size() == 1);
  CHECK(counts[0] == std::pair<std::string, std::uint64_t>{"a", 4});
  CHECK(limiter.suppressed(10'000).empty());
  const auto again = limiter.admit("a", 10'000);  // afresh, with nothing to carry
  CHECK(again.pass);
  CHECK(again.suppressed == 0);
}

TEST_CASE("rate_limiter: past max_keys keys, the oldest go and their counts are still reported",
          "[server][rate_limit]") {
  server::rate_limiter limiter({1, ms(1000), 10});
  for (int i = 0; i < 10; ++i) {
    limiter.admit("key" + std::to_string(i), i);
    limiter.admit("key" + std::to_string(i), i);  // one suppressed each
  }
  for (int i = 10; i < 1000; ++i) CHECK(limiter.admit("new" + std::to_string(i), 100 + i).pass);
  std::uint64_t total = 0;
  for (const auto& [key, count] : limiter.suppressed(0))
    total += count;  // only the evicted: none has ended
  CHECK(total == 10);
}

}  // namespace
}  // namespace haven

#pragma once
// A seeded source of random choices for property tests, so that a failing
// seed replays exactly.

#include <cstddef>
#include <cstdint>
#include <random>

namespace haven::test {

class dice {
 public:
  explicit dice(std::uint64_t seed) : rng_(seed) {}
  std::size_t below(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <class C>
  const auto& pick(const C& items) {
    return items[below(items.size())];
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace haven::test

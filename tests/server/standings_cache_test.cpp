// standings_cache: a standing read once is kept until changed(); a read that
// changed() overtakes is not kept, nor is a device the registry lacks.
#include <catch2/catch.hpp>
#include <haven/server/standings_cache.hpp>

namespace haven::test {

TEST_CASE("standings_cache keeps what it read until a standing may have changed",
          "[server][standings]") {
  server::standings_cache cache;
  int reads = 0;
  auto standing = server::device_standing::active;
  const auto read = [&]() -> std::optional<server::device_standing> {
    ++reads;
    return standing;
  };
  CHECK(cache.get("d1", read) == server::device_standing::active);
  CHECK(cache.get("d1", read) == server::device_standing::active);
  CHECK(reads == 1);
  CHECK(cache.get("d2", read) == server::device_standing::active);
  CHECK(reads == 2);

  standing = server::device_standing::revoked;                      // `havend revoke` ...
  CHECK(cache.get("d1", read) == server::device_standing::active);  // ... not noticed yet
  cache.changed();                                                  // noticed
  CHECK(cache.get("d1", read) == server::device_standing::revoked);
  CHECK(cache.get("d2", read) == server::device_standing::revoked);
  CHECK(reads == 4);
}

TEST_CASE("standings_cache keeps neither a read overtaken by a change nor an unknown device",
          "[server][standings]") {
  server::standings_cache cache;
  // A read that began before the change saw the old standing: returned to
  // its caller, which asked before the change, but not kept.
  CHECK(cache.get("d1", [&]() -> std::optional<server::device_standing> {
    cache.changed();
    return server::device_standing::active;
  }) == server::device_standing::active);
  CHECK(cache.get("d1", [] { return std::optional(server::device_standing::retired); }) ==
        server::device_standing::retired);

  int reads = 0;
  const auto unknown = [&]() -> std::optional<server::device_standing> {
    ++reads;
    return std::nullopt;
  };
  CHECK_FALSE(cache.get("d9", unknown));
  CHECK_FALSE(cache.get("d9", unknown));
  CHECK(reads == 2);
}

}  // namespace haven::test

// shared_pulls: a batch read once and handed to every caller asking for the
// same one until a push commits; callers arriving while it is read wait for it.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <haven/server/shared_pulls.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

namespace haven::test {
namespace {

sync::change_batch batch_of(std::size_t cells, std::uint64_t up_to) {
  sync::change_batch b;
  b.up_to = up_to;
  b.changes.push_back({sync::record_id::random(), "on_call_event", "team-a", {}});
  for (std::size_t i = 0; i < cells; ++i)
    b.changes.back().cells.push_back({"k" + std::to_string(i), true, {sync::hlc{i + 1}, 7}});
  return b;
}

}  // namespace

TEST_CASE("shared_pulls reads a batch once, keeps it until a push, and not one too large",
          "[server][shared_pulls]") {
  server::shared_pulls pulls;
  CHECK_FALSE(pulls.near_head(0));  // no push yet: the head is unknown
  pulls.changed(10'000);
  CHECK(pulls.near_head(10'000));
  CHECK(pulls.near_head(10'000 - server::shared_pulls::max_span));
  CHECK_FALSE(pulls.near_head(9'999 - server::shared_pulls::max_span));
  CHECK_FALSE(pulls.near_head(10'001));

  int reads = 0;
  const auto small = batch_of(3, 100);
  auto read = [&] {
    ++reads;
    return small;
  };
  const auto first = pulls.get("team-a", 90, 50, read);
  CHECK_FALSE(first.shared);
  CHECK(first.batch->batch() == small);
  const auto second = pulls.get("team-a", 90, 50, read);
  CHECK(second.shared);
  CHECK(second.batch->batch() == small);
  CHECK(second.batch == first.batch);  // the same entry, not a copy
  CHECK(reads == 1);
  // Another team, cursor or frame size is another batch.
  CHECK_FALSE(pulls.get("team-b", 90, 50, read).shared);
  CHECK_FALSE(pulls.get("team-a", 91, 50, read).shared);
  CHECK_FALSE(pulls.get("team-a", 90, 51, read).shared);
  CHECK(reads == 4);

  pulls.changed(120);  // a push: what was kept may be behind the log
  CHECK_FALSE(pulls.get("team-a", 90, 50, read).shared);
  CHECK(reads == 5);

  const auto large = batch_of(server::shared_pulls::max_span + 1, 120);
  CHECK_FALSE(pulls.get("team-a", 10, 9000, [&] { return large; }).shared);
  CHECK_FALSE(pulls.get("team-a", 10, 9000, [&] { return large; }).shared);  // not kept
}

TEST_CASE("shared_pulls keeps nothing when the read fails, and the next caller reads",
          "[server][shared_pulls]") {
  server::shared_pulls pulls;
  pulls.changed(10);
  CHECK_THROWS_AS(
      pulls.get("team-a", 5, 10, []() -> sync::change_batch { throw std::runtime_error("disk"); }),
      std::runtime_error);
  int reads = 0;
  CHECK_FALSE(pulls
                  .get("team-a", 5, 10,
                       [&] {
                         ++reads;
                         return batch_of(1, 10);
                       })
                  .shared);
  CHECK(reads == 1);
}

TEST_CASE("shared_pulls: callers asking at once for the same batch read it once",
          "[server][shared_pulls]") {
  server::shared_pulls pulls;
  pulls.changed(50);
  std::atomic<int> reads{0}, shared{0};
  const auto b = batch_of(2, 50);
  std::vector<std::thread> callers;
  for (int i = 0; i < 8; ++i)
    callers.emplace_back([&] {
      const auto got = pulls.get("team-a", 40, 100, [&] {
        ++reads;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the others arrive meanwhile
        return b;
      });
      CHECK(got.batch->batch() == b);
      if (got.shared) ++shared;
    });
  for (auto& t : callers) t.join();
  CHECK(reads == 1);
  CHECK(shared == 7);
}

TEST_CASE("shared_pulls: a batch's frame is encoded once per version, as encode gives it",
          "[server][shared_pulls]") {
  server::shared_pulls pulls;
  pulls.changed(50);
  auto b = batch_of(3, 50);
  b.changes.back().cells[1].at.node = 9;
  const auto got = pulls.get("team-a", 40, 100, [&] { return b; }).batch;
  CHECK(got->cells() == 3);
  CHECK(got->has_cells_of(7));
  CHECK(got->has_cells_of(9));
  CHECK_FALSE(got->has_cells_of(8));

  const sync::frame_limits limits;
  const auto v3 = got->frame(3, limits), v2 = got->frame(2, limits);
  CHECK(*v3 == sync::encode(b, limits, 3));
  CHECK(*v2 == sync::encode(b, limits, 2));
  CHECK(*v2 != *v3);
  CHECK(got->frame(3, limits) == v3);  // the same bytes, not encoded again
  // Decoded, the frame is the batch.
  const auto decoded = sync::decode(*v3, limits);
  REQUIRE(decoded.ok());
  CHECK(std::get<sync::change_batch>(decoded.value()) == b);
}

}  // namespace haven::test

#pragma once
// The devices that have synced with the central store, with their cursors:
// how far the store has committed each one's pushes, and when it was last
// seen and last caught up. An interface beside change_log, whose push moves
// a device's cursor in its own transaction; implementations are thread-safe.

#include <cstdint>
#include <haven/sync/session.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace haven::server {

struct device_info {
  std::string device_id;
  std::string team;
  sync::node_id node = 0;
  std::uint64_t acked_seq = 0;  // highest local seq of the device committed here
  std::int64_t first_seen_ms = 0, last_seen_ms = 0;
  std::optional<std::int64_t> last_sync_ms;  // last time it caught up
  bool operator==(const device_info&) const = default;
};

// A team that holds records of some type, and when one of its devices last
// caught up (tally completeness: http_api's completeness()).
struct team_sync {
  std::string team;
  std::optional<std::int64_t> last_sync_ms;  // the latest of its devices'; none: never
  bool operator==(const team_sync&) const = default;
};

class device_cursors {
 public:
  virtual ~device_cursors() = default;

  // Registers a device, or updates its team, node and last-seen time (its
  // cursor and first-seen time are kept). Returns what the store knows of it.
  // Durable when it returns, except a crash may lose the last-seen time.
  virtual device_info admit(const sync::peer& device, std::int64_t now_ms) = 0;
  // The device caught up with the log at this time (also its last-seen
  // time); an unknown id changes nothing. Durability as admit's.
  virtual void synced(std::string_view device_id, std::int64_t now_ms) = 0;

  // The device, or nullopt if it never synced here.
  virtual std::optional<device_info> device(std::string_view device_id) = 0;
  // Every device, ordered by team, then id.
  virtual std::vector<device_info> devices() = 0;
  // How many devices devices() would list.
  virtual std::uint64_t device_count() = 0;
  // The teams that hold records of `record_type` (deleted ones included: the
  // team recorded that type), ordered by team, each with the latest
  // last_sync_ms of the devices now in it. A committed snapshot.
  virtual std::vector<team_sync> team_syncs(std::string_view record_type) = 0;
};

}  // namespace haven::server

#pragma once
// The devices' standings as the access registry last gave them, kept until
// havend notices that a standing changed. A session asks for its device's
// standing before every live batch, so one push asks once for every watching
// device of the team, and each registry read is a read transaction of its own
// (a quarter of havend's CPU time in a fan-out to 1,000 devices). Standings
// change only through `havend retire` and `revoke`, other processes, which
// havend notices as it notices every write to its store (standings_version)
// and then calls changed(). Thread-safe.

#include <cstdint>
#include <functional>
#include <haven/server/access_registry.hpp>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace haven::server {

class standings_cache {
 public:
  using reader = std::function<std::optional<device_standing>()>;
  // The device's standing: kept, or read by `read` (nullopt: not enrolled;
  // not kept). A read that changed() overtakes is returned but not kept.
  std::optional<device_standing> get(std::string_view device_id, const reader& read);
  // Some standing may have changed: nothing kept is used again.
  void changed();

 private:
  std::mutex mutex_;
  std::uint64_t generation_ = 0;                                // guarded by mutex_
  std::unordered_map<std::string, device_standing> standings_;  // guarded by mutex_
};

}  // namespace haven::server

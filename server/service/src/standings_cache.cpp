#include <haven/server/standings_cache.hpp>

namespace haven::server {

std::optional<device_standing> standings_cache::get(std::string_view device_id,
                                                    const reader& read) {
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    if (const auto it = standings_.find(std::string(device_id)); it != standings_.end())
      return it->second;
    generation = generation_;
  }
  const auto standing = read();
  if (standing) {
    std::lock_guard lock(mutex_);
    if (generation == generation_) standings_.insert_or_assign(std::string(device_id), *standing);
  }
  return standing;
}

void standings_cache::changed() {
  std::lock_guard lock(mutex_);
  ++generation_;
  standings_.clear();
}

}  // namespace haven::server

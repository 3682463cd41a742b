#pragma once
// Counts open connections per remote address and refuses one beyond the
// limit. A slot is held for as long as the connection lives (moved from the
// HTTP session to the WebSocket session on upgrade). Thread-safe.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace haven::server {

class address_limiter {
 public:
  explicit address_limiter(unsigned per_address) : per_address_(per_address) {}

  // An open connection's claim on its address; releasing it frees the slot.
  class slot {
   public:
    slot(address_limiter& owner, std::string address) : owner_(&owner), address_(std::move(address)) {}
    slot(slot&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)), address_(std::move(other.address_)) {}
    slot& operator=(slot&&) = delete;
    ~slot() {
      if (owner_) owner_->release(address_);
    }
    // The remote IP address the slot counts.
    const std::string& address() const { return address_; }

   private:
    address_limiter* owner_;
    std::string address_;
  };

  // A slot, or nullopt when `address` already holds the maximum.
  std::optional<slot> try_acquire(const std::string& address) {
    std::lock_guard lock(mutex_);
    unsigned& n = open_[address];
    if (n >= per_address_) return std::nullopt;
    ++n;
    return slot(*this, address);
  }

 private:
  void release(const std::string& address) {
    std::lock_guard lock(mutex_);
    if (auto it = open_.find(address); it != open_.end() && --it->second == 0) open_.erase(it);
  }

  unsigned per_address_;
  std::mutex mutex_;
  std::map<std::string, unsigned> open_;  // guarded by mutex_
};

}  // namespace haven::server

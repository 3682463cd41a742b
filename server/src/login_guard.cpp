// Failed authentications per remote address. Memory stays bounded: an
// address whose last failure is older than max_backoff is forgotten, and
// when the table is full the entry with the oldest last failure goes.
#include <haven/server/access_registry.hpp>

#include <algorithm>
#include <map>
#include <mutex>

namespace haven::server {
namespace {
constexpr std::size_t max_addresses = 10000;
}  // namespace

struct login_guard::impl {
  struct failures {
    unsigned count = 0;
    std::int64_t last_ms = 0;
  };

  settings config;
  mutable std::mutex mutex;
  std::map<std::string, failures, std::less<>> by_address;  // guarded by mutex

  // How long after its last failure an address with `count` failures waits.
  std::int64_t backoff_ms(unsigned count) const {
    if (count < config.free_failures) return 0;
    std::int64_t ms = config.first_backoff.count();
    for (unsigned i = config.free_failures; i < count && ms < config.max_backoff.count(); ++i) ms *= 2;
    return std::min<std::int64_t>(ms, config.max_backoff.count());
  }

  bool forgotten(const failures& f, std::int64_t now_ms) const {
    return now_ms - f.last_ms > std::max(backoff_ms(f.count), static_cast<std::int64_t>(config.max_backoff.count()));
  }

  // Requires: mutex held.
  void make_room(std::int64_t now_ms) {
    if (by_address.size() < max_addresses) return;
    std::erase_if(by_address, [&](const auto& entry) { return forgotten(entry.second, now_ms); });
    if (by_address.size() < max_addresses) return;
    by_address.erase(std::min_element(by_address.begin(), by_address.end(), [](const auto& a, const auto& b) {
      return a.second.last_ms < b.second.last_ms;
    }));
  }
};

login_guard::login_guard(settings s) : impl_(std::make_unique<impl>()) { impl_->config = s; }

login_guard::~login_guard() = default;

std::chrono::milliseconds login_guard::wait(std::string_view address, std::int64_t now_ms) const {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->by_address.find(address);
  if (it == impl_->by_address.end()) return std::chrono::milliseconds(0);
  const std::int64_t until = it->second.last_ms + impl_->backoff_ms(it->second.count);
  return std::chrono::milliseconds(std::max<std::int64_t>(0, until - now_ms));
}

void login_guard::failed(std::string_view address, std::int64_t now_ms) {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->by_address.find(address);
  if (it != impl_->by_address.end() && impl_->forgotten(it->second, now_ms)) it->second = {};
  if (it == impl_->by_address.end()) {
    impl_->make_room(now_ms);
    it = impl_->by_address.emplace(std::string(address), impl::failures{}).first;
  }
  ++it->second.count;
  it->second.last_ms = now_ms;
}

void login_guard::succeeded(std::string_view address) {
  std::lock_guard lock(impl_->mutex);
  if (const auto it = impl_->by_address.find(address); it != impl_->by_address.end()) impl_->by_address.erase(it);
}

}  // namespace haven::server

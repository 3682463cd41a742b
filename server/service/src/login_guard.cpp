// Failed authentications per remote address and per credential. Memory stays
// bounded: a key whose last failure is older than max_backoff is forgotten,
// and when a table is full the entry with the oldest last failure goes.
#include <algorithm>
#include <haven/core/hex.hpp>
#include <haven/crypto/crypto.hpp>
#include <haven/server/login_guard.hpp>
#include <haven/server/rate_limit.hpp>
#include <limits>
#include <map>
#include <mutex>

namespace haven::server {
namespace {
constexpr std::size_t max_keys = 10000;

// Credential keys start with their kind and a colon; no IP address does.
bool is_credential(std::string_view key) {
  return key.rfind("token:", 0) == 0 || key.rfind("code:", 0) == 0 || key.rfind("device:", 0) == 0;
}
}  // namespace

struct login_guard::impl {
  struct failures {
    unsigned count = 0;
    std::int64_t last_ms = 0;
  };
  using table = std::map<std::string, failures, std::less<>>;

  settings config;
  mutable std::mutex mutex;
  table by_address;     // guarded by mutex
  table by_credential;  // guarded by mutex
  rate_limiter audits;

  explicit impl(settings s)
      : config(s), audits({s.audits_per_interval, s.audit_interval, max_keys}) {}

  table& table_of(std::string_view key) { return is_credential(key) ? by_credential : by_address; }
  const table& table_of(std::string_view key) const {
    return is_credential(key) ? by_credential : by_address;
  }

  // How long after its last failure a key with `count` failures waits.
  std::int64_t backoff_ms(unsigned count) const {
    if (count < config.free_failures) return 0;
    std::int64_t ms = config.first_backoff.count();
    for (unsigned i = config.free_failures; i < count && ms < config.max_backoff.count(); ++i)
      ms *= 2;
    return std::min<std::int64_t>(ms, config.max_backoff.count());
  }

  bool forgotten(const failures& f, std::int64_t now_ms) const {
    return now_ms - f.last_ms >
           std::max(backoff_ms(f.count), static_cast<std::int64_t>(config.max_backoff.count()));
  }

  // Requires: mutex held.
  void make_room(table& t, std::int64_t now_ms) {
    if (t.size() < max_keys) return;
    std::erase_if(t, [&](const auto& entry) { return forgotten(entry.second, now_ms); });
    if (t.size() < max_keys) return;
    t.erase(std::min_element(t.begin(), t.end(), [](const auto& a, const auto& b) {
      return a.second.last_ms < b.second.last_ms;
    }));
  }

  // Requires: mutex held.
  void fail(std::string_view key, std::int64_t now_ms) {
    table& t = table_of(key);
    auto it = t.find(key);
    if (it != t.end() && forgotten(it->second, now_ms)) it->second = {};
    if (it == t.end()) {
      make_room(t, now_ms);
      it = t.emplace(std::string(key), failures{}).first;
    }
    ++it->second.count;
    it->second.last_ms = now_ms;
  }
};

login_guard::login_guard(settings s) : impl_(std::make_unique<impl>(s)) {}

login_guard::~login_guard() = default;

std::string login_guard::credential_key(std::string_view kind, std::string_view secret) {
  return std::string(kind) + ":" + to_hex(crypto::sha256(secret)).substr(0, 16);
}

std::chrono::milliseconds login_guard::wait(std::string_view key, std::int64_t now_ms) const {
  std::lock_guard lock(impl_->mutex);
  const auto& t = impl_->table_of(key);
  const auto it = t.find(key);
  if (it == t.end()) return std::chrono::milliseconds(0);
  const std::int64_t until = it->second.last_ms + impl_->backoff_ms(it->second.count);
  return std::chrono::milliseconds(std::max<std::int64_t>(0, until - now_ms));
}

void login_guard::failed(std::string_view key, std::int64_t now_ms) {
  std::lock_guard lock(impl_->mutex);
  impl_->fail(key, now_ms);
}

void login_guard::failed(std::string_view address, std::string_view credential,
                         std::int64_t now_ms) {
  std::lock_guard lock(impl_->mutex);
  impl_->fail(address, now_ms);
  if (!credential.empty()) impl_->fail(credential, now_ms);
}

void login_guard::succeeded(std::string_view key) {
  std::lock_guard lock(impl_->mutex);
  auto& t = impl_->table_of(key);
  if (const auto it = t.find(key); it != t.end()) t.erase(it);
}

rate_limiter::verdict login_guard::audit_now(std::string_view event, std::string_view address,
                                             std::int64_t now_ms) {
  return impl_->audits.admit(std::string(event) + " " + std::string(address), now_ms);
}

namespace {

// The row that sums up `count` held-back rows of `event` from `address`.
audit_entry summary_row(std::int64_t now_ms, std::string event, std::string address,
                        std::uint64_t count) {
  std::string detail =
      std::to_string(count) + " more " + event + " from this address, not audited one by one";
  return {now_ms, std::move(event), std::string(suppressed_subject), std::move(address),
          std::move(detail)};
}

}  // namespace

std::vector<audit_entry> login_guard::suppressed_audits(std::int64_t now_ms, bool everything) {
  std::vector<audit_entry> rows;
  for (const auto& [key, count] :
       impl_->audits.suppressed(everything ? std::numeric_limits<std::int64_t>::max() : now_ms)) {
    const auto space = key.find(' ');
    rows.push_back(summary_row(now_ms, key.substr(0, space),
                               space == std::string::npos ? "" : key.substr(space + 1), count));
  }
  return rows;
}

void audit_limited(access_registry& registry, login_guard* guard, const audit_entry& entry) {
  if (!guard) return registry.audit(entry);
  const auto verdict = guard->audit_now(entry.event, entry.address, entry.at_ms);
  // A new interval began before the flush summed up the last one's count.
  if (verdict.suppressed > 0)
    registry.audit(summary_row(entry.at_ms, entry.event, entry.address, verdict.suppressed));
  if (verdict.pass) registry.audit(entry);
}

}  // namespace haven::server

// How it works:
// Who holds havend's connections, so that no one can crowd out the rest.
// Every open connection holds a slot, in one of two pools:
//
// - Until it signs in, a connection counts against its client address: at
//   most `per_address` at once. One more from that address takes the place
//   of the address's oldest connection not signed in, which is given notice
//   (closed). An honest device signs in within milliseconds of connecting,
//   so the oldest is the one most likely stalled; refusing the newcomer
//   instead would let 32 silent connections lock every device behind an
//   asylum centre's NAT out of syncing.
// - Once a device's hello verifies, or an HTTP request carries a valid
//   coordinator token, the connection counts against that credential
//   instead (`sign_in`): at most `per_credential` at once, and a newer one
//   replaces the credential's oldest. A device whose network changed leaves
//   a dead connection open until the idle timeout; its newest connection is
//   the live one, so refusing that one would lock the device out for minutes.
//
// Every connection counts against `total`: at the total, a newcomer takes
// the place of the server's oldest connection not signed in; if every one
// has signed in, the newcomer is refused.
//
// A slot given notice stops counting at once, so its room goes to the
// newcomer; closing is the connection's own business: its closer is called,
// outside the budget's lock, on whichever thread gave the notice, and must
// only post the close to the connection's executor. Thread-safe. The budget
// must outlive its slots.
#include <haven/server/connection_budget.hpp>
#include <haven/server/metrics.hpp>

namespace haven::server {

connection_budget::slot::~slot() {
  if (owner_) owner_->release(id_);
}

void connection_budget::slot::on_notice(closer close) {
  if (owner_) owner_->set_closer(id_, std::move(close));
}

void connection_budget::slot::sign_in(std::string_view credential) {
  if (owner_) owner_->sign_in(id_, credential);
}

std::optional<connection_budget::slot> connection_budget::admit(const std::string& address) {
  std::vector<pending_close> closing;
  std::optional<slot> admitted;
  {
    std::lock_guard lock(mutex_);
    if (const auto pool = waiting_by_address_.find(address);
        pool != waiting_by_address_.end() && pool->second.size() >= settings_.per_address)
      give_notice(*pool->second.begin(), notice::address_full, closing);
    if (open_ >= settings_.total && !waiting_.empty())
      give_notice(*waiting_.begin(), notice::server_full, closing);
    if (open_ < settings_.total) {
      const std::uint64_t id = ++next_;
      entries_.emplace(id, entry{address, {}, 0, {}, std::nullopt});
      waiting_.insert(id);
      waiting_by_address_[address].insert(id);
      ++open_;
      admitted.emplace(slot(*this, id, address));
    } else if (metrics_) {
      ++metrics_->refused_connections;
    }
    publish();
  }
  for (auto& c : closing)
    if (c.close) c.close(c.why);
  return admitted;
}

void connection_budget::set_closer(std::uint64_t id, closer close) {
  std::optional<notice> noticed;
  {
    std::lock_guard lock(mutex_);
    entry& e = entries_.at(id);
    if (!(noticed = e.noticed)) e.close = std::move(close);
  }
  if (noticed) close(*noticed);  // notice came before the closer
}

void connection_budget::sign_in(std::uint64_t id, std::string_view credential) {
  std::vector<pending_close> closing;
  {
    std::lock_guard lock(mutex_);
    entry& e = entries_.at(id);
    if (e.noticed || e.credential == credential) return;
    leave_pool(id, e);
    e.credential = std::string(credential);
    e.signed_in_at = ++next_;
    for (;;) {
      const auto pool = by_credential_.find(credential);
      if (pool == by_credential_.end() || pool->second.size() < settings_.per_credential) break;
      give_notice(pool->second.begin()->second, notice::replaced, closing);
    }
    by_credential_[e.credential].emplace(e.signed_in_at, id);
    publish();
  }
  for (auto& c : closing)
    if (c.close) c.close(c.why);
}

void connection_budget::release(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (!it->second.noticed) {
    leave_pool(id, it->second);
    --open_;
  }
  entries_.erase(it);
  publish();
}

connection_budget::counts connection_budget::current() const {
  std::lock_guard lock(mutex_);
  return {open_, waiting_.size()};
}

void connection_budget::give_notice(std::uint64_t id, notice why, std::vector<pending_close>& out) {
  entry& e = entries_.at(id);
  leave_pool(id, e);
  --open_;
  e.noticed = why;
  if (metrics_)
    ++(why == notice::replaced ? metrics_->replaced_connections : metrics_->evicted_connections);
  out.push_back({std::exchange(e.close, {}), why});
}

void connection_budget::leave_pool(std::uint64_t id, const entry& e) {
  if (e.credential.empty()) {
    waiting_.erase(id);
    const auto pool = waiting_by_address_.find(e.address);
    pool->second.erase(id);
    if (pool->second.empty()) waiting_by_address_.erase(pool);
  } else {
    const auto pool = by_credential_.find(e.credential);
    pool->second.erase(e.signed_in_at);
    if (pool->second.empty()) by_credential_.erase(pool);
  }
}

void connection_budget::publish() {
  if (!metrics_) return;
  metrics_->open_connections = static_cast<std::int64_t>(open_);
  metrics_->waiting_connections = static_cast<std::int64_t>(waiting_.size());
}

}  // namespace haven::server

#pragma once
// The sync protocol's server backend over the central store: admits devices,
// checks clock skew, commits pushes, serves pulls, and tells the session
// registry which teams have new changes. Thread-safe; shared by all sessions.

#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include <haven/server/central_store.hpp>
#include <haven/server/metrics.hpp>
#include <haven/sync/hlc.hpp>
#include <haven/sync/session.hpp>

namespace haven::server {

class sync_service final : public sync::server_backend {
 public:
  using team_notifier = std::function<void(std::string_view team)>;

  sync_service(central_store& store, std::shared_ptr<const schema> record_schema, metrics& counters,
               sync::hlc_clock clock = sync::hlc_clock{});

  // Called after every commit that changed a team's records.
  void on_team_changed(team_notifier notify) { notify_ = std::move(notify); }

  sync::welcome admit(const sync::hello& h) override;
  sync::push_ack push(const sync::peer& p, const sync::push_batch& batch) override;
  sync::change_batch pull(const sync::peer& p, std::uint64_t since, std::uint32_t max_cells) override;
  void caught_up(const sync::peer& p) override;

 private:
  std::int64_t now_ms();

  central_store& store_;
  std::shared_ptr<const schema> schema_;
  metrics& metrics_;
  team_notifier notify_;
  std::mutex clock_mutex_;
  sync::hlc_clock clock_;  // guarded by clock_mutex_
};

}  // namespace haven::server

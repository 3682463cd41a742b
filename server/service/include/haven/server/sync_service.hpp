#pragma once
// The sync protocol's server backend over the central store: authenticates
// devices against the access registry (their hello signed over the
// connection's nonce), keeps each device to its own team, checks clock skew,
// commits pushes, serves pulls, orders wipes of retired and revoked devices,
// and tells the session registry which teams have new changes. Thread-safe;
// shared by all sessions.

#include <functional>
#include <haven/schema/schema.hpp>
#include <haven/server/access_registry.hpp>
#include <haven/server/change_log.hpp>
#include <haven/server/device_cursors.hpp>
#include <haven/server/login_guard.hpp>
#include <haven/server/metrics.hpp>
#include <haven/server/shared_pulls.hpp>
#include <haven/server/standings_cache.hpp>
#include <haven/sync/hlc.hpp>
#include <haven/sync/session.hpp>
#include <memory>
#include <mutex>
#include <string_view>

namespace haven::server {

class sync_service final : public sync::server_backend {
 public:
  using team_notifier = std::function<void(std::string_view team)>;

  // `access` nullptr: development mode without authentication (any hello is
  // taken at its word). `guard` counts failed sign-ins per address.
  // The log and the devices must outlive the service.
  sync_service(change_log& log, device_cursors& devices,
               std::shared_ptr<const schema> record_schema, metrics& counters,
               access_registry* access, login_guard& guard,
               sync::hlc_clock clock = sync::hlc_clock{});

  // A device's standing may have changed in the registry (havend noticed a
  // new standings_version): the standings kept are read again.
  void standings_changed() { standings_.changed(); }
  // Called after every commit that changed a team's records.
  void on_team_changed(team_notifier notify) { notify_ = std::move(notify); }
  // Called after every commit that changes what a tally or its completeness
  // shows: a push that changed records (with the head after it), and a
  // device that caught up (its last sync moved; with 0: the head did not).
  void on_committed(std::function<void(std::uint64_t head)> notify) {
    committed_ = std::move(notify);
  }

  std::string nonce() override;
  sync::admission admit(const sync::hello& h, const sync::handshake& hs) override;
  sync::push_ack push(const sync::peer& p, const sync::push_batch& batch) override;
  sync::change_batch pull(const sync::peer& p, std::uint64_t since,
                          std::uint32_t max_cells) override;
  encoded_batch pull_encoded(const sync::peer& p, std::uint64_t since, std::uint32_t max_cells,
                             std::uint32_t version, const sync::frame_limits& limits) override;
  void caught_up(const sync::peer& p) override;
  void wiped(const sync::peer& p) override;
  device_standing standing(const sync::peer& p) override;

 private:
  // The registry's verdict on a hello: the device's standing; throws to
  // refuse it. Requires: access_.
  device_standing authenticate(const sync::hello& h, const sync::handshake& hs);
  // The team's cells after `since` as shared with the team's other devices
  // at the same cursor, when it can be: near the log's head, and holding
  // none of the device's own cells (nullptr else: the device's own read).
  std::shared_ptr<const shared_pulls::entry> shared_batch(const sync::peer& p, std::uint64_t since,
                                                          std::uint32_t max_cells);
  // The team's cells after `since` without the device's own, read for it.
  sync::change_batch own_batch(const sync::peer& p, std::uint64_t since, std::uint32_t max_cells);
  // Audits and throws `code`: a push the device may not make (forbidden) or
  // whose values the schema does not allow (invalid_input).
  [[noreturn]] void refuse_push(const sync::peer& p, const std::string& why,
                                errc code = errc::forbidden);

  change_log& log_;
  device_cursors& devices_;
  std::shared_ptr<const schema> schema_;
  metrics& metrics_;
  access_registry* access_;
  login_guard& guard_;
  team_notifier notify_;
  std::function<void(std::uint64_t head)> committed_;
  shared_pulls shared_;
  standings_cache standings_;
  std::mutex clock_mutex_;
  sync::hlc_clock clock_;  // guarded by clock_mutex_
};

}  // namespace haven::server

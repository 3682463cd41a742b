#include <haven/server/sync_service.hpp>

#include <chrono>
#include <set>

namespace haven::server {

sync_service::sync_service(central_store& store, std::shared_ptr<const schema> record_schema, metrics& counters,
                           sync::hlc_clock clock)
    : store_(store), schema_(std::move(record_schema)), metrics_(counters), clock_(std::move(clock)) {}

std::int64_t sync_service::now_ms() {
  return static_cast<std::int64_t>(sync::hlc_clock::system_millis());
}

sync::welcome sync_service::admit(const sync::hello& h) {
  const device_info d = store_.admit({h.device_id, h.team, h.node}, now_ms());
  sync::welcome w;
  w.schema_version = schema_->version();
  w.schema_json = schema_->source();
  w.acked_seq = d.acked_seq;
  std::lock_guard lock(clock_mutex_);
  w.server_time = clock_.now();
  return w;
}

sync::push_ack sync_service::push(const sync::peer& p, const sync::push_batch& batch) {
  const auto started = std::chrono::steady_clock::now();
  std::size_t cells = 0;
  std::set<std::string_view> teams;
  {
    std::lock_guard lock(clock_mutex_);
    for (const auto& change : batch.changes) {
      teams.insert(change.team);
      cells += change.cells.size();
      for (const auto& c : change.cells)
        if (auto ok = clock_.check(c.at.time); !ok) throw failure(ok.err());
    }
    for (const auto& change : batch.changes)
      for (const auto& c : change.cells) clock_.restore(c.at.time);
  }
  metrics_.changes_received += cells;
  const push_result r = store_.push(p, batch, now_ms());
  metrics_.changes_applied += r.stats.applied;
  metrics_.observe_push_seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (r.stats.applied > 0 && notify_)
    for (auto team : teams) notify_(team);
  return sync::push_ack{r.acked_seq};
}

sync::change_batch sync_service::pull(const sync::peer& p, std::uint64_t since, std::uint32_t max_cells) {
  sync::change_batch batch = store_.pull(p.team, p.node, since, max_cells);
  std::size_t cells = 0;
  for (const auto& change : batch.changes) cells += change.cells.size();
  metrics_.changes_sent += cells;
  return batch;
}

void sync_service::caught_up(const sync::peer& p) { store_.synced(p.device_id, now_ms()); }

}  // namespace haven::server

#include <haven/server/change_log.hpp>
#include <haven/server/metrics.hpp>
#include <sstream>

namespace haven::server {

void metrics::observe_push_seconds(double seconds) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    if (seconds <= bounds_[i]) ++buckets_[i];
  ++push_count_;
  push_sum_ += seconds;
}

std::string metrics::render(const log_counts& store, std::uint64_t devices_known) const {
  std::ostringstream out;
  auto metric = [&](const char* name, const char* type, const char* help, auto value) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
        << name << ' ' << value << '\n';
  };
  metric("haven_connected_devices", "gauge", "Devices with an open sync session.",
         connected_devices.load());
  metric("haven_sessions_total", "counter", "Sync sessions opened.", sessions_total.load());
  metric("haven_changes_received_total", "counter", "Cells received in pushes.",
         changes_received.load());
  metric("haven_changes_applied_total", "counter", "Received cells that changed the store.",
         changes_applied.load());
  metric("haven_changes_sent_total", "counter", "Cells sent to devices.", changes_sent.load());
  metric("haven_shared_pulls_total", "counter",
         "Batches read from the store once and sent to several devices of a team.",
         shared_pulls.load());
  metric("haven_refused_frames_total", "counter", "Sessions ended with an error frame.",
         refused_frames.load());
  metric("haven_open_connections", "gauge", "Open connections.", open_connections.load());
  metric("haven_waiting_connections", "gauge", "Open connections not signed in yet.",
         waiting_connections.load());
  metric("haven_evicted_connections_total", "counter",
         "Connections not signed in that were closed to make room for a newer one.",
         evicted_connections.load());
  metric("haven_replaced_connections_total", "counter",
         "Signed-in connections closed for a newer one of the same device or coordinator.",
         replaced_connections.load());
  metric("haven_refused_connections_total", "counter",
         "Connections refused: the server held its most, every one signed in.",
         refused_connections.load());
  metric("haven_http_requests_total", "counter", "HTTP requests served.", http_requests.load());
  metric("haven_store_records", "gauge", "Records in the central store, deleted ones included.",
         store.records);
  metric("haven_store_cells", "gauge", "Cells in the central store.", store.cells);
  metric("haven_store_log_head", "gauge", "The last log position.", store.head);
  metric("haven_store_bytes", "gauge", "Size of the central store on disk.", store.bytes);
  metric("haven_devices_known", "gauge", "Devices that ever connected.", devices_known);
  std::lock_guard lock(mutex_);
  out << "# HELP haven_push_seconds Time from receiving a push batch to its commit.\n"
         "# TYPE haven_push_seconds histogram\n";
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    out << "haven_push_seconds_bucket{le=\"" << bounds_[i] << "\"} " << buckets_[i] << '\n';
  out << "haven_push_seconds_bucket{le=\"+Inf\"} " << push_count_ << '\n'
      << "haven_push_seconds_sum " << push_sum_ << '\n'
      << "haven_push_seconds_count " << push_count_ << '\n';
  return out.str();
}

}  // namespace haven::server

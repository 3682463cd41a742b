#pragma once
// The central store: merged cells with their log positions, devices and
// their cursors, and the incremental tally. An interface, so that a second
// backend (PostgreSQL, for several havend instances) can stand beside the
// embedded SQLite one. Implementations are thread-safe.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <haven/core/result.hpp>
#include <haven/schema/schema.hpp>
#include <haven/sync/merge.hpp>
#include <haven/sync/protocol.hpp>
#include <haven/sync/session.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace haven::server {

struct device_info {
  std::string device_id;
  std::string team;
  sync::node_id node = 0;
  std::uint64_t acked_seq = 0;  // highest local seq of the device committed here
  std::int64_t first_seen_ms = 0, last_seen_ms = 0;
  std::optional<std::int64_t> last_sync_ms;  // last time it caught up
};

struct push_result {
  std::uint64_t acked_seq = 0;
  sync::merge_stats stats;
  std::uint64_t head = 0;  // log position after the push
};

struct store_counts {
  std::uint64_t records = 0, deleted_records = 0, cells = 0, devices = 0;
  std::uint64_t head = 0;   // the last log position
  std::uint64_t bytes = 0;  // on disk
};

class central_store {
 public:
  virtual ~central_store() = default;

  // Registers a device, or updates its team, node and last-seen time.
  // Returns what the store knows of it (acked_seq: its committed pushes).
  virtual device_info admit(const sync::peer& device, std::int64_t now_ms) = 0;
  // Applies a push batch in one transaction: merged cells stamped with new
  // log positions, the tally updated, the device's cursor moved to
  // max(acked, batch.last_seq). Durable when it returns. A batch whose record
  // breaks the store's rules (unknown type, bad team, set value) is refused
  // whole with errc::invalid_input and changes nothing.
  virtual push_result push(const sync::peer& device, const sync::push_batch& batch,
                           std::int64_t now_ms) = 0;
  // Cells of `team` after log position `since`, oldest first, at most
  // max_cells, grouped by record; cells written by `skip_node` are left out
  // (unless more than one device has been admitted with that node: a store
  // enrolled again under an old node has lost them) but still move up_to.
  // more = there are further cells.
  virtual sync::change_batch pull(std::string_view team, sync::node_id skip_node,
                                  std::uint64_t since, std::uint32_t max_cells) = 0;
  // The device caught up with the log at this time.
  virtual void synced(std::string_view device_id, std::int64_t now_ms) = 0;

  virtual std::vector<device_info> devices() = 0;
  virtual store_counts counts() = 0;

  // The tally (see tally_book): the list of tallies, and one as JSON or CSV.
  virtual std::string tally_list_json() = 0;
  virtual result<std::string> tally_json(std::string_view id, int year,
                                         std::optional<int> month) = 0;
  virtual result<std::string> tally_csv(std::string_view id, int year,
                                        std::optional<int> month) = 0;
  // Recomputes contributions that depend on today's date (open stays).
  virtual void refresh_tally() = 0;
};

struct sqlite_store_options {
  std::function<date()> today;  // empty: the system's date (UTC)
  std::size_t readers = 4;      // connections for concurrent pulls
  sync::frame_limits limits;    // a pull batch fits them (the sessions' limits)
};

// Opens (creating if absent) the embedded SQLite central store.
// Throws haven::failure (errc::store) if the file is not a Haven server store.
std::unique_ptr<central_store> open_sqlite_store(const std::filesystem::path& file,
                                                 std::shared_ptr<const schema> record_schema,
                                                 sqlite_store_options options = {});

}  // namespace haven::server

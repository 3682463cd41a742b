#pragma once
// The device's live records by type and day, in memory, for the lists the
// app shows (today, this week, a filter) and the codes most used here: a list
// then reads from the store only the records it shows. Built from one full
// store::list(); kept current by the local API's own writes, and rebuilt on
// the next read once the sync thread reports changes from the server.
// Not thread-safe but for note_remote_changes(): one thread (the local
// API's) uses the rest. `db` must outlive it.

#include <atomic>
#include <cstdint>
#include <haven/client/store.hpp>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace haven::kiosk {

// How often each code of each field (by field key) was recorded here.
using code_usage = std::map<std::string, std::map<std::string, std::int64_t>>;

class record_index {
 public:
  explicit record_index(client::store& db) : db_(db) {}

  // Up to `limit` ids of live records of `type` (any when nullopt) whose day
  // (their type's first date field) lies in [from, to], newest day first,
  // later writes first within a day; and how many match in all.
  std::pair<std::vector<sync::record_id>, std::size_t> find(const std::optional<std::string>& type,
                                                            std::optional<date> from,
                                                            std::optional<date> to,
                                                            std::size_t limit);
  // Codes counted over the records as they were written here (an edit or a
  // deletion does not take back what the earlier values counted).
  const code_usage& usage();

  // The local API wrote `r` (new or edited) / deleted `id`.
  void note_written(const client::record& r);
  void note_deleted(const sync::record_id& id);
  // Changes arrived from the server (or the store was erased). Thread-safe.
  void note_remote_changes() noexcept { stale_ = true; }

 private:
  struct entry {
    sync::record_id id;
    std::string type;
    date day;
    std::uint64_t order = 0;  // later writes are greater
  };
  void refresh();
  void count(const client::record& r);
  entry entry_of(const client::record& r);

  client::store& db_;
  std::atomic<bool> stale_{true};
  std::vector<entry> entries_;
  code_usage usage_;
  std::uint64_t next_order_ = 0;
};

}  // namespace haven::kiosk

#pragma once
// The central store: the change log, the devices and their cursors, and the
// incremental tally, as one object, because a push commits all three in one
// transaction. Callers depend on the narrow interfaces; a backend implements
// them and is opened as one central_store. The conformance tests
// (tests/server/store_conformance.hpp) hold every backend to the contracts.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <haven/core/value.hpp>
#include <haven/schema/schema.hpp>
#include <haven/server/change_log.hpp>
#include <haven/server/device_cursors.hpp>
#include <haven/server/tally_store.hpp>
#include <haven/sync/protocol.hpp>
#include <memory>
#include <string>

namespace haven::server {

// Thread-safe, as each of its interfaces.
class central_store : public change_log, public device_cursors, public tally_store {};

// How far a recount of the tally (after an upgrade that changed how it is
// kept, or a change of the schema's tallies) has come.
struct recount_progress {
  std::int64_t counted_to = 0;  // the record ids counted: 1 to this
  std::int64_t last = 0;        // the largest record id when that part was counted
  bool done = false;
  std::string failure;  // why it stopped, when it failed (the reports then say so)
};

struct sqlite_store_options {
  std::function<date()> today;  // empty: the system's date (UTC)
  std::size_t readers = 4;      // connections for concurrent pulls
  sync::frame_limits limits;    // a pull batch fits them (the sessions' limits)
  // Whether a recount runs before open_sqlite_store returns, or on a thread
  // of the store's while it takes pushes and pulls (havend), its reports
  // failing with errc::unavailable until it ends.
  enum class recount_mode { before_open, while_serving } recount = recount_mode::before_open;
  std::size_t recount_part = 2000;  // records a transaction, each from 1
  // Called after each part of a recount, and once if it fails, outside the
  // store's lock (on its thread while serving): to log progress. May block
  // the recount. A push waiting for the store goes before the next part.
  std::function<void(const recount_progress&)> on_recount;
};

// Opens (creating if absent) the embedded SQLite central store, recounting
// the tally if its declarations changed (see sqlite_store_options::recount;
// an interrupted recount goes on where it stopped). Throws haven::failure
// (errc::store) if the file is not a Haven server store or cannot be opened.
std::unique_ptr<central_store> open_sqlite_store(const std::filesystem::path& file,
                                                 std::shared_ptr<const schema> record_schema,
                                                 sqlite_store_options options = {});

}  // namespace haven::server

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

namespace haven::server {

// Thread-safe, as each of its interfaces.
class central_store : public change_log, public device_cursors, public tally_store {};

struct sqlite_store_options {
  std::function<date()> today;  // empty: the system's date (UTC)
  std::size_t readers = 4;      // connections for concurrent pulls
  sync::frame_limits limits;    // a pull batch fits them (the sessions' limits)
};

// Opens (creating if absent) the embedded SQLite central store, recounting
// the tally if its declarations changed. Throws haven::failure (errc::store)
// if the file is not a Haven server store or cannot be opened.
std::unique_ptr<central_store> open_sqlite_store(const std::filesystem::path& file,
                                                 std::shared_ptr<const schema> record_schema,
                                                 sqlite_store_options options = {});

}  // namespace haven::server

#pragma once
// What a SQLite file is to Haven: a device store (haven's), the central store
// (havend's), or something else. A store carries its kind as the SQLite
// application_id (PRAGMA application_id); a store made before the ids were
// stamped is recognised by its tables and stamped when it is first opened.
// Both stores and havend's access registry check a file with these before
// they write to it, so that neither program ever writes into the other's
// store, nor into a file of another program. Free functions, no state.

#include <cstdint>
#include <filesystem>

namespace haven::sqlite {

class database;

enum class store_kind { device, central };

inline constexpr std::int32_t device_application_id = 0x48564e64;   // "HVNd"
inline constexpr std::int32_t central_application_id = 0x48564e73;  // "HVNs"

// Checks `file` through a read-only connection, before it is opened with
// database (which would switch another program's database to WAL mode).
// Throws errc::store, saying what the file is and what to give instead, when
// it is not a SQLite database, when it carries an application_id other than
// `expected`'s (the other program's store, or another program's), or when it
// is not in WAL mode (a Haven store always is). A file that does not exist,
// or is empty, passes: it is a new store. Returns `file`, so that a
// constructor can check it before it opens a database.
const std::filesystem::path& check_file(const std::filesystem::path& file, store_kind expected);

// Checks an open database (a store of `expected` kind, or an empty one) and
// stamps it: an empty database when `stamp_empty`, and a store of this kind
// from before the ids (recognised by its tables) always, in one write
// transaction. Returns true if it was an empty database (no tables, no id). Throws
// errc::store as check_file does, also for a database whose tables are not
// those of a Haven store. Requires: no transaction open on `db`.
bool claim(database& db, const std::filesystem::path& file, store_kind expected, bool stamp_empty);

}  // namespace haven::sqlite

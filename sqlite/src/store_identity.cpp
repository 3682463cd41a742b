#include <sqlite3.h>

#include <cstdio>
#include <haven/sqlite/sqlite.hpp>
#include <haven/sqlite/store_identity.hpp>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace haven::sqlite {
namespace {

std::int32_t application_id_of(store_kind k) {
  return k == store_kind::device ? device_application_id : central_application_id;
}

// "a device store" / "havend's central store", and what to give instead.
std::string_view what(store_kind k) {
  return k == store_kind::device ? "a device store" : "havend's central store";
}
std::string_view give(store_kind k) {
  return k == store_kind::device ? "give --db a device store or a new path"
                                 : "give --db the central store or a new path";
}

[[noreturn]] void refuse(const std::filesystem::path& file, store_kind expected,
                         const std::string& is) {
  throw failure(errc::store, file.string() + " is " + is + ", not " + std::string(what(expected)) +
                                 "; nothing was changed: " + std::string(give(expected)));
}

// The other program's store: say whose it is and what this program works on.
[[noreturn]] void refuse_other_store(const std::filesystem::path& file, store_kind expected) {
  const bool device = expected == store_kind::device;
  throw failure(errc::store,
                file.string() +
                    (device ? " is havend's central store, not a device store: haven works on "
                              "a device store; "
                            : " is a device store of haven, not havend's central store: "
                              "havend works on its central store; ") +
                    std::string(give(expected)));
}

[[noreturn]] void refuse_application_id(const std::filesystem::path& file, store_kind expected,
                                        std::int32_t id) {
  for (store_kind k : {store_kind::device, store_kind::central})
    if (id == application_id_of(k) && k != expected) refuse_other_store(file, expected);
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%08x", static_cast<unsigned>(id));
  refuse(file, expected,
         "a SQLite database of another program (application_id " + std::string(hex) + ")");
}

std::int32_t read_application_id(database& db) {
  statement st(db, "PRAGMA application_id");
  return st.step() ? static_cast<std::int32_t>(st.integer(0)) : 0;
}

// What a store made before the ids is, by its tables and meta; nullopt for
// anything else.
std::optional<store_kind> legacy_kind(database& db) {
  std::set<std::string> tables;
  statement names(db, "SELECT name FROM sqlite_master WHERE type = 'table'");
  while (names.step()) tables.insert(names.text(0));
  // (Their cells table went with store formats 3 and 4, whose ids are stamped.)
  if (!tables.count("meta") || !tables.count("records")) return std::nullopt;
  statement meta(db,
                 "SELECT (SELECT value FROM meta WHERE key = 'role'), "
                 "(SELECT count(*) FROM meta WHERE key IN ('store_format', 'node'))");
  meta.step();
  const bool has_role = meta.type(0) != statement::column_type::null;
  if (has_role && meta.type(0) == statement::column_type::text && meta.text(0) == "havend")
    return store_kind::central;
  if (!has_role && meta.integer(1) == 2) return store_kind::device;
  return std::nullopt;
}

bool has_tables(database& db) {
  return statement(db, "SELECT 1 FROM sqlite_master LIMIT 1").step();
}

void stamp(database& db, store_kind k) {
  db.exec("PRAGMA application_id = " + std::to_string(application_id_of(k)));
}

}  // namespace

const std::filesystem::path& check_file(const std::filesystem::path& file, store_kind expected) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return file;
  if (std::filesystem::is_directory(file, ec)) refuse(file, expected, "a directory");
  if (!std::filesystem::is_regular_file(file, ec)) refuse(file, expected, "not a regular file");
  if (std::filesystem::file_size(file, ec) == 0 && !ec) return file;
  // Read through a read-only SQLite connection, not a file of our own: closing
  // any descriptor of the file would drop every POSIX lock this process holds
  // on it (SQLite's own connections defer that), and another process could
  // then take this one's WAL away.
  sqlite3* raw = nullptr;
  const int opened =
      sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  const std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, &sqlite3_close);
  if (opened != SQLITE_OK)
    throw failure(errc::store, "cannot read " + file.string() + " (" + sqlite3_errstr(opened) +
                                   "); nothing was changed");
  sqlite3_busy_timeout(db.get(), 5000);
  // The first column of the one row `sql` gives, or SQLite's error code.
  const auto query = [&](const char* sql, std::string& out) {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db.get(), sql, -1, &st, nullptr);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(st, 0);
      out = text ? reinterpret_cast<const char*>(text) : "";
      rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
  };
  std::string id_text, mode;
  const int rc = query("PRAGMA application_id", id_text);
  if (rc == SQLITE_NOTADB) refuse(file, expected, "not a SQLite database");
  if (rc != SQLITE_OK)
    throw failure(errc::store, "cannot read " + file.string() + " (" + sqlite3_errmsg(db.get()) +
                                   "); nothing was changed");
  const auto id = static_cast<std::int32_t>(std::stoll(id_text));
  if (id == application_id_of(expected)) return file;
  if (id != 0) refuse_application_id(file, expected, id);
  // Every Haven store is in WAL mode; one in another journal mode without an
  // id belongs to another program.
  if (query("PRAGMA journal_mode", mode) != SQLITE_OK || mode != "wal")
    refuse(file, expected, "a SQLite database of another program");
  return file;
}

bool claim(database& db, const std::filesystem::path& file, store_kind expected, bool stamp_empty) {
  if (read_application_id(db) == application_id_of(expected)) return false;
  transaction tx(db, transaction::kind::write);
  const std::int32_t id = read_application_id(db);  // again, under the write lock
  if (id == application_id_of(expected)) return false;
  if (id != 0) refuse_application_id(file, expected, id);
  if (!has_tables(db)) {
    if (stamp_empty) stamp(db, expected);
    tx.commit();
    return true;
  }
  const auto legacy = legacy_kind(db);
  if (!legacy) refuse(file, expected, "a SQLite database whose tables are not a Haven store's");
  if (*legacy != expected) refuse_other_store(file, expected);
  stamp(db, expected);  // a store from before the ids: recognised by its tables
  tx.commit();
  return false;
}

}  // namespace haven::sqlite

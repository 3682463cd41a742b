#include <sqlite3.h>

#include <haven/sqlite/sqlite.hpp>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace haven::sqlite {

void statement::finalizer::operator()(sqlite3_stmt* s) const noexcept {
  sqlite3_finalize(s);
}

statement::statement(database& db, std::string_view sql) : db_(db.handle()) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &raw, nullptr) != SQLITE_OK)
    db.fail("prepare " + std::string(sql.substr(0, 60)));
  stmt_.reset(raw);
}

namespace {
[[noreturn]] void fail_on(sqlite3* db, std::string_view context) {
  throw failure(errc::store, "store: " + std::string(context) + ": " + sqlite3_errmsg(db));
}

// Once per process, before its first connection:
// - SQLite counts every allocation under one global mutex unless told not
//   to; nothing here reads those counts, and havend's threads would contend
//   for it. Must come before SQLite initialises; later it is refused,
//   harmlessly.
// - glibc gives the top of its heap back to the system whenever more than
//   128 KiB of it is free, and SQLite frees a statement's journal when the
//   statement ends: every write paid a brk() to give the memory back (with a
//   TLB flush on every core) and page faults to take it again. Measured: 23k
//   brk() calls and 1.8 s of CPU for local-write 20000, 171 and 0.8 s with
//   a 1 MiB threshold (8 MiB did no better). Up to 1 MiB of free heap stays
//   with each of the process's malloc arenas.
void tune_process_once() {
  static const bool tuned = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
#if defined(__GLIBC__)
    mallopt(M_TRIM_THRESHOLD, 1 << 20);
#endif
    return true;
  }();
  (void)tuned;
}

}  // namespace

statement& statement::bind(int index, std::int64_t v) {
  if (sqlite3_bind_int64(stmt_.get(), index, v) != SQLITE_OK) fail_on(db_, "bind");
  return *this;
}
statement& statement::bind(int index, std::string_view text) {
  if (sqlite3_bind_text(stmt_.get(), index, text.data(), static_cast<int>(text.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK)
    fail_on(db_, "bind");
  return *this;
}
statement& statement::bind(int index, std::span<const std::uint8_t> blob) {
  if (sqlite3_bind_blob(stmt_.get(), index, blob.data(), static_cast<int>(blob.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK)
    fail_on(db_, "bind");
  return *this;
}
statement& statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_.get(), index) != SQLITE_OK) fail_on(db_, "bind");
  return *this;
}

bool statement::step() {
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail_on(db_, "step");
}

void statement::run() {
  while (step()) {
  }
}

void statement::reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

statement::column_type statement::type(int col) const {
  switch (sqlite3_column_type(stmt_.get(), col)) {
    case SQLITE_INTEGER:
      return column_type::integer;
    case SQLITE_FLOAT:
      return column_type::real;
    case SQLITE_TEXT:
      return column_type::text;
    case SQLITE_BLOB:
      return column_type::blob;
    default:
      return column_type::null;
  }
}
std::int64_t statement::integer(int col) const {
  return sqlite3_column_int64(stmt_.get(), col);
}
std::string statement::text(int col) const {
  const auto* p = sqlite3_column_text(stmt_.get(), col);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), col)))
           : std::string();
}
std::span<const std::uint8_t> statement::blob(int col) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_.get(), col));
  return {p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), col))};
}

database::database(const std::filesystem::path& file, mode m) {
  tune_process_once();
  if (m == mode::open_existing && !std::filesystem::exists(file))
    throw failure(errc::not_found, "no store at " + file.string());
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (m == mode::create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(file.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw failure(errc::store, "store: cannot open " + file.string() + ": " + why);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);
  try {
    exec(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA "
        "secure_delete=ON;");
  } catch (...) {
    cache_.clear();
    sqlite3_close(db_);
    throw;
  }
}

database::~database() {
  cache_.clear();  // statements first
  sqlite3_close(db_);
}

void database::exec(std::string_view sql) {
  const std::string text(sql);
  char* message = nullptr;
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string why = message ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    throw failure(errc::store, "store: " + why + " (in: " + text.substr(0, 60) + ")");
  }
}

statement& database::cached(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) it = cache_.emplace(sql, statement(*this, sql)).first;
  it->second.reset();
  return it->second;
}

void database::reset_cached() {
  for (auto& [_, st] : cache_) st.reset();
}

std::int64_t database::changes() const {
  return sqlite3_changes64(db_);
}

std::int64_t database::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

void database::fail(std::string_view context) const {
  fail_on(db_, context);
}

transaction::transaction(database& db, kind k, durability d) : db_(db) {
  // A cached statement left unfinished outside a transaction holds a read
  // snapshot, and a write would then fail with SQLITE_BUSY for good.
  db_.reset_cached();
  if (k == kind::write)
    db_.exec(d == durability::durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  db_.exec(k == kind::write ? "BEGIN IMMEDIATE" : "BEGIN");
  ++db_.transactions_;
}

transaction::~transaction() {
  if (!done_) {
    ++db_.rollbacks_;
    db_.reset_cached();
    try {
      db_.exec("ROLLBACK");
    } catch (...) {  // the connection is closing or already rolled back
    }
  }
}

void transaction::commit() {
  db_.reset_cached();
  db_.exec("COMMIT");
  done_ = true;
}

bool database::in_transaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

savepoint::savepoint(database& db) : db_(db) {
  if (!db_.in_transaction()) ++db_.transactions_;  // it is one of its own
  db_.exec("SAVEPOINT part");
}

savepoint::~savepoint() {
  if (done_) return;
  try {
    rollback();
  } catch (...) {  // the transaction rolled back already (SQLite does on some errors)
  }
}

void savepoint::release() {
  db_.exec("RELEASE part");
  done_ = true;
}

void savepoint::rollback() {
  done_ = true;
  ++db_.rollbacks_;
  db_.reset_cached();
  db_.exec("ROLLBACK TO part; RELEASE part");
}

}  // namespace haven::sqlite

#pragma once
// A thin RAII layer over SQLite, the only place Haven calls sqlite3_*.
// Errors throw haven::failure with errc::store and SQLite's message.
// A connection and its statements belong to one thread at a time.

#include <cstdint>
#include <filesystem>
#include <haven/core/result.hpp>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace haven::sqlite {

class database;

// Bytes held as chars (a packed value) seen as a blob to bind, and back.
inline std::span<const std::uint8_t> as_blob(std::string_view bytes) {
  return {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
}
inline std::string_view as_chars(std::span<const std::uint8_t> blob) {
  return {reinterpret_cast<const char*>(blob.data()), blob.size()};
}

// A prepared statement; finalised by its destructor. Movable, not copyable.
class statement {
 public:
  statement(database& db, std::string_view sql);
  statement(statement&&) noexcept = default;
  statement& operator=(statement&&) noexcept = default;

  // Bind parameter `index` (1-based). Strings and blobs are copied.
  statement& bind(int index, std::int64_t v);
  statement& bind(int index, std::string_view text);
  statement& bind(int index, std::span<const std::uint8_t> blob);
  statement& bind_null(int index);
  // The value, or NULL for none.
  statement& bind(int index, std::optional<std::int64_t> v) {
    return v ? bind(index, *v) : bind_null(index);
  }

  // Advances to the next row: true if there is one, false when done.
  bool step();
  // Runs a statement that returns no rows.
  void run();
  // Clears the bindings and rewinds, ready to run again.
  void reset();

  enum class column_type { integer, real, text, blob, null };
  column_type type(int col) const;
  std::int64_t integer(int col) const;
  std::string text(int col) const;
  std::span<const std::uint8_t> blob(int col) const;  // valid until the next step/reset

 private:
  struct finalizer {
    void operator()(sqlite3_stmt* s) const noexcept;
  };
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, finalizer> stmt_;
};

// A connection. Not thread-safe.
class database {
 public:
  enum class mode { open_existing, create };
  // Opens the file (creating it with mode::create), in WAL mode with full
  // synchronous commits, foreign keys on, a busy timeout, and secure_delete
  // (deleted content is overwritten with zeros, not left in free pages).
  // Throws errc::not_found if it does not exist and mode is open_existing.
  database(const std::filesystem::path& file, mode m);
  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  // Runs one or more statements that return no rows.
  void exec(std::string_view sql);
  // A cached prepared statement for a hot path, reset and ready to bind.
  // Requires: `sql` outlives the database (a literal), and the statement is
  // used inside a transaction, whose end resets it: a statement left
  // mid-result would otherwise keep its read snapshot and stop WAL checkpoints.
  statement& cached(const char* sql);
  // Resets every cached statement (their results are over).
  void reset_cached();
  std::int64_t changes() const;
  // The rowid of the row the last successful INSERT on this connection added.
  std::int64_t last_insert_rowid() const;
  // How many transactions (and savepoints) on this connection have rolled
  // back: what was cached from inside one of them may be gone.
  std::uint64_t rollbacks() const { return rollbacks_; }
  // How many transactions this connection has begun: while one write
  // transaction lasts, no other connection commits.
  std::uint64_t transactions() const { return transactions_; }
  // Whether a transaction is open: SQLite ends one itself on some errors
  // (a full disk, out of memory), which a savepoint's rollback then cannot undo.
  bool in_transaction() const;
  sqlite3* handle() const { return db_; }
  // Throws errc::store describing the connection's last error, with context.
  [[noreturn]] void fail(std::string_view context) const;

 private:
  friend class transaction;
  friend class savepoint;
  sqlite3* db_ = nullptr;
  std::map<const char*, statement> cache_;
  std::uint64_t rollbacks_ = 0;
  std::uint64_t transactions_ = 0;
};

// Begins in the constructor (write: BEGIN IMMEDIATE, taking the write lock
// at once; read: BEGIN, a consistent snapshot for several queries); rolled
// back by the destructor unless commit() was called.
class transaction {
 public:
  enum class kind { write, read };
  // durable: the commit is on disk when commit() returns (fsync). relaxed:
  // it survives a crash of the process but may be lost with the machine's
  // power, all or nothing - for what can be fetched again (pulled changes,
  // cursors).
  enum class durability { durable, relaxed };
  explicit transaction(database& db, kind k = kind::write, durability d = durability::durable);
  ~transaction();
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  void commit();

 private:
  database& db_;
  bool done_ = false;
};

// SAVEPOINT ... RELEASE: inside a transaction, the part of it since the
// savepoint began (the transaction goes on after either end); outside one,
// a transaction of its own (released: committed). Rolled back by the
// destructor unless released. A rollback counts in database::rollbacks(),
// as a transaction's does, since what was cached from that part may be gone.
class savepoint {
 public:
  explicit savepoint(database& db);
  ~savepoint();
  savepoint(const savepoint&) = delete;
  savepoint& operator=(const savepoint&) = delete;
  void release();
  // Rolls back now; throws errc::store if SQLite cannot (the part may then be
  // left in the transaction: the caller must not commit it).
  void rollback();

 private:
  database& db_;
  bool done_ = false;
};

}  // namespace haven::sqlite

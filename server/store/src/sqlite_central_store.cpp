// The embedded SQLite central store: one writer connection behind a mutex
// (SQLite has one writer at a time anyway) and a pool of reader connections,
// so pulls read a committed snapshot without waiting for a push's fsync.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <haven/core/clock.hpp>
#include <haven/server/central_store.hpp>
#include <haven/server/tally_book.hpp>
#include <haven/sqlite/cell_table.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <haven/sqlite/store_identity.hpp>
#include <haven/sync/validate.hpp>
#include <map>
#include <mutex>
#include <thread>

namespace haven::server {
namespace {

// 1: records and cells keyed by the 16-byte id and the key's text; 2: the
// layout of sqlite::cell_table with a row a cell (integer ids, interned
// names); 3: records know the log position of their latest cell, by team;
// 4: a record's cells packed in its row.
constexpr std::int64_t store_format = 4;
// records_by_team_log: a team's records in log order (last_seq, the largest
// seq of a record's cells), so that a pull reads its own team's records only.
constexpr const char* team_log_sql =
    "CREATE INDEX IF NOT EXISTS records_by_team_log ON records(team, last_seq) WHERE last_seq IS "
    "NOT NULL";
// The writer's page cache: large enough for the indexes of a national store
// (64 MiB), since a push seeks records and tally cells all over them.
constexpr const char* cache_pragma =
    "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 16384; PRAGMA journal_size_limit = "
    "67108864";
// A reader's: pulls walk the log in order and reports read a few tally rows,
// so 8 MiB each keeps havend's memory flat however much a device pulls (the
// operating system's cache holds the file as well).
constexpr const char* reader_cache_pragma = "PRAGMA cache_size = -8192";

using sqlite::bytes;

// Reader connections handed out one per pull, each with its cell table
// (which keeps the store's names between pulls).
class reader_pool {
  struct reader {
    explicit reader(const std::filesystem::path& file)
        : db(file, sqlite::database::mode::open_existing) {
      db.exec(reader_cache_pragma);
    }
    sqlite::database db;
    sqlite::cell_table table{db};
  };

 public:
  reader_pool(const std::filesystem::path& file, std::size_t n) {
    for (std::size_t i = 0; i < std::max<std::size_t>(n, 1); ++i)
      free_.push_back(std::make_unique<reader>(file));
  }

  class lease {
   public:
    lease(reader_pool& pool, std::unique_ptr<reader> r) : pool_(pool), reader_(std::move(r)) {}
    ~lease() { pool_.give_back(std::move(reader_)); }
    sqlite::database& operator*() { return reader_->db; }
    sqlite::cell_table& table() { return reader_->table; }

   private:
    reader_pool& pool_;
    std::unique_ptr<reader> reader_;
  };

  lease take() {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return !free_.empty(); });
    auto r = std::move(free_.back());
    free_.pop_back();
    return lease(*this, std::move(r));
  }

 private:
  void give_back(std::unique_ptr<reader> r) {
    {
      std::lock_guard lock(mutex_);
      free_.push_back(std::move(r));
    }
    available_.notify_one();
  }

  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<reader>> free_;  // guarded by mutex_
};

class sqlite_central_store final : public central_store {
 public:
  sqlite_central_store(const std::filesystem::path& file, std::shared_ptr<const schema> s,
                       sqlite_store_options o)
      : file_(sqlite::check_file(file, sqlite::store_kind::central)),
        schema_(std::move(s)),
        limits_(o.limits),
        today_(o.today ? o.today : &today_utc),
        db_(file, sqlite::database::mode::create),
        table_(db_),
        tally_(prepare(), schema_, today_),
        readers_(file, o.readers),
        recount_part_(std::max<std::size_t>(o.recount_part, 1)),
        on_recount_(std::move(o.on_recount)) {
    start_recount_if_needed();
    if (!recounting_) return;
    if (o.recount == sqlite_store_options::recount_mode::before_open) {
      recount();
      return;
    }
    recounter_ = std::thread([this] {
      try {
        recount();
      } catch (const std::exception& e) {  // what the reports say from then on
        const auto* f = dynamic_cast<const failure*>(&e);
        const error why = f ? f->err() : error{errc::store, e.what(), {}};
        {
          std::lock_guard lock(write_mutex_);
          recount_failure_ = why;
        }
        if (on_recount_) on_recount_({0, 0, false, why.message});
      }
    });
  }
  ~sqlite_central_store() override {
    stop_recount_ = true;
    if (recounter_.joinable()) recounter_.join();
  }

  device_info admit(const sync::peer& p, std::int64_t now_ms) override {
    const auto lock = lock_store();
    sqlite::transaction tx(db_, sqlite::transaction::kind::write,
                           sqlite::transaction::durability::relaxed);
    db_.cached(
           "INSERT INTO devices(device_id, team, node, acked_seq, first_seen_ms, last_seen_ms) "
           "VALUES (?1, ?2, ?3, 0, ?4, ?4) ON CONFLICT(device_id) DO UPDATE SET "
           "team = excluded.team, node = excluded.node, last_seen_ms = excluded.last_seen_ms")
        .bind(1, std::string_view(p.device_id))
        .bind(2, std::string_view(p.team))
        .bind(3, static_cast<std::int64_t>(p.node))
        .bind(4, now_ms)
        .run();
    tx.commit();
    return *find_device(p.device_id);
  }

  // Pushes that arrive while another group commits wait, and commit together
  // in the next group (see write_group): one commit, and one write of each
  // page they share, for all of them.
  push_result push(const sync::peer& p, const sync::push_batch& batch,
                   std::int64_t now_ms) override {
    for (const auto& change : batch.changes) check(change);
    queued_push me{p, batch, now_ms, {}, {}, false};
    std::unique_lock queue(queue_mutex_);
    queue_.push_back(&me);
    group_done_.wait(queue, [&] { return me.done || !group_writing_; });
    if (!me.done) {  // this thread writes the next group: every push waiting now
      std::vector<queued_push*> group;
      group.swap(queue_);
      group_writing_ = true;
      queue.unlock();
      std::exception_ptr lost;  // the group's, should write_group itself throw
      try {
        write_group(group);
      } catch (...) {
        lost = std::current_exception();
      }
      queue.lock();
      for (queued_push* q : group) {
        if (lost && !q->failed) q->failed = lost;
        q->done = true;
      }
      group_writing_ = false;
      group_done_.notify_all();
    }
    if (me.failed) std::rethrow_exception(me.failed);
    return me.result;
  }

  sync::change_batch pull(std::string_view team, sync::node_id skip_node, std::uint64_t since,
                          std::uint32_t max_cells) override {
    auto lease = readers_.take();
    sqlite::database& db = *lease;
    sqlite::transaction snapshot(db, sqlite::transaction::kind::read);
    auto& head = db.cached("SELECT value FROM meta WHERE key = 'head'");
    const std::uint64_t head_seq = head.step() ? static_cast<std::uint64_t>(head.integer(0)) : 0;
    head.reset();
    // A cursor beyond the log's head comes from a store that has since been
    // replaced (restored from a backup): the device pulls everything again.
    if (since > head_seq) since = 0;
    // A device is spared the cells its own node wrote only while that node
    // has been no other device's: a store enrolled again under the node of an
    // earlier enrollment (as releases before wipes drew new node ids did) has
    // lost those cells, and merging one it still holds again changes nothing.
    auto& owners = db.cached("SELECT count(*) FROM devices WHERE node = ?");
    owners.bind(1, static_cast<std::int64_t>(skip_node));
    if (skip_node != 0 && owners.step() && owners.integer(0) > 1) skip_node = 0;
    owners.reset();
    // The team's records changed since the cursor, in the order of their
    // latest cell, each whole: once the records up to log position p are
    // read, so is every cell of the team up to p. (Only a record's cells
    // changed since the cursor would lose a cell written before the cursor
    // to a record changed again after it, which the device never had.)
    // So a batch never ends inside a record: read_log stops before the
    // next record (no LIMIT could tell where that is, since a record with a
    // set field has a cell per code).
    static const std::string sql =
        std::string(sqlite::log_select) +
        "WHERE r.team = (SELECT id FROM names WHERE name = ?2) AND r.last_seq > ?1 "
        "AND r.last_seq <= ?3 ORDER BY r.last_seq";
    auto& st = db.cached(sql.c_str());
    st.bind(1, static_cast<std::int64_t>(since))
        .bind(2, team)
        .bind(3, static_cast<std::int64_t>(head_seq));
    auto log = lease.table().read_log(
        st, max_cells, limits_.max_records,
        [&](const sqlite::stored_cell& c) { return c.at.node != skip_node; });
    st.reset();
    snapshot.commit();
    sync::change_batch batch;
    batch.changes = std::move(log.changes);
    batch.more = log.cut;
    batch.up_to = batch.more ? log.last_seq : std::max(since, head_seq);
    return batch;
  }

  void synced(std::string_view device_id, std::int64_t now_ms) override {
    const auto lock = lock_store();
    sqlite::transaction tx(db_, sqlite::transaction::kind::write,
                           sqlite::transaction::durability::relaxed);
    db_.cached("UPDATE devices SET last_sync_ms = ?2, last_seen_ms = ?2 WHERE device_id = ?1")
        .bind(1, device_id)
        .bind(2, now_ms)
        .run();
    tx.commit();
  }

  std::optional<device_info> device(std::string_view device_id) override {
    const auto lock = lock_store();
    return find_device(device_id);
  }

  std::vector<device_info> devices() override {
    const auto lock = lock_store();
    sqlite::transaction snapshot(db_, sqlite::transaction::kind::read);
    std::vector<device_info> out;
    auto& st = db_.cached(
        "SELECT device_id, team, node, acked_seq, first_seen_ms, last_seen_ms, last_sync_ms FROM "
        "devices "
        "ORDER BY team, device_id");
    while (st.step()) out.push_back(read_device(st));
    snapshot.commit();
    return out;
  }

  std::vector<team_sync> team_syncs(std::string_view record_type) override {
    const auto lock = lock_store();
    sqlite::transaction snapshot(db_, sqlite::transaction::kind::read);
    // The type's teams by skipping through records_by_type_team (one index
    // seek a team, however many records), then each team's latest sync.
    auto& st = db_.cached(
        "WITH RECURSIVE y(type) AS (SELECT id FROM names WHERE name = ?1), t(team) AS ("
        " SELECT (SELECT min(team) FROM records WHERE type = (SELECT type FROM y))"
        " UNION ALL SELECT (SELECT min(team) FROM records WHERE type = (SELECT type FROM y)"
        " AND team > t.team) FROM t WHERE t.team IS NOT NULL) "
        "SELECT m.name, (SELECT max(last_sync_ms) FROM devices d WHERE d.team = m.name) "
        "FROM t JOIN names m ON m.id = t.team ORDER BY m.name");
    st.bind(1, record_type);
    std::vector<team_sync> out;
    while (st.step()) {
      team_sync t{st.text(0), std::nullopt};
      if (st.type(1) != sqlite::statement::column_type::null) t.last_sync_ms = st.integer(1);
      out.push_back(std::move(t));
    }
    snapshot.commit();
    return out;
  }

  std::uint64_t device_count() override {
    const auto lock = lock_store();
    auto& st = db_.cached("SELECT count(*) FROM devices");
    st.step();
    const auto n = static_cast<std::uint64_t>(st.integer(0));
    st.reset();
    return n;
  }

  log_counts counts() override {
    const auto lock = lock_store();
    if (!counted_) {  // once: every push keeps them from then on
      sqlite::transaction snapshot(db_, sqlite::transaction::kind::read);
      log_counts c;
      auto& records = db_.cached("SELECT count(*), coalesce(sum(deleted), 0) FROM records");
      records.step();
      c.records = static_cast<std::uint64_t>(records.integer(0));
      c.deleted_records = static_cast<std::uint64_t>(records.integer(1));
      records.reset();
      c.cells = table_.cell_count();
      snapshot.commit();
      counted_ = c;
    }
    log_counts c = *counted_;
    c.head = head_;
    std::error_code ec;
    for (const char* suffix : {"", "-wal"}) {
      const auto n = std::filesystem::file_size(file_.string() + suffix, ec);
      if (!ec) c.bytes += n;
    }
    return c;
  }

  result<std::vector<tally::stored_amount>> amounts(std::string_view id,
                                                    tally::tally_period period) override {
    const auto lock = lock_store();
    if (recount_failure_)
      return error{errc::store,
                   "tally: counting the tallies again failed (" + recount_failure_->message +
                       "); restart havend to try again",
                   {}};
    sqlite::transaction snapshot(db_, sqlite::transaction::kind::read);
    auto out = tally_.amounts(id, period);
    snapshot.commit();
    return out;
  }

  void refresh() override {
    const auto lock = lock_store();
    sqlite::transaction tx(db_);
    tally_.refresh_open_stays([this](std::int64_t rid) -> std::optional<tally_book::stored_record> {
      const auto row = table_.row(rid);
      if (!row || row->deleted) return std::nullopt;
      return tally_book::stored_record{row->type, sync::fields_from_cells(table_.cells(rid))};
    });
    tx.commit();
  }

 private:
  // A push waiting for its group's commit, on its caller's stack.
  struct queued_push {
    const sync::peer& device;
    const sync::push_batch& batch;
    std::int64_t now_ms;
    push_result result;
    std::exception_ptr failed;
    bool done = false;  // guarded by queue_mutex_
  };

  // Writes a group of pushes in one transaction, each in a savepoint of its
  // own: a batch refused (or failing) rolls back alone, with the log
  // positions it took, and the others commit. If the commit fails, every
  // push of the group fails and nothing of it is stored.
  void write_group(const std::vector<queued_push*>& group) {
    const auto lock = lock_store();
    const std::uint64_t head_before = head_;
    log_counts grown;
    try {
      sqlite::transaction tx(db_);
      for (queued_push* q : group) {
        const std::uint64_t head_before_batch = head_;
        sqlite::savepoint batch(db_);
        try {
          const log_counts g = merge_batch(*q);
          batch.release();
          add_growth(grown, g);
        } catch (...) {
          head_ = head_before_batch;
          q->failed = std::current_exception();
          // Some errors (a full disk) end the whole transaction: the group fails,
          // as it does when the batch's part cannot be rolled back.
          if (!db_.in_transaction()) throw;
          batch.rollback();
        }
      }
      set_head();
      tx.commit();
    } catch (...) {
      head_ = head_before;
      for (queued_push* q : group)
        if (!q->failed) q->failed = std::current_exception();
      return;
    }
    if (counted_) add_growth(*counted_, grown);
    for (queued_push* q : group) {
      q->result.head = head_;
      q->result.group = group.size();
    }
  }

  // One push batch's changes merged, its tally updated and its device's
  // cursor moved, in the caller's transaction; sets its result but for the
  // head (the group's after its commit). Returns what the log's counts grow
  // by. Requires: write_mutex_ held, inside a write transaction.
  log_counts merge_batch(queued_push& q) {
    push_result& out = q.result;
    // Records whose state changed, each once, in the order first changed.
    std::map<sync::record_id, touched_record> touched;
    std::vector<sync::record_id> order;
    sqlite::cell_table::merged_record state, before;
    for (const auto& change : q.batch.changes) {
      const auto stats = table_.merge(
          change, [&] { return static_cast<std::int64_t>(++head_); }, &state, &before);
      out.stats += stats;
      auto it = touched.find(change.id);
      if (it == touched.end()) {
        if (stats.applied == 0 && !stats.record_created) continue;
        // Its first change in the batch that changed it: what the tally counted before.
        it = touched
                 .emplace(change.id,
                          touched_record{change.type, stats.record_created, std::move(before), {}})
                 .first;
        order.push_back(change.id);
      }
      it->second.state = std::move(state);
    }
    update_tally(order, touched);
    db_.cached(
           "UPDATE devices SET acked_seq = max(acked_seq, ?2), last_seen_ms = ?3 WHERE device_id "
           "= ?1")
        .bind(1, std::string_view(q.device.device_id))
        .bind(2, static_cast<std::int64_t>(q.batch.last_seq))
        .bind(3, q.now_ms)
        .run();
    out.acked_seq = find_device(q.device.device_id).value_or(device_info{}).acked_seq;
    return growth(touched);
  }

  // Creates the tables of a new store, or checks an existing one; returns the
  // writer connection for the tally book to build on.
  sqlite::database& prepare() {
    db_.exec(cache_pragma);
    sqlite::claim(db_, file_, sqlite::store_kind::central, true);
    sqlite::transaction tx(db_);
    if (!sqlite::statement(db_, "SELECT 1 FROM sqlite_master WHERE name = 'meta'").step()) {
      db_.exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value ANY) STRICT");
      sqlite::cell_table::create(db_);
      db_.exec(
          "CREATE TABLE devices(device_id TEXT PRIMARY KEY, team TEXT NOT NULL, node INTEGER NOT "
          "NULL,"
          " acked_seq INTEGER NOT NULL, first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT "
          "NULL,"
          " last_sync_ms INTEGER) STRICT;"
          "INSERT INTO meta(key, value) VALUES ('role', 'havend'), ('head', 0);");
      db_.cached("INSERT INTO meta(key, value) VALUES ('store_format', ?)")
          .bind(1, store_format)
          .run();
    }
    sqlite::statement meta(db_,
                           "SELECT (SELECT value FROM meta WHERE key = 'role'), "
                           "(SELECT value FROM meta WHERE key = 'store_format'), "
                           "(SELECT value FROM meta WHERE key = 'head')");
    meta.step();
    if (meta.text(0) != "havend")
      throw failure(errc::store, file_.string() + " is not a havend store (is it a device store?)");
    const std::int64_t format = meta.integer(1);
    head_ = static_cast<std::uint64_t>(meta.integer(2));
    meta.reset();
    if (format > store_format)
      throw failure(errc::store, file_.string() + ": store format " + std::to_string(format) +
                                     " was written by a newer havend than this one (which reads "
                                     "format " +
                                     std::to_string(store_format) +
                                     " and older); nothing was changed: update havend");
    // In this transaction: a crash leaves the store in the format it had.
    if (format == 1) {
      db_.exec("DROP INDEX IF EXISTS records_by_team; DROP INDEX IF EXISTS records_by_type_team");
      sqlite::cell_table::migrate_from_format_1(db_);
    } else if (format < store_format) {
      sqlite::cell_table::migrate_from_format_2(db_);
    }
    if (format < store_format) {
      // log_head: what a havend of format 3 kept; a format-3 havend still
      // running cannot write a store of this format (its cells table is gone).
      db_.exec("DELETE FROM meta WHERE key = 'log_head'");
      db_.cached("UPDATE meta SET value = ? WHERE key = 'store_format'")
          .bind(1, store_format)
          .run();
    }
    // For pulls, and for team_syncs.
    db_.exec(team_log_sql);
    db_.exec("CREATE INDEX IF NOT EXISTS records_by_type_team ON records(type, team)");
    tx.commit();
    return db_;
  }

  // Updates the tally for records whose merged state changed, in one batch
  // (a record listed twice counts by its final state either way); refuses
  // (errc::invalid_input, before the tally changes) a record of `created` whose state as this batch
  // made it breaks a cross-field rule of its type (a person for a group session, participants 3 for
  // an individual one, a stay longer than its maximum). Nothing is required of it, since a device
  // may push a record's cells in two batches. Edits are not checked: one merged with another
  // device's concurrent edit can break a rule that each device's state kept (a person set on one,
  // the format changed to group on the other), and refusing it would leave both devices unable to
  // sync. Requires: write_mutex_ held, inside the write transaction.
  struct touched_record {
    std::string type;
    bool created = false;                      // by this batch
    sqlite::cell_table::merged_record before;  // before the batch
    sqlite::cell_table::merged_record state;   // after it
  };
  // What a batch's touched records add to the records, deleted records and
  // cells (each may be negative: a deletion keeps one cell of a record).
  static log_counts growth(const std::map<sync::record_id, touched_record>& touched) {
    log_counts grown;  // unsigned: a fall wraps, and wraps back when added
    for (const auto& [id, r] : touched) {
      grown.records += r.created;
      grown.deleted_records += std::uint64_t{r.state.deleted} - std::uint64_t{r.before.deleted};
      grown.cells += std::uint64_t{r.state.cells.size()} - std::uint64_t{r.before.cells.size()};
    }
    return grown;
  }

  // Adds what the records, deleted records and cells grew by to `counts`.
  static void add_growth(log_counts& counts, const log_counts& grown) {
    counts.records += grown.records;
    counts.deleted_records += grown.deleted_records;
    counts.cells += grown.cells;
  }
  void update_tally(const std::vector<sync::record_id>& ids,
                    const std::map<sync::record_id, touched_record>& touched) {
    std::vector<field_map> fields;
    std::vector<tally_book::change> changes;
    fields.reserve(2 * ids.size());  // no reallocation: changes point into it
    // A record's fields, or nullptr for none (deleted, or not stored).
    const auto fields_of = [&](const sqlite::cell_table::merged_record& r) -> const field_map* {
      if (r.deleted || r.cells.empty()) return nullptr;
      return &fields.emplace_back(sync::fields_from_cells(r.cells));
    };
    for (const auto& id : ids) {
      const touched_record& r = touched.at(id);
      const field_map *before = fields_of(r.before), *after = fields_of(r.state);
      changes.push_back({r.state.rid, r.type, before, after});
      if (after && r.created) check_created(id, r.type, *after);
    }
    tally_.update(changes);
  }

  void check_created(const sync::record_id& id, const std::string& type,
                     const field_map& fields) const {
    const record_type* t = schema_->type(type);
    if (!t) return;  // check() refused it already
    if (const auto issues = t->validate(fields, tomorrow(), record_type::extent::part);
        !issues.empty())
      refuse(id, type, issues);
  }

  [[noreturn]] void refuse(const sync::record_id& id, std::string_view type,
                           const std::vector<field_issue>& issues) const {
    throw failure(errc::invalid_input,
                  "refused: " + sync::describe_issues(*schema_, id, type, issues) +
                      "; nothing of this push was saved");
  }

  // write_mutex_, before the recount's next part: a mutex is not fair, and
  // the recount would often take it again before a push or a report
  // waiting for it.
  std::unique_lock<std::mutex> lock_store() {
    ++waiting_for_store_;
    std::unique_lock lock(write_mutex_);
    --waiting_for_store_;
    return lock;
  }

  // Starts a recount of the tally from the records when its declarations
  // changed since it was last kept (a new schema, or a new engine).
  void start_recount_if_needed() {
    std::lock_guard lock(write_mutex_);
    sqlite::transaction tx(db_);
    if (tally_.needs_replay()) tally_.reset();
    recounting_ = tally_.recounted_to().has_value();
    tx.commit();
  }

  // Counts the records the recount has not passed, a part per transaction,
  // until it has passed them all or the store closes.
  void recount() {
    for (bool done = false; !done && !stop_recount_;) {
      while (waiting_for_store_ > 0 && !stop_recount_)  // they go first (lock_store)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      recount_progress progress;
      {
        std::lock_guard lock(write_mutex_);
        sqlite::transaction tx(db_);
        progress = recount_part();
        tx.commit();
        done = progress.done;
      }
      if (on_recount_) on_recount_(progress);
    }
  }

  // The next part of the recount: the records after recounted_to(), live
  // ones counted as new; ends the recount when it reads the last record.
  recount_progress recount_part() {
    // None: another process (a havend command) ended the recount meanwhile.
    const std::optional<std::int64_t> recounted = tally_.recounted_to();
    if (!recounted) return {0, 0, true, {}};
    const std::int64_t from = *recounted;
    // Each record's type and cells with its row, where the live ones were
    // read again one by one.
    auto& next = db_.cached(
        "SELECT r.rid, r.id, r.deleted, t.name, r.cells, (SELECT max(rid) FROM records) FROM "
        "records r JOIN names t ON t.id = r.type WHERE r.rid > ?1 ORDER BY r.rid LIMIT ?2");
    next.bind(1, from).bind(2, static_cast<std::int64_t>(recount_part_));
    std::vector<sync::record_id> ids;
    std::map<sync::record_id, touched_record> records;
    recount_progress progress{from, from, false, {}};
    std::size_t read = 0;
    while (next.step()) {
      ++read;
      progress.counted_to = next.integer(0);
      progress.last = next.integer(5);
      if (next.integer(2) != 0) continue;  // deleted: counted nowhere
      ids.push_back(sqlite::read_id(next, 1));
      records.emplace(
          ids.back(),
          touched_record{
              next.text(3), false, {}, {progress.counted_to, false, table_.read_cells(next, 4)}});
    }
    next.reset();
    if (read > 0) tally_.recount_to(progress.counted_to);
    update_tally(ids, records);
    if (read < recount_part_) {
      tally_.end_recount();
      progress.done = true;
    }
    return progress;
  }

  // Refuses a change the central store must never hold.
  // Every cell as the devices' own validator would take it; tomorrow in UTC
  // is today somewhere a device may be.
  void check(const sync::record_change& change) const {
    if (const auto issues = sync::check_change(*schema_, change, tomorrow()); !issues.empty())
      refuse(change.id, change.type, issues);
  }

  date tomorrow() const { return date{today_().days + 1}; }

  void set_head() {
    db_.cached("UPDATE meta SET value = ? WHERE key = 'head'")
        .bind(1, static_cast<std::int64_t>(head_))
        .run();
  }

  static device_info read_device(const sqlite::statement& st) {
    device_info d{st.text(0),
                  st.text(1),
                  static_cast<sync::node_id>(st.integer(2)),
                  static_cast<std::uint64_t>(st.integer(3)),
                  st.integer(4),
                  st.integer(5),
                  std::nullopt};
    if (st.type(6) != sqlite::statement::column_type::null) d.last_sync_ms = st.integer(6);
    return d;
  }

  // Requires: write_mutex_ held.
  std::optional<device_info> find_device(std::string_view id) {
    auto& st = db_.cached(
        "SELECT device_id, team, node, acked_seq, first_seen_ms, last_seen_ms, last_sync_ms FROM "
        "devices "
        "WHERE device_id = ?");
    st.bind(1, id);
    std::optional<device_info> out;
    if (st.step()) out = read_device(st);
    st.reset();  // called outside transactions too: an unfinished statement would hold a read
                 // snapshot
    return out;
  }

  std::filesystem::path file_;
  std::shared_ptr<const schema> schema_;
  sync::frame_limits limits_;
  tally_book::clock today_;
  std::mutex write_mutex_;
  sqlite::database db_;       // guarded by write_mutex_
  sqlite::cell_table table_;  // guarded by write_mutex_
  std::uint64_t head_ = 0;    // guarded by write_mutex_
  // The records, deleted records and cells: counted by the first counts()
  // (a scan of every record), then kept by each push. Guarded by write_mutex_.
  std::optional<log_counts> counted_;
  tally_book tally_;  // guarded by write_mutex_
  reader_pool readers_;
  const std::size_t recount_part_;
  const std::function<void(const recount_progress&)> on_recount_;
  bool recounting_ = false;               // when opened
  std::optional<error> recount_failure_;  // guarded by write_mutex_
  std::atomic<bool> stop_recount_{false};
  std::atomic<int> waiting_for_store_{0};  // in lock_store(), waiting for write_mutex_
  // The pushes waiting for the next group, and whether a group is being written.
  std::mutex queue_mutex_;
  std::condition_variable group_done_;
  std::vector<queued_push*> queue_;  // guarded by queue_mutex_
  bool group_writing_ = false;       // guarded by queue_mutex_
  std::thread recounter_;            // last: joined before the rest is destroyed
};

}  // namespace

std::unique_ptr<central_store> open_sqlite_store(const std::filesystem::path& file,
                                                 std::shared_ptr<const schema> record_schema,
                                                 sqlite_store_options options) {
  return std::make_unique<sqlite_central_store>(file, std::move(record_schema), std::move(options));
}

}  // namespace haven::server

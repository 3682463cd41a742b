#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <haven/client/store.hpp>
#include <haven/core/clock.hpp>
#include <haven/core/hex.hpp>
#include <haven/crypto/crypto.hpp>
#include <haven/sqlite/cell_table.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <haven/sqlite/store_identity.hpp>
#include <haven/sync/validate.hpp>
#include <set>
#include <system_error>
#include <thread>
#include <variant>

namespace haven::client {
namespace {

// 1: records and cells keyed by the 16-byte id and the key's text; 2: the
// layout of sqlite::cell_table with a row a cell (integer ids, interned
// names); 3: a record's cells packed in its row, which knows the seq of its
// latest local cell (records_by_seq, the outbox's order).
constexpr std::int64_t store_format = 3;
constexpr const char* outbox_index_sql =
    "CREATE INDEX records_by_seq ON records(last_seq) WHERE last_seq IS NOT NULL";

using sqlite::bytes;
constexpr auto relaxed = sqlite::transaction::durability::relaxed;
using sqlite::read_id;
// The page cache (16 MiB; SQLite's default is 2 MiB). A pull adds records
// with random ids all over the records' id index: with the index of a million
// pulled cells (about 4 MiB) in memory, a batch's merge finds its pages there
// instead of reading them again, and no dirty page is spilled before the
// commit. Bounded, so a device's memory stays flat however much it pulls.
constexpr const char* cache_pragma = "PRAGMA cache_size = -16384";
// WAL checkpoints once the log holds 4,096 pages (16 MiB; SQLite's default is
// 1,000). A pulled batch adds records all over the records' id index, so its
// commit logs most of the index's leaf pages again; a checkpoint copies each
// page once however often the log holds it, and syncs twice: after every 4 MiB
// it copied (and synced) almost every batch, now every fourth or so (apply
// 160000: 4.3 s to 2.5 s). The log file is cut back to 16 MiB when a
// checkpoint rewinds it after a larger transaction. Durability is the commits'
// own (sqlite::transaction), not the checkpoints'.
constexpr const char* checkpoint_pragma =
    "PRAGMA wal_autocheckpoint = 4096; PRAGMA journal_size_limit = 16777216";

error invalid(std::string message, std::vector<field_issue> issues) {
  return error{errc::invalid_input, std::move(message), std::move(issues)};
}

// Test-only, for tests/e2e/crash_test.cpp: when HAVEN_TEST_HOLD_IN_TRANSACTION
// names a file, a write transaction creates that file after its writes, before
// it commits, and waits there (a minute at most) for the test to kill the
// process. Inert when the variable is not set.
void hold_in_transaction_if_asked() {
  static const char* const marker = std::getenv("HAVEN_TEST_HOLD_IN_TRANSACTION");
  if (!marker || !*marker) return;
  std::ofstream{marker}.flush();
  std::this_thread::sleep_for(std::chrono::minutes(1));
}

std::string type_list(const schema& s) {
  std::string out;
  for (const auto& t : s.types()) out += (out.empty() ? "" : ", ") + t.name;
  return out;
}

}  // namespace

struct store::impl {
  sqlite::database db;
  sqlite::cell_table table{db};
  std::shared_ptr<const haven::schema> schema;
  sync::hlc_clock clock;
  sync::hlc_clock::physical_clock physical;
  std::uint64_t max_skew_ms;
  std::uint64_t server_ahead_ms = 0;  // how far the server's clock was ahead of this device's
  sync::node_id node = 0;
  std::string default_team;
  std::uint64_t local_seq = 0;
  // The outbox's cursors (see store::outbox): the server has every record
  // whose last_seq is at most acked_seq, and every local cell whose seq is
  // at most sent_seq. They part while the batches of a round are acknowledged
  // one by one.
  std::uint64_t acked_seq = 0;
  std::uint64_t sent_seq = 0;

  impl(const std::filesystem::path& file, sqlite::database::mode m, options& opts)
      : db(file, m),
        schema(opts.record_schema ? opts.record_schema : schema::builtin()),
        clock(opts.max_skew_ms, opts.clock),
        physical(opts.clock),
        max_skew_ms(opts.max_skew_ms) {
    db.exec(cache_pragma);
    db.exec(checkpoint_pragma);
  }

  // Runs fn() in one transaction. If it throws, the transaction rolls back
  // and the in-memory sequence counter with it (the clock may stay ahead: harmless).
  template <class F>
  auto in_transaction(F&& fn,
                      sqlite::transaction::durability d = sqlite::transaction::durability::durable)
      -> decltype(fn()) {
    const std::uint64_t seq = local_seq;
    try {
      sqlite::transaction tx(db, sqlite::transaction::kind::write, d);
      refresh();  // another process may have written since
      if constexpr (std::is_void_v<decltype(fn())>) {
        fn();
        hold_in_transaction_if_asked();
        tx.commit();
      } else {
        auto out = fn();
        hold_in_transaction_if_asked();
        tx.commit();
        return out;
      }
    } catch (...) {
      local_seq = seq;
      throw;
    }
  }

  // Runs fn() on one consistent snapshot of the store, with fresh counters.
  template <class F>
  auto in_snapshot(F&& fn) -> decltype(fn()) {
    sqlite::transaction tx(db, sqlite::transaction::kind::read);
    refresh();
    auto out = fn();
    tx.commit();
    return out;
  }

  // The store's sync state, from its counters and meta. Requires: inside a
  // snapshot (or transaction), counters refreshed.
  client::sync_state sync_state() {
    client::sync_state out;
    out.node = node;
    out.default_team = default_team;
    out.schema_version = schema->version();
    out.local_seq = local_seq;
    out.acked_seq = acked_seq;
    out.pulled_seq = static_cast<std::uint64_t>(meta_int("pulled_seq").value_or(0));
    out.last_sync_ms = meta_int("last_sync_ms");
    if (std::string id = meta_text("enrolled_device_id"); !id.empty())
      out.device_id = std::move(id);
    if (const std::string reason = meta_text("wiped_reason"); !reason.empty())
      out.wiped = wipe_mark{sync::parse_standing(reason).value_or(sync::standing::revoked),
                            meta_int("wiped_at_ms").value_or(0)};
    return out;
  }

  // The local cells the server has not acknowledged (the outbox), counted
  // in the records the outbox index finds.
  sqlite::cell_table::unsent_count unsent() { return table.unsent(acked_seq, sent_seq); }

  // Moves acked_seq to `seq`; sent_seq follows once no record is left past
  // it. A rewind (the server lost what it acknowledged after `seq`) takes
  // sent_seq back to 0: where it stood when `seq` was acknowledged is not
  // kept, and the records past `seq` are sent with all their local cells.
  // Requires: inside a transaction.
  void set_acked(std::uint64_t seq) {
    const bool rewind = seq < acked_seq;
    acked_seq = seq;
    set_meta("acked_seq", static_cast<std::int64_t>(seq));
    auto& later = db.cached("SELECT 1 FROM records WHERE last_seq > ? LIMIT 1");
    later.bind(1, static_cast<std::int64_t>(seq));
    const bool left = later.step();
    later.reset();
    if (!left || rewind) {
      sent_seq = left ? 0 : seq;
      set_meta("sent_seq", static_cast<std::int64_t>(sent_seq));
    }
  }

  // --- meta ---------------------------------------------------------------
  std::optional<std::int64_t> meta_int(const char* key) {
    auto& st = db.cached("SELECT value FROM meta WHERE key = ?");
    st.bind(1, std::string_view(key));
    if (!st.step() || st.type(0) != sqlite::statement::column_type::integer) return std::nullopt;
    return st.integer(0);
  }
  std::string meta_text(const char* key) {
    auto& st = db.cached("SELECT value FROM meta WHERE key = ?");
    st.bind(1, std::string_view(key));
    return st.step() ? st.text(0) : std::string();
  }
  void set_meta(const char* key, std::int64_t v) {
    db.cached("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)")
        .bind(1, std::string_view(key))
        .bind(2, v)
        .run();
  }
  void set_meta(const char* key, std::string_view v) {
    db.cached("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)")
        .bind(1, std::string_view(key))
        .bind(2, v)
        .run();
  }

  void load_meta() {
    if (!sqlite::statement(db, "SELECT 1 FROM sqlite_master WHERE name = 'meta'").step())
      throw failure(errc::store, "store: this file is not a Haven device store");
    const auto format = meta_int("store_format");
    if (!format) throw failure(errc::store, "store: this file is not a Haven store");
    if (*format < 1) throw failure(errc::store, "store: this file's store format is damaged");
    if (*format != store_format)
      throw failure(errc::store, "store: format " + std::to_string(*format) +
                                     " was written by a newer version of haven than this one "
                                     "(which reads format " +
                                     std::to_string(store_format) +
                                     " and older); nothing was changed: update haven");
    node = static_cast<sync::node_id>(meta_int("node").value_or(0));
    default_team = meta_text("default_team");
    // The newest schema a server sent, if newer than the one this build has.
    if (const std::string json = meta_text("schema_json"); !json.empty())
      if (auto adopted = schema::parse(json);
          adopted && adopted.value()->version() > schema->version())
        schema = std::move(adopted).value();
    refresh();
  }

  // Brings a store of an older format to this one, in one transaction: a
  // failure or a crash leaves it as it was. A newer format is left for
  // load_meta to refuse.
  void upgrade() {
    {
      sqlite::transaction snapshot(db, sqlite::transaction::kind::read);
      if (!sqlite::statement(db, "SELECT 1 FROM sqlite_master WHERE name = 'meta'").step() ||
          meta_int("store_format").value_or(store_format) >= store_format)
        return;  // load_meta says what is wrong with it, if anything
    }
    sqlite::transaction tx(db);
    const auto format = meta_int("store_format");
    if (!format || *format >= store_format) return;  // another process did it
    if (*format == 1)
      sqlite::cell_table::migrate_from_format_1(db);
    else
      sqlite::cell_table::migrate_from_format_2(db);
    db.exec(outbox_index_sql);
    // A store of a row a cell sent its cells in seq order.
    db.exec(
        "INSERT OR REPLACE INTO meta(key, value) SELECT 'sent_seq', value FROM meta WHERE key "
        "= 'acked_seq'");
    set_meta("store_format", store_format);
    tx.commit();
  }

  // A new node id: 63 random bits, never 0.
  static sync::node_id random_node() {
    sync::node_id node = 0;
    while (node == 0) {
      const auto bytes = sync::record_id::random().bytes;  // 64 random bits
      for (int i = 0; i < 8; ++i) node = node << 8 | bytes[static_cast<std::size_t>(i)];
      node &= 0x7fffffffffffffffULL;  // fits SQLite's signed integers as is
    }
    return node;
  }

  // Re-reads the counters another process sharing the file may have moved
  // (a wipe or an enrollment there gives the store a new node id).
  void refresh() {
    node = static_cast<sync::node_id>(meta_int("node").value_or(0));
    local_seq = static_cast<std::uint64_t>(meta_int("local_seq").value_or(0));
    acked_seq = static_cast<std::uint64_t>(meta_int("acked_seq").value_or(0));
    sent_seq = static_cast<std::uint64_t>(meta_int("sent_seq").value_or(0));
    clock.restore(sync::hlc{static_cast<std::uint64_t>(meta_int("hlc").value_or(0))});
  }

  void save_clock() {
    set_meta("hlc", static_cast<std::int64_t>(clock.last().packed));
    set_meta("local_seq", static_cast<std::int64_t>(local_seq));
  }

  // --- records and cells --------------------------------------------------
  // Stamps applied cells with fresh local sequence numbers when `local`.
  sqlite::cell_table::stamper stamper(bool local) {
    return [this, local]() -> std::optional<std::int64_t> {
      if (!local) return std::nullopt;
      return static_cast<std::int64_t>(++local_seq);
    };
  }
  // Merges one change. Requires: inside a transaction.
  sync::merge_stats merge(const sync::record_change& change, bool local) {
    return table.merge(change, stamper(local));
  }

  // A change of cells of this node's own, all stamped with one fresh timestamp.
  sync::record_change local_change(const sync::record_id& id, const std::string& type,
                                   const std::string& team,
                                   std::vector<std::pair<std::string, value>> values) {
    const sync::stamp at{clock.now(), node};
    sync::record_change change{id, type, team, {}};
    change.cells.reserve(values.size());
    for (auto& [key, v] : values) change.cells.push_back({std::move(key), std::move(v), at});
    return change;
  }

  // Writes cells of this node's own to a record. Requires: inside a transaction.
  void write_local(const sync::record_id& id, const std::string& type, const std::string& team,
                   std::vector<std::pair<std::string, value>> values) {
    check_may_record();
    merge(local_change(id, type, team, std::move(values)), true);
    save_clock();
  }

  // Writes a new record (its id just made at random) without reading the
  // store for it, for a batch that checks and saves the clock once.
  // Requires: inside a transaction.
  void insert_local(const sync::record_id& id, const std::string& type, const std::string& team,
                    std::vector<std::pair<std::string, value>> values) {
    table.merge_new(local_change(id, type, team, std::move(values)), stamper(true));
  }

  // Throws unless this store may record: not erased, not a coordinator's.
  // Requires: inside a transaction.
  void check_may_record() {
    if (const std::string reason = meta_text("wiped_reason"); !reason.empty())
      throw failure(errc::unauthorized,
                    "not saved: this device's store was erased because the device was " + reason +
                        "; enroll it again (haven enroll) before recording");
    if (meta_text("enrolled_role") == "coordinator")
      throw failure(errc::forbidden,
                    "not saved: this store is enrolled as a coordinator of team " +
                        meta_text("enrolled_team") +
                        ", and a coordinator reads the tallies but never syncs records, so what it "
                        "recorded would never reach the server; record on a worker's device");
  }

  bool pending(const sync::record_id& id) {
    auto& st = db.cached("SELECT cells FROM records WHERE id = ? AND last_seq > ?");
    st.bind(1, bytes(id)).bind(2, static_cast<std::int64_t>(acked_seq));
    const bool out = st.step() && unsent_in(st, 0);
    st.reset();
    return out;
  }
  // Whether a packed cells column holds a local cell the server lacks.
  bool unsent_in(const sqlite::statement& st, int col) const {
    return sqlite::count_seq_above(sqlite::as_chars(st.blob(col)), sent_seq) > 0;
  }

  record view(const sync::record_id& id, const sqlite::cell_table::record_row& r,
              const std::vector<sync::cell>& cells, bool is_pending) {
    record rec{id, r.type, r.team, sync::fields_from_cells(cells), {}, r.deleted, is_pending};
    if (const record_type* t = schema->type(r.type))
      for (const auto& d : t->derived)
        if (auto v = t->derive(d.key, rec.fields)) rec.derived.emplace_back(d.key, *v);
    return rec;
  }

  // --- validation ------------------------------------------------------------
  const record_type& type_of(const std::string& name) {
    const record_type* t = schema->type(name);
    if (!t)
      throw failure(invalid("not saved: unknown record type \"" + name + "\"",
                            {{"type", "must be one of: " + type_list(*schema)}}));
    return *t;
  }

  // Checks a record's complete fields; issues for fields that already have
  // a parse issue are left out, so each field is reported once.
  static void check(const record_type& t, const field_map& fields,
                    std::vector<field_issue>& issues) {
    std::set<std::string> reported;
    for (const auto& i : issues) reported.insert(i.field);
    for (auto& i : t.validate(fields, today_local()))
      if (!reported.count(i.field)) issues.push_back(std::move(i));
  }

  // Cells for a new record: parsed, defaulted, validated, for a store
  // enrolled in `enrolled` (empty: none). Throws invalid_input.
  using prepared_record = std::pair<std::string, std::vector<std::pair<std::string, value>>>;
  prepared_record prepare_new(const record_input& in, const std::string& enrolled) {
    const record_type& t = type_of(in.type);
    std::vector<field_issue> issues;
    std::string team = in.team.empty() ? default_team : in.team;
    if (!valid_team(team))
      issues.push_back(
          {"team", team.empty()
                       ? "is required: give --team or set a default team with init"
                       : "must be 1-32 characters of a-z, 0-9 and - (got \"" + team + "\")"});
    else if (!enrolled.empty() && team != enrolled)
      issues.push_back({"team", "this device is enrolled in team " + enrolled +
                                    " and records for it only (got \"" + team + "\")"});
    field_map fields;
    for (const auto& [key, text] : in.fields) {
      const field_def* f = t.field(key);
      if (!f) {
        issues.push_back({key, "is not a field of " + t.name});
        continue;
      }
      const auto [it, first] = fields.try_emplace(key);
      if (!first) {
        issues.push_back({key, "is given twice"});
        continue;
      }
      auto parsed = f->parse(text);
      if (parsed) {
        it->second = std::move(parsed).value();
      } else {
        issues.push_back({key, parsed.err().message});
        fields.erase(it);
      }
    }
    for (const auto& f : t.fields)
      if (!is_null(f.default_value) && !fields.contains(f.key) &&
          std::none_of(issues.begin(), issues.end(),
                       [&](const field_issue& i) { return i.field == f.key; }))
        fields.emplace(f.key, f.default_value);
    check(t, fields, issues);
    if (!issues.empty())
      throw failure(invalid("not saved: the " + t.name + " is not valid", std::move(issues)));

    std::vector<std::pair<std::string, value>> cells;
    cells.reserve(fields.size() + 8);  // a few set elements beyond one cell a field
    while (!fields.empty()) {          // each field's key and value moved, not copied
      auto field = fields.extract(fields.begin());
      if (const auto* set = std::get_if<code_set>(&field.mapped())) {
        for (const auto& code : *set)
          cells.emplace_back(sync::element_key(field.key(), code), true);
      } else if (!is_null(field.mapped())) {
        cells.emplace_back(std::move(field.key()), std::move(field.mapped()));
      }
    }
    return {std::move(team), std::move(cells)};
  }

  // prepare_new for each of `inputs`, or the failure that refused it. A
  // large batch (an import) is prepared on up to 4 threads, which take runs
  // of 64 records in turn until none is left: parsing and validating is a
  // third of its time beside the writes, and prepare_new reads only what is
  // immutable while a batch is prepared (the schema, the default team). An
  // exception other than a failure is rethrown once every thread is done.
  std::vector<std::variant<prepared_record, error>> prepare_all(
      const std::vector<record_input>& inputs, const std::string& enrolled) {
    std::vector<std::variant<prepared_record, error>> out(inputs.size());
    constexpr std::size_t run = 64;
    std::atomic<std::size_t> next{0};
    const auto prepare_runs = [&] {
      for (std::size_t first; (first = next.fetch_add(run)) < inputs.size();)
        for (std::size_t i = first; i < std::min(inputs.size(), first + run); ++i) try {
            out[i] = prepare_new(inputs[i], enrolled);
          } catch (const failure& f) {
            out[i] = f.err();
          } catch (...) {  // the batch fails: the other threads stop at their next run
            next = inputs.size();
            throw;
          }
    };
    static const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
    constexpr std::size_t least_per_thread = 256;  // a thread's start costs a few records' parse
    const std::size_t threads = std::min({cores, std::size_t{4}, inputs.size() / least_per_thread});
    std::vector<std::future<void>> running;  // each joins when destroyed, also on a throw
    for (std::size_t t = 1; t < threads; ++t) try {
        running.push_back(std::async(std::launch::async, prepare_runs));
      } catch (const std::system_error&) {  // no thread to be had: fewer do it
        break;
      }
    prepare_runs();
    for (auto& r : running) r.get();
    return out;
  }
};

store::store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
store::~store() = default;

result<std::unique_ptr<store>> store::create(const std::filesystem::path& file,
                                             std::string_view default_team, options opts) {
  return capture([&] {
    if (!valid_team(default_team))
      throw failure(invalid("not created: bad team",
                            {{"team", "must be 1-32 characters of a-z, 0-9 and - (got \"" +
                                          std::string(default_team) + "\")"}}));
    if (std::filesystem::exists(file))
      throw failure(errc::already_exists,
                    "a store already exists at " + file.string() + "; it was left as it is");
    auto p = std::make_unique<impl>(file, sqlite::database::mode::create, opts);
    try {
      sqlite::claim(p->db, file, sqlite::store_kind::device, true);
      sqlite::transaction tx(p->db);
      p->db.exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value ANY) STRICT");
      sqlite::cell_table::create(p->db);
      p->db.exec(outbox_index_sql);
      p->set_meta("store_format", store_format);
      p->set_meta("node", static_cast<std::int64_t>(impl::random_node()));
      p->set_meta("default_team", default_team);
      p->set_meta("schema_version", p->schema->version());
      p->set_meta("acked_seq", 0);
      p->set_meta("sent_seq", 0);
      p->set_meta("pulled_seq", 0);
      p->save_clock();
      tx.commit();
    } catch (...) {
      p.reset();
      std::filesystem::remove(file);
      std::filesystem::remove(file.string() + "-wal");
      std::filesystem::remove(file.string() + "-shm");
      throw;
    }
    sqlite::transaction snapshot(p->db, sqlite::transaction::kind::read);
    p->load_meta();
    snapshot.commit();
    return std::unique_ptr<store>(new store(std::move(p)));
  });
}

result<std::unique_ptr<store>> store::open(const std::filesystem::path& file, options opts) {
  return capture([&] {
    if (!std::filesystem::exists(file))
      throw failure(errc::not_found, "no store at " + file.string() +
                                         "; create one with: haven --db " + file.string() +
                                         " init --team TEAM");
    sqlite::check_file(file, sqlite::store_kind::device);  // before SQLite touches it
    auto p = std::make_unique<impl>(file, sqlite::database::mode::open_existing, opts);
    if (sqlite::claim(p->db, file, sqlite::store_kind::device, false))
      throw failure(
          errc::store,
          file.string() +
              " is an empty database, not a device store; nothing was changed: give "
              "--db a device store, or create one with: haven --db PATH init --team TEAM");
    p->upgrade();
    sqlite::transaction snapshot(p->db, sqlite::transaction::kind::read);
    p->load_meta();
    snapshot.commit();
    return std::unique_ptr<store>(new store(std::move(p)));
  });
}

result<sync::record_id> store::add(const record_input& input) {
  return capture([&] {
    // Not a structured binding: clang 14 (the fuzz build's) cannot capture one in a lambda.
    auto prepared = impl_->prepare_new(input, impl_->meta_text("enrolled_team"));
    const sync::record_id id = sync::record_id::random();
    impl_->in_transaction([&] {
      impl_->check_may_record();
      impl_->insert_local(id, input.type, prepared.first, std::move(prepared.second));
      impl_->save_clock();
    });
    return id;
  });
}

result<std::vector<field_issue>> store::check(const record_input& input) {
  return capture([&] {
    try {
      impl_->prepare_new(input, impl_->meta_text("enrolled_team"));
      return std::vector<field_issue>{};
    } catch (const failure& f) {
      if (f.err().code != errc::invalid_input) throw;
      return f.err().issues;
    }
  });
}

result<std::vector<sync::record_id>> store::add_all(const std::vector<record_input>& inputs,
                                                    std::size_t first_line) {
  return capture([&] {
    auto prepared = impl_->prepare_all(inputs, impl_->meta_text("enrolled_team"));
    std::vector<field_issue> issues;
    std::size_t refused = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const auto* e = std::get_if<error>(&prepared[i]);
      if (!e) continue;
      ++refused;
      const std::string line = "line " + std::to_string(first_line + i);
      if (e->issues.empty()) issues.push_back({line, e->message});
      for (const auto& issue : e->issues)
        issues.push_back({line + ": " + issue.field, issue.message});
    }
    if (!issues.empty())
      throw failure(invalid("nothing imported: " + std::to_string(refused) + " of " +
                                std::to_string(inputs.size()) + " records are not valid",
                            std::move(issues)));
    return impl_->in_transaction([&] {
      std::vector<sync::record_id> ids;
      impl_->check_may_record();
      for (std::size_t i = 0; i < prepared.size(); ++i) {
        ids.push_back(sync::record_id::random());
        auto& [team, cells] = std::get<impl::prepared_record>(prepared[i]);
        impl_->insert_local(ids.back(), inputs[i].type, team, std::move(cells));
      }
      impl_->save_clock();
      return ids;
    });
  });
}

result<void> store::edit(const sync::record_id& id, const std::vector<field_edit>& edits) {
  return capture([&] {
    impl& s = *impl_;
    s.in_transaction([&] {
      const auto r = s.table.row(id);
      if (!r || r->deleted)
        throw failure(errc::not_found, "no record " + id.hex() + (r ? " (it was deleted)" : ""));
      const record_type& t = s.type_of(r->type);
      const field_map before = sync::fields_from_cells(s.table.cells(id));
      field_map after = before;
      std::vector<field_issue> issues;
      for (const auto& e : edits) {
        const field_def* f = t.field(e.field);
        if (!f) {
          issues.push_back({e.field, "is not a field of " + t.name});
          continue;
        }
        if (e.action != field_edit::op::set && !f->is_set()) {
          issues.push_back({e.field, "is not a set field: use " + e.field + "=VALUE"});
          continue;
        }
        auto parsed = f->parse(e.text);
        if (!parsed) {
          issues.push_back({e.field, parsed.err().message});
          continue;
        }
        value v = std::move(parsed).value();
        if (e.action == field_edit::op::set) {
          after[e.field] = f->is_set() && is_null(v) ? value{code_set{}} : std::move(v);
          continue;
        }
        auto& current = after[e.field];
        if (!std::holds_alternative<code_set>(current)) current = code_set{};
        auto& set = std::get<code_set>(current);
        if (is_null(v)) continue;  // no elements named: nothing to add or remove
        for (const auto& code : std::get<code_set>(v)) {
          if (e.action == field_edit::op::add)
            set.insert(code);
          else
            set.erase(code);
        }
      }
      // Fields and set elements this device's schema does not know (from a
      // newer one) are kept, unchecked.
      field_map known;
      for (const auto& [key, v] : after) {
        const field_def* f = t.field(key);
        if (!f) continue;
        auto& kept = known.emplace(key, v).first->second;
        if (auto* set = std::get_if<code_set>(&kept))
          std::erase_if(*set, [&](const std::string& c) { return !f->has_code(c); });
      }
      impl::check(t, known, issues);
      if (!issues.empty())
        throw failure(
            invalid("not saved: the edit makes the " + t.name + " invalid", std::move(issues)));

      std::vector<std::pair<std::string, value>> cells;
      for (const auto& f : t.fields) {
        const value old_v = before.count(f.key) ? before.at(f.key) : value{};
        const value new_v = after.count(f.key) ? after.at(f.key) : value{};
        if (f.is_set()) {
          const code_set none;
          const code_set& o =
              std::holds_alternative<code_set>(old_v) ? std::get<code_set>(old_v) : none;
          const code_set& n =
              std::holds_alternative<code_set>(new_v) ? std::get<code_set>(new_v) : none;
          for (const auto& code : n)
            if (!o.count(code)) cells.emplace_back(sync::element_key(f.key, code), true);
          for (const auto& code : o)
            if (!n.count(code)) cells.emplace_back(sync::element_key(f.key, code), false);
        } else if (old_v != new_v) {
          cells.emplace_back(f.key, new_v);
        }
      }
      if (!cells.empty()) s.write_local(id, r->type, r->team, std::move(cells));
    });
  });
}

result<void> store::remove(const sync::record_id& id) {
  return capture([&] {
    impl_->in_transaction([&] {
      const auto r = impl_->table.row(id);
      if (!r) throw failure(errc::not_found, "no record " + id.hex());
      if (r->deleted) throw failure(errc::not_found, "record " + id.hex() + " is already deleted");
      impl_->write_local(id, r->type, r->team, {{std::string(sync::deleted_key), true}});
    });
  });
}

result<std::optional<record>> store::get(const sync::record_id& id) {
  return capture([&] {
    return impl_->in_snapshot([&]() -> std::optional<record> {
      const auto r = impl_->table.row(id);
      if (!r) return std::nullopt;
      return impl_->view(id, *r, impl_->table.cells(id), impl_->pending(id));
    });
  });
}

result<sync::record_id> store::resolve_id(std::string_view prefix) {
  return capture([&] {
    const bool hex = prefix.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
    if (!hex || prefix.size() < 4 || prefix.size() > 32)
      throw failure(errc::invalid_input,
                    "\"" + std::string(prefix) +
                        "\" is not a record id: give its 32 hex characters, or the first 4 or "
                        "more of them (as printed by add and list)");
    // The ids from the prefix padded with 0s to the prefix padded with fs.
    std::string low(prefix), high(prefix);
    low.resize(32, '0');
    high.resize(32, 'f');
    const auto from = sync::record_id::parse(low), to = sync::record_id::parse(high);
    return impl_->in_snapshot([&] {
      auto& st =
          impl_->db.cached("SELECT id FROM records WHERE id BETWEEN ? AND ? ORDER BY id LIMIT 2");
      st.bind(1, std::span<const std::uint8_t>(from->bytes));
      st.bind(2, std::span<const std::uint8_t>(to->bytes));
      std::vector<sync::record_id> found;
      while (st.step()) {
        sync::record_id id;
        const auto blob = st.blob(0);
        if (blob.size() != id.bytes.size())
          throw failure(errc::store, "a record id in the store is not 16 bytes");
        std::copy(blob.begin(), blob.end(), id.bytes.begin());
        found.push_back(id);
      }
      st.reset();
      if (found.empty())
        throw failure(errc::not_found, "no record " + std::string(prefix) +
                                           (prefix.size() < 32 ? "..." : "") + " in this store");
      if (found.size() > 1)
        throw failure(errc::ambiguous, "the id prefix " + std::string(prefix) + " is ambiguous: " +
                                           found[0].hex() + " and " + found[1].hex() +
                                           " (at least) begin with it; give more characters");
      return found.front();
    });
  });
}

result<std::vector<record>> store::list(std::optional<std::string_view> type) {
  return capture([&] {
    impl& s = *impl_;
    return s.in_snapshot([&] {
      auto& st = s.db.cached(
          "SELECT r.id, t.name, m.name, r.cells, coalesce(r.last_seq > ?, 0) "
          "FROM records r JOIN names t ON t.id = r.type JOIN names m ON m.id = r.team "
          "WHERE r.deleted = 0 AND (?2 IS NULL OR t.name = ?2) ORDER BY r.rid");
      st.bind(1, static_cast<std::int64_t>(s.acked_seq));
      if (type) st.bind(2, *type);
      std::vector<record> out;
      while (st.step())
        out.push_back(s.view(read_id(st, 0), {st.text(1), st.text(2), false},
                             s.table.read_cells(st, 3), st.integer(4) != 0 && s.unsent_in(st, 3)));
      return out;
    });
  });
}

result<store_status> store::status() {
  return capture([&] {
    impl& s = *impl_;
    return s.in_snapshot([&] {
      store_status out;
      static_cast<sync_state&>(out) = s.sync_state();
      auto& records = s.db.cached("SELECT count(*) FROM records WHERE deleted = 0");
      records.step();
      out.records = static_cast<std::size_t>(records.integer(0));
      const auto unsent = s.unsent();
      out.pending_cells = unsent.cells;
      out.pending_records = unsent.records;
      return out;
    });
  });
}

result<std::size_t> store::outbox_cells() {
  return capture([&] {
    impl& s = *impl_;
    return s.in_snapshot([&] { return s.unsent().cells; });
  });
}

result<sync_state> store::sync_status() {
  return capture([&] {
    impl& s = *impl_;
    return s.in_snapshot([&] { return s.sync_state(); });
  });
}

result<outbox_batch> store::outbox(std::size_t max_cells, std::size_t max_records) {
  return capture([&] {
    impl& s = *impl_;
    return s.in_snapshot([&] {
      // The records written here since acked_seq, in the order of their
      // latest local write, each with its local cells since sent_seq. A
      // batch ends between records, so acked_seq moves past records the
      // server has whole, while a record further on may hold a cell from
      // before that position: sent_seq stays where the round began until
      // none is left (set_acked). A record written again within a round
      // comes again with its cells since then, which the server merges as
      // no-ops.
      // Records with nothing left to send (their cells since sent_seq
      // replaced by pulled ones) are read past, so that a batch of them
      // never stands for an empty outbox.
      static const std::string sql =
          std::string(sqlite::log_select) + "WHERE r.last_seq > ? ORDER BY r.last_seq";
      auto& st = s.db.cached(sql.c_str());
      const auto sent = static_cast<std::int64_t>(s.sent_seq);
      sqlite::cell_table::log_batch log;
      for (std::uint64_t from = s.acked_seq;; from = log.last_seq) {
        st.bind(1, static_cast<std::int64_t>(from));
        log = s.table.read_log(st, max_cells, max_records, [&](const sqlite::stored_cell& c) {
          return c.seq && *c.seq > sent;
        });
        st.reset();
        if (!log.changes.empty() || !log.cut || log.last_seq <= from) break;
      }
      outbox_batch out{std::max<std::uint64_t>(log.last_seq, s.acked_seq), std::move(log.changes),
                       0};
      for (const auto& change : out.changes) out.cells += change.cells.size();
      return out;
    });
  });
}

result<void> store::acknowledge(std::uint64_t seq) {
  return capture([&] {
    impl& s = *impl_;
    s.in_transaction(
        [&] {
          if (seq > s.local_seq)
            throw failure(errc::protocol,
                          "the server acknowledged changes up to " + std::to_string(seq) +
                              " but this device has only written " + std::to_string(s.local_seq));
          if (seq <= s.acked_seq) return;
          s.set_acked(seq);
        },
        relaxed);  // a lost acknowledgement only means a resend
  });
}

result<void> store::resend_after(std::uint64_t seq) {
  return capture([&] {
    impl& s = *impl_;
    s.in_transaction([&] {
      if (seq >= s.acked_seq) return;
      s.set_acked(seq);
    });
  });
}

result<sync::merge_stats> store::apply_remote(const std::vector<sync::record_change>& changes,
                                              std::uint64_t pulled_up_to) {
  return capture([&] {
    impl& s = *impl_;
    return s.in_transaction(
        [&] {
          // A compromised relay or server must not put free text or values out
          // of range on a device: the batch is checked whole before any merge.
          const date tomorrow{today_local().days + 1};
          for (const auto& change : changes)
            if (const auto issues = sync::check_change(*s.schema, change, tomorrow,
                                                       sync::unknown_fields::keep_inert_values);
                !issues.empty())
              throw failure(errc::protocol,
                            "the server sent a change this device refuses: " +
                                sync::describe_issues(*s.schema, change.id, change.type, issues) +
                                "; nothing of it was applied; tell the coordinator");
          // The stamps move this device's clock: bounded as store.hpp says.
          const std::uint64_t reference = s.physical() + s.server_ahead_ms;
          for (const auto& change : changes)
            for (const auto& c : change.cells)
              if (c.at.time.millis() > reference + 2 * s.max_skew_ms)
                throw failure(
                    errc::clock_skew,
                    "the server sent a change stamped " +
                        sync::describe_duration(c.at.time.millis() - reference) +
                        " ahead of this device's clock (record " + change.id.hex() +
                        "); nothing of it was applied; if this device's date and time are "
                        "wrong, set them correctly and sync again, else tell the coordinator");
          sync::merge_stats total;
          for (const auto& change : changes) {
            for (const auto& c : change.cells) s.clock.restore(c.at.time);
            total += s.merge(change, false);
          }
          s.set_meta("pulled_seq", static_cast<std::int64_t>(pulled_up_to));
          s.save_clock();
          return total;
        },
        relaxed);  // cells and cursor are lost together, if at all, and pulled again
  });
}

void store::note_server_clock(sync::hlc server_time) noexcept {
  const std::uint64_t wall = impl_->physical(), server = server_time.millis();
  impl_->server_ahead_ms = server > wall ? server - wall : 0;
}

result<bool> store::adopt_schema(std::string_view json) {
  return capture([&] {
    auto parsed = unwrap(schema::parse(json));
    if (parsed->version() <= impl_->schema->version()) return false;
    impl_->in_transaction([&] { impl_->set_meta("schema_json", json); });
    impl_->schema = std::move(parsed);
    return true;
  });
}

result<void> store::mark_synced(std::int64_t now_ms) {
  return capture(
      [&] { impl_->in_transaction([&] { impl_->set_meta("last_sync_ms", now_ms); }, relaxed); });
}

namespace {

// The credentials' fields as meta keys; keys are kept as hex.
constexpr const char* credential_keys[] = {
    "enrolled_server_url",  "enrolled_device_id",     "enrolled_team",  "enrolled_role",
    "enrolled_private_key", "enrolled_pseudonym_key", "enrolled_ca_pem"};

void check_credentials(const credentials& c) {
  std::vector<field_issue> issues;
  if (c.server_url.empty()) issues.push_back({"server_url", "is required"});
  if (c.device_id.empty() || c.device_id.size() > 64)
    issues.push_back({"device_id", "must be 1-64 characters"});
  if (!valid_team(c.team)) issues.push_back({"team", "must be 1-32 characters of a-z, 0-9 and -"});
  if (c.role != "worker" && c.role != "coordinator")
    issues.push_back({"role", "must be worker or coordinator"});
  if (c.private_key.size() != crypto::ed25519_key_bytes)
    issues.push_back({"private_key", "must be 32 bytes"});
  if (c.pseudonym_key.size() != 32) issues.push_back({"pseudonym_key", "must be 32 bytes"});
  if (!issues.empty())
    throw failure(invalid("not enrolled: the server's answer is incomplete", std::move(issues)));
}

}  // namespace

result<void> store::enroll(const credentials& c) {
  return capture([&] {
    check_credentials(c);
    impl& s = *impl_;
    s.in_transaction([&] {
      if (!s.meta_text("enrolled_device_id").empty())
        throw failure(errc::already_exists,
                      "this device is enrolled already, as " + s.meta_text("enrolled_device_id") +
                          " of team " + s.meta_text("enrolled_team") + "; nothing was changed");
      auto& other = s.db.cached(
          "SELECT m.name FROM records r JOIN names m ON m.id = r.team WHERE m.name <> ? LIMIT 1");
      other.bind(1, std::string_view(c.team));
      if (other.step())
        throw failure(invalid("not enrolled: this store holds records of team " + other.text(0) +
                                  ", and a device syncs one team only (" + c.team + ")",
                              {{"team", "use a new store for team " + c.team}}));
      const std::string values[] = {c.server_url, c.device_id,           c.team,
                                    c.role,       to_hex(c.private_key), to_hex(c.pseudonym_key),
                                    c.ca_pem};
      for (std::size_t i = 0; i < std::size(values); ++i) s.set_meta(credential_keys[i], values[i]);
      s.set_meta("default_team", c.team);
      s.default_team = c.team;
      // A store erased before wipes drew a new node id (or with one drawn
      // since): it comes back as a new node, so that the server withholds
      // none of the cells its old node wrote.
      if (!s.meta_text("wiped_reason").empty()) {
        s.node = impl::random_node();
        s.set_meta("node", static_cast<std::int64_t>(s.node));
      }
      // Cursors of any earlier server mean nothing to this one: send all, pull all.
      s.set_acked(0);
      s.set_meta("pulled_seq", 0);
      s.db.exec("DELETE FROM meta WHERE key IN ('wiped_reason', 'wiped_at_ms')");
    });
  });
}

result<std::optional<credentials>> store::enrollment() {
  return capture([&] {
    impl& s = *impl_;
    return s.in_snapshot([&]() -> std::optional<credentials> {
      if (s.meta_text("enrolled_device_id").empty()) return std::nullopt;
      std::string v[std::size(credential_keys)];
      for (std::size_t i = 0; i < std::size(credential_keys); ++i)
        v[i] = s.meta_text(credential_keys[i]);
      return credentials{v[0], v[1], v[2], v[3], unwrap(from_hex(v[4])), unwrap(from_hex(v[5])),
                         v[6]};
    });
  });
}

result<void> store::move_server(std::string_view server_url) {
  return capture([&] {
    impl& s = *impl_;
    s.in_transaction([&] {
      if (s.meta_text("enrolled_device_id").empty())
        throw failure(errc::not_found, "this device is not enrolled, so it has no server to move");
      s.set_meta("enrolled_server_url", server_url);
    });
  });
}

result<void> store::wipe(sync::standing reason, std::int64_t now_ms) {
  return capture([&] {
    if (reason == sync::standing::active)
      throw failure(errc::invalid_input, "an active device's store is not erased");
    impl& s = *impl_;
    s.in_transaction([&] {
      if (reason ==
          sync::standing::retired) {  // a device handed back keeps its unsent work until it is sent
        if (const auto n = s.unsent().cells; n > 0)
          throw failure(errc::invalid_input,
                        "the server asked this retired device to erase its store, but " +
                            std::to_string(n) +
                            " changes are not sent yet; nothing was "
                            "erased: sync again");
      }
      // secure_delete is on: the freed pages are overwritten with zeros.
      s.table.erase_all();
      s.db.exec("DELETE FROM meta WHERE key GLOB 'enrolled_*' OR key = 'last_sync_ms'");
      // Nothing of the old device is left: not its node id, nor its counters.
      s.node = impl::random_node();
      s.set_meta("node", static_cast<std::int64_t>(s.node));
      s.local_seq = 0;
      s.save_clock();
      s.set_acked(0);
      s.set_meta("pulled_seq", 0);
      s.set_meta("wiped_reason", sync::to_string(reason));
      s.set_meta("wiped_at_ms", now_ms);
    });
    // The WAL still holds the old pages: copy the erased state into the
    // database file, rebuild the file without free pages, and empty the WAL.
    s.db.reset_cached();
    s.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    s.db.exec("VACUUM");
    sqlite::statement checkpoint(s.db, "PRAGMA wal_checkpoint(TRUNCATE)");
    if (checkpoint.step() && checkpoint.integer(0) != 0)
      throw failure(errc::store,
                    "the records were erased, but another program has the store open, so its "
                    "write-ahead log could not be emptied; close it and run the sync again");
  });
}

const haven::schema& store::schema() const {
  return *impl_->schema;
}
sync::node_id store::node() const {
  return impl_->node;
}

}  // namespace haven::client

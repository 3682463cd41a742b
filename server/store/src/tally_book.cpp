// How it works:
// The incremental tally: every declared tally of every period, kept in the
// central store's SQLite database in tables named tally_*, so that it commits
// and rolls back with the changes that move it.
//
// The book stores each counted record's current state (the few fields its
// tallies read; contribution_of turns them into its contribution), the
// amounts per (tally, period, row path, column, measure) at every level, and
// for each distinct measure a reference count per (leaf cell, person): the
// records that put the person there. A person is in a subtotal or total cell
// when some leaf below it holds them, and the amount of a distinct measure
// is the number of persons in the cell, kept as they enter and leave it. An
// update retracts a record's old contribution and adds its new one; the
// writes of a batch of updates are summed first, so a cell that many records
// of a batch share is written once. Reports are made from the amounts; they
// never scan records. This is the SQLite implementation's tally_store.
//
// Not thread-safe: it uses its connection from one thread at a time, like the
// connection itself. Holds references to the database and the schema, which
// must outlive it.
#include <algorithm>
#include <chrono>
#include <haven/core/clock.hpp>
#include <haven/server/tally_book.hpp>
#include <haven/tally/contribution.hpp>

#include "tally_delta.hpp"
#include "tally_tables.hpp"

namespace haven::server {
namespace {

// Bump when the contribution rules or the tables change: stored tallies then need a replay.
constexpr std::string_view engine_version = "tally engine 1";

constexpr const char* meta_sql = "SELECT value FROM tally_meta WHERE key = 'declarations'";
constexpr const char* set_meta_sql =
    "INSERT OR REPLACE INTO tally_meta(key, value) VALUES ('declarations', ?1)";
constexpr const char* load_record_sql = "SELECT fields, today FROM tally_record WHERE record = ?1";
constexpr const char* insert_record_sql =
    "INSERT INTO tally_record(record, type, fields, today) VALUES (?1, ?2, ?3, ?4)";
constexpr const char* update_record_sql =
    "UPDATE tally_record SET type = ?2, fields = ?3, today = ?4 WHERE record = ?1";
constexpr const char* drop_record_sql = "DELETE FROM tally_record WHERE record = ?1";
constexpr const char* open_records_sql =
    "SELECT record, type, fields, today FROM tally_record WHERE today IS NOT NULL";
constexpr const char* move_record_sql = "UPDATE tally_record SET today = ?2 WHERE record = ?1";

// --- a record's stored fields: length-prefixed parts, in key order ----------

void put(std::string& out, std::string_view part) {
  out += std::to_string(part.size());
  out += ':';
  out += part;
}

// Keeps the `keys` of `fields` that hold a value; an empty set is no value.
field_map project(const field_map& fields, const std::vector<std::string>& keys) {
  field_map out;
  for (const auto& key : keys) {
    auto it = fields.find(key);
    if (it == fields.end() || is_null(it->second)) continue;
    if (const auto* set = std::get_if<code_set>(&it->second); set && set->empty()) continue;
    out.emplace(key, it->second);
  }
  return out;
}

// key, a tag (i s d b S), and the value's text.
std::string encode(const field_map& fields) {
  std::string out;
  for (const auto& [key, v] : fields) {
    std::string text;
    char tag = 's';
    if (const auto* n = std::get_if<std::int64_t>(&v)) {
      tag = 'i';
      text = std::to_string(*n);
    } else if (const auto* d = std::get_if<date>(&v)) {
      tag = 'd';
      text = std::to_string(d->days);
    } else if (const auto* b = std::get_if<bool>(&v)) {
      tag = 'b';
      text = *b ? "1" : "0";
    } else if (const auto* set = std::get_if<code_set>(&v)) {
      tag = 'S';
      for (const auto& code : *set) put(text, code);
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      text = *s;
    }
    put(out, key);
    out += tag;
    put(out, text);
  }
  return out;
}

class decoder {
 public:
  explicit decoder(std::string_view in) : in_(in) {}
  bool done() const { return in_.empty(); }
  char tag() {
    if (in_.empty()) corrupt();
    const char c = in_.front();
    in_.remove_prefix(1);
    return c;
  }
  std::string_view part() {
    const auto colon = in_.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 9) corrupt();
    std::size_t n = 0;
    for (char c : in_.substr(0, colon)) {
      if (c < '0' || c > '9') corrupt();
      n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    if (in_.size() - colon - 1 < n) corrupt();
    const std::string_view out = in_.substr(colon + 1, n);
    in_.remove_prefix(colon + 1 + n);
    return out;
  }
  std::int64_t number() {
    const std::string_view text = part();
    try {
      return std::stoll(std::string(text));
    } catch (const std::exception&) {
      corrupt();
    }
  }

 private:
  [[noreturn]] static void corrupt() { throw failure(errc::store, "store: corrupt tally record"); }
  std::string_view in_;
};

field_map decode(std::string_view blob) {
  field_map out;
  decoder in(blob);
  while (!in.done()) {
    std::string key(in.part());
    value v;
    switch (in.tag()) {
      case 'i':
        v = in.number();
        break;
      case 'd':
        v = date{static_cast<std::int32_t>(in.number())};
        break;
      case 'b':
        v = in.number() != 0;
        break;
      case 'S': {
        code_set set;
        decoder codes(in.part());
        while (!codes.done()) set.emplace(codes.part());
        v = std::move(set);
        break;
      }
      default:
        v = std::string(in.part());
    }
    out.emplace(std::move(key), std::move(v));
  }
  return out;
}

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

bool same_month(date a, date b) {
  const civil_date x = to_civil(a), y = to_civil(b);
  return x.year == y.year && x.month == y.month;
}

// A canonical text of everything the stored tallies depend on: the engine
// (this book's tables and the contribution rules) and the declarations.
std::string declarations_of(const schema& s) {
  return std::string(engine_version) + tally::declarations(s);
}

bool has_row(sqlite::database& db, const char* sql) {
  auto& st = db.cached(sql);
  const bool found = st.step();
  st.reset();
  return found;
}

std::optional<std::string> stored_declarations(sqlite::database& db) {
  auto& st = db.cached(meta_sql);
  std::optional<std::string> text;
  if (st.step()) text = st.text(0);
  st.reset();
  return text;
}

// SAVEPOINT ... RELEASE: a transaction of its own, or nested in the caller's.
class savepoint {
 public:
  explicit savepoint(sqlite::database& db) : db_(db) { db_.exec("SAVEPOINT tally"); }
  ~savepoint() {
    if (done_) return;
    try {
      db_.exec("ROLLBACK TO tally; RELEASE tally");
    } catch (...) {  // the connection is closing
    }
  }
  savepoint(const savepoint&) = delete;
  savepoint& operator=(const savepoint&) = delete;
  void release() {
    db_.exec("RELEASE tally");
    done_ = true;
  }

 private:
  sqlite::database& db_;
  bool done_ = false;
};

}  // namespace

tally_book::tally_book(sqlite::database& db, std::shared_ptr<const schema> s, clock today)
    : db_(db),
      schema_(std::move(s)),
      today_(std::move(today)),
      declarations_(declarations_of(*schema_)) {
  for (const auto& t : schema_->tallies())
    if (!read_fields_.count(t.type)) read_fields_.emplace(t.type, tally_fields(*schema_, t.type));
  db_.exec(tally_tables::create_sql);
  // A book that has counted nothing adopts the current declarations.
  if (!stored_declarations(db_) && !has_row(db_, "SELECT 1 FROM tally_record LIMIT 1") &&
      !has_row(db_, "SELECT 1 FROM tally_value LIMIT 1"))
    db_.cached(set_meta_sql).bind(1, std::string_view(declarations_)).run();
  replay_pending_ = needs_replay();
}

bool tally_book::needs_replay() const {
  return stored_declarations(db_) != declarations_;
}

void tally_book::reset() {
  db_.exec("DELETE FROM tally_value; DELETE FROM tally_person; DELETE FROM tally_record;");
  db_.cached(set_meta_sql).bind(1, std::string_view(declarations_)).run();
  replay_pending_ = false;
}

void tally_book::update(const sync::record_id& id, std::string_view type, const field_map* fields) {
  const change one{id, type, fields};
  update(std::span<const change>(&one, 1));
}

void tally_book::update(std::span<const change> changes) {
  if (replay_pending_) return;  // the replay will count it
  // A contribution is a function of the record's state: only the last change of each record
  // matters.
  std::map<sync::record_id, const change*> last;
  for (const auto& c : changes)
    if (read_fields_.count(c.type)) last[c.id] = &c;
  if (last.empty()) return;
  const date now = today_();
  tally::delta delta(schema_->tallies());
  for (const auto& [id, next] : last) {
    const auto key = std::span<const std::uint8_t>(id.bytes);
    const field_map fields =
        next->fields ? project(*next->fields, read_fields_.find(next->type)->second) : field_map{};
    const std::string text = encode(fields);

    std::optional<std::string> was_text;
    std::optional<date> was_today;  // set when its contribution depends on today
    auto& st = db_.cached(load_record_sql).bind(1, key);
    if (st.step()) {
      const auto blob = st.blob(0);
      was_text.emplace(reinterpret_cast<const char*>(blob.data()), blob.size());
      if (st.type(1) == sqlite::statement::column_type::integer)
        was_today = date{static_cast<std::int32_t>(st.integer(1))};
    }
    st.reset();
    if (!was_text && !next->fields) continue;
    // An open stay's contribution depends on the month of today only.
    if (was_text && next->fields && *was_text == text &&
        (!was_today || same_month(*was_today, now)))
      continue;

    if (was_text)
      delta.add(contribution_of(*schema_, next->type, decode(*was_text), was_today.value_or(now)),
                -1);
    tally_contribution after;
    if (next->fields) after = contribution_of(*schema_, next->type, fields, now);
    delta.add(after, 1);

    if (after.empty()) {
      if (was_text) db_.cached(drop_record_sql).bind(1, key).run();
      continue;
    }
    auto& store = db_.cached(was_text ? update_record_sql : insert_record_sql)
                      .bind(1, key)
                      .bind(2, next->type)
                      .bind(3, bytes(text));
    if (after.depends_on_today)
      store.bind(4, std::int64_t{now.days});
    else
      store.bind_null(4);
    store.run();
  }
  write_delta(db_, delta);
}

void tally_book::refresh_open_stays() {
  struct open_stay {
    std::vector<std::uint8_t> record;
    std::string type, fields;
    date today;
  };
  if (replay_pending_) return;
  savepoint sp(db_);
  const date now = today_();
  std::vector<open_stay> moved;
  auto& st = db_.cached(open_records_sql);
  while (st.step()) {
    const date then{static_cast<std::int32_t>(st.integer(3))};
    if (same_month(then, now)) continue;
    const auto record = st.blob(0), fields = st.blob(2);
    moved.push_back({{record.begin(), record.end()},
                     st.text(1),
                     {reinterpret_cast<const char*>(fields.data()), fields.size()},
                     then});
  }
  st.reset();
  tally::delta delta(schema_->tallies());
  for (const auto& stay : moved) {
    const field_map fields = decode(stay.fields);
    delta.add(contribution_of(*schema_, stay.type, fields, stay.today), -1);
    delta.add(contribution_of(*schema_, stay.type, fields, now), 1);
    db_.cached(move_record_sql)
        .bind(1, std::span<const std::uint8_t>(stay.record))
        .bind(2, std::int64_t{now.days})
        .run();
  }
  write_delta(db_, delta);
  sp.release();
}

}  // namespace haven::server

#pragma once
// What the central store, sync service and HTTP API tests share: a central
// store (SQLite unless a test names another backend) in a fresh directory
// with a fixed today, closed and reopened at will, the tally reports over it,
// and a device that turns typed records into stamped cells and push batches
// the way a client would send them.

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <haven/server/central_store.hpp>
#include <haven/server/tally_reports.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tally_fixture.hpp"

namespace haven::test {

constexpr std::uint64_t field_time_ms = 1'780'000'000'000;  // May 2026

// The tallies of the contract (README), in the schema's order.
inline const std::vector<std::string>& required_tally_ids() {
  static const std::vector<std::string> ids = {
      "pats-individual-by-site",      "pats-group-by-site",
      "assisted-by-nationality-sex",  "assisted-by-exploitation-sex",
      "care-days-by-nationality",     "on-call-by-outcome",
      "workshops-by-audience-region", "eurostat-victims-by-citizenship",
      "eurostat-victims-by-age",      "eurostat-victims-by-exploitation"};
  return ids;
}

// A device as the central store sees it: who it is, its local sequence
// numbers and its clock (a fixed millisecond and a counter, so stamps are
// distinct and increasing).
class field_device {
 public:
  field_device(std::string device_id, std::string team, sync::node_id node,
               std::uint64_t ms = field_time_ms)
      : peer_{std::move(device_id), std::move(team), node, "127.0.0.1"}, ms_(ms) {}

  const sync::peer& peer() const { return peer_; }
  sync::hello hello() const {
    return {sync::protocol_version, peer_.device_id, peer_.team, peer_.node, 1, 0, 0, {}};
  }
  std::uint64_t& ms() { return ms_; }

  sync::stamp next() {
    if (counter_ == 0xffff) {
      ++ms_;
      counter_ = 0;
    }
    return {sync::hlc::make(ms_, counter_++), peer_.node};
  }

  // The cells of a record as typed (a set field as one cell per element), in
  // this device's team unless `team` is given.
  sync::record_change record(const sync::record_id& id, const std::string& type,
                             const typed_fields& fields, std::string team = "") {
    sync::record_change change{id, type, team.empty() ? peer_.team : std::move(team), {}};
    for (const auto& [key, v] : typed(*shipped_schema(), type, fields)) {
      if (const auto* set = std::get_if<code_set>(&v)) {
        for (const auto& code : *set)
          change.cells.push_back({sync::element_key(key, code), true, next()});
      } else {
        change.cells.push_back({key, v, next()});
      }
    }
    return change;
  }
  sync::record_change deletion(const sync::record_id& id, const std::string& type) {
    return {id, type, peer_.team, {{std::string(sync::deleted_key), true, next()}}};
  }

  // A batch with the next local sequence numbers, one per cell.
  sync::push_batch batch(std::vector<sync::record_change> changes) {
    for (const auto& c : changes) seq_ += c.cells.size();
    return {seq_, std::move(changes)};
  }

 private:
  sync::peer peer_;
  std::uint64_t ms_;
  std::uint16_t counter_ = 0;
  std::uint64_t seq_ = 0;
};

// Opens the central store kept in directory `dir` (creating it when new),
// over the shipped schema, with `today` as its date: one backend.
using store_opener = std::function<std::unique_ptr<server::central_store>(
    const temp_dir& dir, std::function<date()> today)>;

inline std::unique_ptr<server::central_store> open_sqlite_in(const temp_dir& dir,
                                                             std::function<date()> today) {
  server::sqlite_store_options options;
  options.today = std::move(today);
  return server::open_sqlite_store(dir.file("central.db"), shipped_schema(), options);
}

// Makes a closed SQLite store's tally look kept by an earlier engine: the
// persons' table of engine 2 (a row per leaf, paths and columns as text),
// engine 3 (a row per leaf, by label) or engine 4 (a row per tally, measure
// and person), with a row of its layout. The next open counts every record
// again.
inline void as_older_engine(const std::string& file, int engine) {
  sqlite::database db(file, sqlite::database::mode::open_existing);
  const std::string label_type = engine == 2 ? "TEXT" : "INTEGER";
  const std::string persons =
      engine == 4
          ? "CREATE TABLE tally_person(tally INTEGER NOT NULL, measure INTEGER NOT NULL, person "
            "TEXT NOT NULL, leaves BLOB NOT NULL, PRIMARY KEY (tally, measure, person)) WITHOUT "
            "ROWID; INSERT INTO tally_person VALUES (1, 0, 'P-0001H', x'd6dd18010101');"
          : "CREATE TABLE tally_person(tally INTEGER NOT NULL, measure INTEGER NOT NULL, person "
            "TEXT NOT NULL, period INTEGER NOT NULL, path " +
                label_type + " NOT NULL, col " + label_type +
                " NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (tally, measure, person, period, "
                "path, col)) WITHOUT ROWID; INSERT INTO tally_person VALUES (1, 0, 'P-0001H', "
                "202601, 1, 1, 1);";
  db.exec("DROP TABLE tally_person; " + persons +
          "UPDATE tally_meta SET value = replace(value, 'tally engine 5', 'tally engine " +
          std::to_string(engine) + "') WHERE key = 'declarations'");
}

// A recount while serving that waits after each part until the test lets
// it go (at most 30 s a part, so that a failed test still ends).
class recount_gate {
 public:
  ~recount_gate() { let_go(); }
  // Options that open a SQLite store recounting while it serves, in parts
  // of `part` records, each followed by a wait here.
  server::sqlite_store_options options(std::function<date()> today, std::size_t part) const {
    server::sqlite_store_options o;
    o.today = std::move(today);
    o.recount = server::sqlite_store_options::recount_mode::while_serving;
    o.recount_part = part;
    o.on_recount = [s = state_](const server::recount_progress& p) {
      std::unique_lock lock(s->mutex);
      s->parts.push_back(p);
      s->moved.notify_all();
      s->moved.wait_for(lock, std::chrono::seconds(30), [&] { return s->open; });
    };
    return o;
  }
  // The parts counted once there are at least n (REQUIREd within 30 s).
  std::vector<server::recount_progress> parts(std::size_t n) const {
    std::unique_lock lock(state_->mutex);
    REQUIRE(state_->moved.wait_for(lock, std::chrono::seconds(30),
                                   [&] { return state_->parts.size() >= n; }));
    return state_->parts;
  }
  // Every part once the last is counted (REQUIREd within 30 s).
  std::vector<server::recount_progress> until_done() const {
    std::unique_lock lock(state_->mutex);
    REQUIRE(state_->moved.wait_for(lock, std::chrono::seconds(30), [&] {
      return !state_->parts.empty() && state_->parts.back().done;
    }));
    return state_->parts;
  }
  void let_go() const {
    std::lock_guard lock(state_->mutex);
    state_->open = true;
    state_->moved.notify_all();
  }

 private:
  struct state {
    std::mutex mutex;
    std::condition_variable moved;
    std::vector<server::recount_progress> parts;
    bool open = false;
  };
  std::shared_ptr<state> state_ = std::make_shared<state>();
};

// Opens as open_sqlite_in until `recounting` is set, then recounting while
// serving in parts of `part` records through `gate`.
inline store_opener recounting_opener(const recount_gate& gate, const bool& recounting,
                                      std::size_t part) {
  return [&gate, &recounting, part](const temp_dir& dir, std::function<date()> today) {
    if (!recounting) return open_sqlite_in(dir, std::move(today));
    return server::open_sqlite_store(dir.file("central.db"), shipped_schema(),
                                     gate.options(std::move(today), part));
  };
}

// Waits (at most 30 s) until the store's tallies answer again after a recount.
inline void wait_for_recount(server::central_store& store) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!store.amounts(required_tally_ids().front(), {2026, 0}).ok() &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

class central_fixture {
 public:
  explicit central_fixture(store_opener open = open_sqlite_in) : open_(std::move(open)) {
    reopen();
  }

  // The store's today, for open stays.
  date today = from_civil(2026, 6, 15);

  server::central_store& store() { return *store_; }
  const server::tally_reports& tallies() const { return *tallies_; }
  // The SQLite backend's file (the access registry shares it).
  std::string file() const { return dir_.file("central.db"); }
  const temp_dir& dir() const { return dir_; }
  void close() {
    tallies_.reset();
    store_.reset();
  }
  void reopen() {
    close();
    store_ = open_(dir_, [this] { return today; });
    tallies_ = std::make_unique<server::tally_reports>(*store_, shipped_schema());
  }

  // A device of `team` that the store has admitted.
  field_device enroll(std::string device_id, std::string team, sync::node_id node,
                      std::int64_t now_ms = 1000) {
    field_device d(std::move(device_id), std::move(team), node);
    store_->admit(d.peer(), now_ms);
    return d;
  }
  // Pushes the changes as d's next batch.
  server::push_result push(field_device& d, std::vector<sync::record_change> changes,
                           std::int64_t now_ms = 2000) {
    return store_->push(d.peer(), d.batch(std::move(changes)), now_ms);
  }

  // A tally report as JSON; FAILs if the store refuses it.
  boost::json::object report(const std::string& id, int year,
                             std::optional<int> month = std::nullopt) {
    auto r = tallies_->json(id, year, month);
    if (!r) FAIL(r.err().describe());
    return boost::json::parse(r.value()).as_object();
  }

 private:
  temp_dir dir_;
  store_opener open_;
  std::unique_ptr<server::central_store> store_;
  std::unique_ptr<server::tally_reports> tallies_;
};

// The error a call throws; FAILs if it does not throw.
template <class F>
haven::error error_of(F&& fn) {
  auto r = capture([&] {
    fn();
    return 0;
  });
  REQUIRE_FALSE(r.ok());
  return r.err();
}

// A group session on `date` at `site`.
inline typed_fields group_session(const char* date, const char* site, const char* participants) {
  return {{"date", date}, {"site", site}, {"format", "group"}, {"participants", participants}};
}

// The number of cells in a batch of changes.
inline std::size_t cells_in(const std::vector<sync::record_change>& changes) {
  std::size_t n = 0;
  for (const auto& c : changes) n += c.cells.size();
  return n;
}

}  // namespace haven::test

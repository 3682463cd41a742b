#pragma once
// What the central store, sync service and HTTP API tests share: a central
// store (SQLite unless a test names another backend) in a fresh directory
// with a fixed today, closed and reopened at will, the tally reports over it,
// and a device that turns typed records into stamped cells and push batches
// the way a client would send them.

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <haven/server/central_store.hpp>
#include <haven/server/tally_reports.hpp>
#include <memory>
#include <string>
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

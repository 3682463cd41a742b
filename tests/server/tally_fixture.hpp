#pragma once
// What the tally tests share: a tally_book on a fresh SQLite file with a
// settable today, records written as a user types them, the current records
// as the oracle sees them, and short ways to read reports.

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <haven/schema/schema.hpp>
#include <haven/server/tally_book.hpp>
#include <haven/server/tally_reports.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../support/process.hpp"
#include "../support/tally_oracle.hpp"

namespace haven::test {

// A record as (key, typed text) pairs; an empty text leaves the field empty.
using typed_fields = std::vector<std::pair<std::string, std::string>>;

inline std::shared_ptr<const schema> shipped_schema() {
  static const std::shared_ptr<const schema> loaded = [] {
    auto r = schema::load(HAVEN_DEFAULT_SCHEMA);
    if (!r) throw std::runtime_error(r.err().describe());
    return std::move(r).value();
  }();
  return loaded;
}

inline field_map typed(const schema& s, const std::string& type, const typed_fields& fields) {
  const record_type* t = s.type(type);
  if (!t) throw std::runtime_error("no type " + type);
  field_map out;
  for (const auto& [key, text] : fields) {
    const field_def* f = t->field(key);
    if (!f) throw std::runtime_error(type + " has no field " + key);
    auto v = f->parse(text);
    if (!v) throw std::runtime_error(key + ": " + v.err().message);
    if (!is_null(v.value())) out[key] = std::move(v).value();
  }
  return out;
}

// The id of the n-th record a test names.
inline sync::record_id test_id(std::uint64_t n) {
  sync::record_id id;
  for (int i = 0; i < 8; ++i) id.bytes[15 - i] = static_cast<std::uint8_t>(n >> (8 * i));
  id.bytes[0] = 0xab;
  return id;
}

// A tally_book as a tally_store, so that its amounts are reported as havend
// reports them (tally_reports). Single-threaded, like the book.
class book_store final : public server::tally_store {
 public:
  book_store(server::tally_book& book, server::tally_book::record_reader read)
      : book_(book), read_(std::move(read)) {}
  result<std::vector<tally::stored_amount>> amounts(std::string_view id,
                                                    tally::tally_period period) override {
    return book_.amounts(id, period);
  }
  void refresh() override { book_.refresh_open_stays(read_); }

 private:
  server::tally_book& book_;
  server::tally_book::record_reader read_;
};

class tally_fixture {
 public:
  explicit tally_fixture(std::shared_ptr<const schema> s = shipped_schema())
      : schema_(std::move(s)),
        db_(dir_.file("central.db"), sqlite::database::mode::create),
        book_(db_, schema_, [this] { return today; }),
        store_(book_, reader()),
        reports_(store_, schema_) {}

  date today = from_civil(2026, 6, 15);

  const schema& definitions() const { return *schema_; }
  server::tally_book& book() { return book_; }
  const server::tally_reports& reports() const { return reports_; }
  sqlite::database& db() { return db_; }
  const std::vector<oracle_record>& records() const { return records_; }

  // Adds or replaces record `name` in its own transaction.
  void put(const std::string& name, const std::string& type, const typed_fields& fields) {
    put_fields(name, type, typed(*schema_, type, fields));
  }
  void put_fields(const std::string& name, const std::string& type, const field_map& fields) {
    sqlite::transaction tx(db_);
    put_in_transaction(name, type, fields);
    tx.commit();
  }
  void put_in_transaction(const std::string& name, const std::string& type,
                          const field_map& fields) {
    const auto before = counted(name);
    note(name, type, &fields);
    book_.update({record_of(name), type, before ? &*before : nullptr, &fields});
  }
  void remove(const std::string& name) {
    sqlite::transaction tx(db_);
    remove_in_transaction(name);
    tx.commit();
  }
  void remove_in_transaction(const std::string& name) {
    const std::string type = record(name, "").type;
    const auto before = counted(name);
    note(name, type, nullptr);
    book_.update({record_of(name), type, before ? &*before : nullptr, nullptr});
  }
  void refresh_open_stays() { book_.refresh_open_stays(reader()); }

  // The record's state as the book last counted it: nullopt when it is new
  // or deleted. The oracle's records are the store the book counts.
  std::optional<field_map> counted(const std::string& name) const {
    const auto it = index_.find(name);
    if (it == index_.end() || records_[it->second].deleted) return std::nullopt;
    return records_[it->second].fields;
  }
  // The records as a store holds them, by their integer ids (record_of).
  server::tally_book::record_reader reader() const {
    return [this](std::int64_t record) -> std::optional<server::tally_book::stored_record> {
      const auto i = static_cast<std::size_t>(record - 1);
      if (record < 1 || i >= records_.size() || records_[i].deleted) return std::nullopt;
      return server::tally_book::stored_record{records_[i].type, records_[i].fields};
    };
  }

  // Records the record's new state (nullptr: deleted) in the oracle's
  // records only, for a test that updates the book itself.
  void note(const std::string& name, const std::string& type, const field_map* fields) {
    oracle_record& r = record(name, type);
    r.deleted = !fields;
    r.fields = fields ? *fields : field_map{};
  }
  // A record's integer id, as a store numbers its records: 1, 2, ...
  std::int64_t record_of(const std::string& name) const {
    return static_cast<std::int64_t>(index_.at(name) + 1);
  }

  boost::json::object report(const std::string& id, int year,
                             std::optional<int> month = std::nullopt) {
    auto r = reports_.json(id, year, month);
    if (!r) FAIL(r.err().describe());
    return boost::json::parse(r.value()).as_object();
  }
  std::string csv(const std::string& id, int year, std::optional<int> month = std::nullopt) {
    auto r = reports_.csv(id, year, month);
    if (!r) FAIL(r.err().describe());
    return r.value();
  }

  // The records as they are now, to restore after a rolled-back transaction.
  struct model {
    std::vector<oracle_record> records;
    std::map<std::string, std::size_t> index;
  };
  model state() const { return {records_, index_}; }
  void restore(model m) {
    records_ = std::move(m.records);
    index_ = std::move(m.index);
  }

  // Every tally's report for the period agrees with the oracle.
  void check_all(int year, std::optional<int> month = std::nullopt) {
    for (const auto& t : schema_->tallies()) {
      auto r = reports_.json(t.id, year, month);
      REQUIRE(r.ok());
      INFO(r.value());
      const std::string problems =
          compare_report(r.value(), *schema_, t, records_, today, year, month);
      CHECK(problems == "");
    }
  }

  // The number of rows in a tally table.
  std::int64_t rows_in(const char* table) {
    sqlite::statement st(db_, std::string("SELECT COUNT(*) FROM ") + table);
    st.step();
    return st.integer(0);
  }

 private:
  oracle_record& record(const std::string& name, const std::string& type) {
    auto [it, added] = index_.emplace(name, records_.size());
    if (added) records_.push_back({name, type, {}, false});
    return records_[it->second];
  }
  temp_dir dir_;
  std::shared_ptr<const schema> schema_;
  sqlite::database db_;
  server::tally_book book_;
  book_store store_;
  server::tally_reports reports_;
  std::vector<oracle_record> records_;
  std::map<std::string, std::size_t> index_;
};

// The values of the cell (row, column) in a report's "cells"; empty if absent.
inline std::map<std::string, std::int64_t> cell(const boost::json::object& report,
                                                const std::vector<std::string>& row,
                                                std::optional<std::string> column = std::nullopt) {
  for (const auto& c : report.at("cells").as_array()) {
    const auto& o = c.as_object();
    std::vector<std::string> codes;
    for (const auto& s : o.at("row").as_array()) codes.emplace_back(s.as_string());
    const std::optional<std::string> col =
        o.at("column").is_null()
            ? std::nullopt
            : std::optional<std::string>(std::string(o.at("column").as_string()));
    if (codes != row || col != column) continue;
    std::map<std::string, std::int64_t> out;
    for (const auto& [k, v] : o.at("values").as_object()) out[std::string(k)] = v.as_int64();
    return out;
  }
  return {};
}

inline std::int64_t total(const boost::json::object& report, const std::string& measure) {
  return report.at("total").as_object().at(measure).as_int64();
}

inline std::size_t cell_count(const boost::json::object& report) {
  return report.at("cells").as_array().size();
}

}  // namespace haven::test

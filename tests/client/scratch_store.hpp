#pragma once
// What the client tests share: stores in fresh temporary directories,
// records as a field worker types them, a fake physical clock, and short
// ways to read results, outboxes and the state a refused write must not touch.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <haven/client/record_json.hpp>
#include <haven/client/store.hpp>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace haven::test {

using client::field_edit;
using client::outbox_batch;
using client::record;
using client::record_input;
using client::store;
using client::store_options;
using sync::cell;
using sync::record_change;
using sync::record_id;

// A new directory under the system temporary directory with a random name;
// it and everything in it are removed by the destructor. Not copyable.
class temp_dir {
 public:
  temp_dir() {
    std::random_device device;
    std::ostringstream name;
    name << "haven-client-test-" << std::hex << device() << device();
    path_ = std::filesystem::temp_directory_path() / name.str();
    std::filesystem::create_directory(path_);
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path file(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// The value of a result that must be ok; otherwise the test stops with the error.
template <class T>
T must(result<T> r) {
  if (!r.ok()) FAIL(r.err().describe());
  if constexpr (!std::is_void_v<T>) return std::move(r).value();
}

// The error of a result that must have failed with `code`.
template <class T>
error must_fail(const result<T>& r, errc code) {
  REQUIRE_FALSE(r.ok());
  INFO(r.err().describe());
  CHECK(static_cast<int>(r.err().code) == static_cast<int>(code));
  return r.err();
}

inline bool names_field(const std::vector<field_issue>& issues, std::string_view field) {
  return std::any_of(issues.begin(), issues.end(),
                     [&](const field_issue& i) { return i.field == field; });
}

inline std::string describe(const std::vector<field_issue>& issues) {
  return error{errc::invalid_input, "issues:", issues}.describe();
}

// A physical clock the test moves by hand. Copies share the same time, so
// several stores can read one fake "now", each with its own offset.
class fake_time {
 public:
  explicit fake_time(std::uint64_t start_ms = 1'772'323'200'000)  // 2026-03-01
      : ms_(std::make_shared<std::uint64_t>(start_ms)) {}
  void advance(std::uint64_t ms) { *ms_ += ms; }
  void set(std::uint64_t ms) { *ms_ = ms; }
  std::uint64_t now() const { return *ms_; }
  sync::hlc_clock::physical_clock clock(std::int64_t offset_ms = 0) const {
    return [ms = ms_, offset_ms] {
      return static_cast<std::uint64_t>(static_cast<std::int64_t>(*ms) + offset_ms);
    };
  }

 private:
  std::shared_ptr<std::uint64_t> ms_;
};

// Store options whose physical clock reads the fake time, plus an offset
// (a device whose clock is a little wrong).
inline store_options with_clock(const fake_time& time, std::int64_t offset_ms = 0) {
  return {nullptr, sync::hlc_clock::default_max_skew_ms, time.clock(offset_ms)};
}

// A store created in its own temporary directory, removed with it.
class scratch_store {
 public:
  explicit scratch_store(std::string_view team = "team-a", store_options opts = {})
      : db_(must(store::create(file(), team, std::move(opts)))) {}

  store& operator*() { return *db_; }
  store* operator->() { return db_.get(); }
  std::filesystem::path file() const { return dir_.file("haven.db"); }
  const temp_dir& dir() const { return dir_; }
  // Closes the store; reopen() opens it again.
  void close() { db_.reset(); }
  // Closes the store and opens its file again.
  void reopen(store_options opts = {}) {
    db_.reset();
    db_ = must(store::open(file(), std::move(opts)));
  }

 private:
  temp_dir dir_;
  std::unique_ptr<store> db_;
};

using field_texts = std::vector<std::pair<std::string, std::string>>;

inline record_input input(std::string type, field_texts fields, std::string team = "") {
  return record_input{std::move(type), std::move(team), std::move(fields)};
}

// An individual PATS interview at the Vič asylum centre.
inline record_input pats_individual() {
  return input("pats_session", {{"date", "2026-03-02"},
                                {"site", "vic"},
                                {"format", "individual"},
                                {"person", "P-7F3A-9C21J"},
                                {"sex", "female"},
                                {"age_band", "adult"},
                                {"nationality", "UA"},
                                {"status", "temporary-protection"},
                                {"topics", "thb,gbv"},
                                {"referral", "none"}});
}

// A group session at Logatec with 14 participants.
inline record_input pats_group() {
  return input("pats_session", {{"date", "2026-03-03"},
                                {"site", "logatec"},
                                {"format", "group"},
                                {"participants", "14"},
                                {"topics", "thb,sexual-violence"}});
}

// A person admitted to crisis accommodation for 3 care days.
inline record_input crisis_case() {
  return input("assistance_case", {{"programme", "crisis-accommodation"},
                                   {"person", "C-19B2-E04DT"},
                                   {"sex", "female"},
                                   {"age_band", "adult"},
                                   {"nationality", "NG"},
                                   {"exploitation", "sexual"},
                                   {"offence", "art113-thb"},
                                   {"referred_by", "police"},
                                   {"admitted", "2026-03-01"},
                                   {"discharged", "2026-03-04"},
                                   {"services", "accommodation,food,psychological"}});
}

// A night call from the police that ended in an admission.
inline record_input on_call() {
  return input("on_call_event", {{"date", "2026-03-01"},
                                 {"caller", "police"},
                                 {"outcome", "admitted"},
                                 {"response_minutes", "45"}});
}

// A secondary-school workshop in Podravska.
inline record_input workshop() {
  return input("prevention_workshop", {{"date", "2026-03-10"},
                                       {"audience", "secondary-school"},
                                       {"region", "podravska"},
                                       {"participants", "27"},
                                       {"teachers", "2"}});
}

inline field_edit set_field(std::string field, std::string text) {
  return {std::move(field), field_edit::op::set, std::move(text)};
}
inline field_edit add_elements(std::string field, std::string text) {
  return {std::move(field), field_edit::op::add, std::move(text)};
}
inline field_edit remove_elements(std::string field, std::string text) {
  return {std::move(field), field_edit::op::remove, std::move(text)};
}

// The record with this id, which the store must know.
inline record get_record(store& db, const record_id& id) {
  auto r = must(db.get(id));
  REQUIRE(r.has_value());
  return std::move(*r);
}

// A field as the user would type it; "" when absent.
inline std::string text_of(const record& r, std::string_view key) {
  auto it = r.fields.find(key);
  return it == r.fields.end() ? std::string() : to_text(it->second);
}

inline std::optional<std::int64_t> derived_of(const record& r, std::string_view key) {
  for (const auto& [k, v] : r.derived)
    if (k == key) return v;
  return std::nullopt;
}

inline std::string describe(const cell& c) {
  return c.key + "=" + to_text(c.val) + "@" + std::to_string(c.at.time.packed) + "/" +
         std::to_string(c.at.node);
}

inline std::vector<cell> all_cells(const outbox_batch& b) {
  std::vector<cell> out;
  for (const auto& ch : b.changes) out.insert(out.end(), ch.cells.begin(), ch.cells.end());
  return out;
}

// The cells the batch holds for one record, in batch order.
inline std::vector<cell> cells_of(const outbox_batch& b, const record_id& id) {
  std::vector<cell> out;
  for (const auto& ch : b.changes)
    if (ch.id == id) out.insert(out.end(), ch.cells.begin(), ch.cells.end());
  return out;
}

inline std::vector<std::string> keys_of(const std::vector<cell>& cells) {
  std::vector<std::string> keys;
  for (const auto& c : cells) keys.push_back(c.key);
  return keys;
}

// The status counters as one line, to check them all at once:
// "records=1 pending_records=1 pending_cells=6 local_seq=6 acked=0 pulled=0".
inline std::string counts_of(store& db) {
  const auto s = must(db.status());
  return "records=" + std::to_string(s.records) +
         " pending_records=" + std::to_string(s.pending_records) +
         " pending_cells=" + std::to_string(s.pending_cells) +
         " local_seq=" + std::to_string(s.local_seq) + " acked=" + std::to_string(s.acked_seq) +
         " pulled=" + std::to_string(s.pulled_seq);
}

// Everything a refused write must leave as it was: counters, cursors,
// records and the outbox, as one comparable text.
inline std::string state_of(store& db) {
  std::string out = counts_of(db) + "\nlist=" + to_json(must(db.list())) + "\noutbox=";
  for (const auto& ch : must(db.outbox()).changes) {
    out += ch.id.hex() + "{";
    for (const auto& c : ch.cells) out += describe(c) + ";";
    out += "}";
  }
  return out;
}

// A change as the server would forward it from another device.
inline record_change remote_change(const record_id& id, std::vector<cell> cells,
                                   std::string type = "pats_session", std::string team = "team-a") {
  return record_change{id, std::move(type), std::move(team), std::move(cells)};
}

inline cell remote_cell(std::string key, value v, sync::hlc time, sync::node_id node = 0x5eed) {
  return cell{std::move(key), std::move(v), sync::stamp{time, node}};
}

}  // namespace haven::test

// libFuzzer target: a device's pull path. The input is frames (fuzz_check.hpp:
// a 2-byte length before each, at most max_frames); every one that decodes to
// a change batch is applied to a device store the way the sync client applies
// a pulled batch (store::apply_remote with the batch's position, then
// mark_synced once the batch says the device has caught up). The store is a
// file on tmpfs, copied before every input from one made at start-up with the
// records of device_records.hpp and two local edits not yet pushed.
//
// Properties: no crash or undefined behaviour. A refused batch is refused as
// protocol (the validator), forbidden (a record's type or team contradicted)
// or clock_skew (stamped too far ahead), with a printable message, and leaves every row of the
// store as it was (records, cells, stamps, cursors, clock). An accepted batch moves the pull cursor
// to its position and leaves only records whose every cell passes the device's check again
// (check_change with keep_inert_values: a known type, a team code, values in range); a deleted
// record keeps only its deletion marker; every known field read back through the store's API passes
// check_value (a set may also hold codes of a newer schema, which must be codes); applying the
// batch again changes nothing. After the input, a record the device writes is stamped after every
// timestamp it holds (its own writes win over what it pulled).

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <haven/client/store.hpp>
#include <haven/core/clock.hpp>
#include <haven/sqlite/cell_table.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <haven/sync/protocol.hpp>
#include <haven/sync/validate.hpp>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "device_records.hpp"
#include "fuzz_check.hpp"

using namespace haven;
using namespace haven::sync;

namespace {

constexpr std::size_t max_frames = 4;
constexpr std::int64_t synced_at_ms = 1'772'409'600'000;

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::filesystem::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) fuzz::fail("cannot write " + file.string());
}

template <class T>
T must(result<T> r, const std::string& what) {
  if (!r.ok()) fuzz::fail(what + " failed: " + r.err().describe());
  if constexpr (!std::is_void_v<T>) return std::move(r).value();
}

// Every row of the store's tables, one text line each.
constexpr const char* row_queries[] = {
    "SELECT quote(r.id) || ' ' || quote(t.name) || ' ' || quote(m.name) || ' ' || r.deleted "
    "FROM records r JOIN names t ON t.id = r.type JOIN names m ON m.id = r.team ORDER BY r.id",
    "SELECT quote(r.id) || ' ' || quote(r.last_seq) || ' ' || quote(r.cells) FROM records r "
    "ORDER BY r.id",
    "SELECT id || ' ' || quote(name) FROM names ORDER BY id",
    "SELECT quote(key) || ' ' || quote(value) FROM meta ORDER BY key",
};

// The device store, made once, and a fresh copy of it for each input.
class device {
 public:
  device() {
    const std::filesystem::path shm = "/dev/shm";
    std::error_code ec;
    const auto base =
        std::filesystem::is_directory(shm, ec) ? shm : std::filesystem::temp_directory_path();
    dir_ = base / ("haven-fuzz-pull-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_, ec);
    std::filesystem::create_directories(dir_);
    const auto made = dir_ / "template.db";
    {
      auto db =
          must(client::store::create(made, fuzz::device_team, options()), "creating the store");
      must(db->apply_remote(fuzz::device_records(), fuzz::device_pulled_seq),
           "pulling the first records");
      must(db->edit(fuzz::device_record_id(1), {{"sex", client::field_edit::op::set, "female"}}),
           "an edit");
      must(db->edit(fuzz::device_record_id(2),
                    {{"participants", client::field_edit::op::set, "15"}}),
           "an edit");
    }
    if (std::filesystem::exists(made.string() + "-wal"))
      fuzz::fail("the closed store left its WAL behind");
    template_ = read_file(made);
    file_ = dir_ / "device.db";
  }
  ~device() {
    store_.reset();
    rows_db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // The store as it was made, in a new file.
  client::store& fresh() {
    store_.reset();
    rows_db_.reset();
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(file_.string() + suffix);
    write_file(file_, template_);
    store_ = must(client::store::open(file_, options()), "opening the store");
    rows_db_ = std::make_unique<sqlite::database>(file_, sqlite::database::mode::open_existing);
    return *store_;
  }

  // Every row of the store, as text: what a refused batch must not change.
  std::string rows() {
    std::string out;
    sqlite::transaction snapshot(*rows_db_, sqlite::transaction::kind::read);
    for (const char* sql : row_queries) {
      sqlite::statement st(*rows_db_, sql);
      while (st.step()) out += st.text(0) + "\n";
      out += "--\n";
    }
    snapshot.commit();
    return out;
  }

  // Every record the store holds, cells and all, as a change.
  std::vector<record_change> records() {
    std::vector<record_change> out;
    sqlite::transaction snapshot(*rows_db_, sqlite::transaction::kind::read);
    sqlite::statement st(*rows_db_,
                         "SELECT r.id, t.name, m.name, r.deleted FROM records r JOIN names t ON "
                         "t.id = r.type JOIN names m ON m.id = r.team ORDER BY r.id");
    std::vector<bool> deleted;
    while (st.step()) {
      out.push_back({sqlite::read_id(st, 0), st.text(1), st.text(2), {}});
      deleted.push_back(st.integer(3) != 0);
    }
    sqlite::cell_table table(*rows_db_);
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i].cells = table.cells(out[i].id);
      if (deleted[i])
        fuzz::require(
            out[i].cells.size() == 1 && is_deletion(out[i].cells[0]),
            "deleted record " + out[i].id.hex() + " keeps cells beside its deletion marker");
    }
    rows_db_->reset_cached();
    snapshot.commit();
    return out;
  }

 private:
  static client::store_options options() {
    return {nullptr, hlc_clock::default_max_skew_ms, [] { return fuzz::device_millis; }};
  }

  std::filesystem::path dir_, file_;
  std::string template_;
  std::unique_ptr<client::store> store_;
  std::unique_ptr<sqlite::database> rows_db_;
};

bool is_code_text(std::string_view s) {
  return !s.empty() && s.size() <= 64 &&
         s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
             std::string_view::npos;
}

// What an accepted batch may leave: records whose every cell the device's
// check accepts (the team is the server's to choose: it pulls by team); through the API, known
// fields that pass check_value and unknown ones that hold only codes.
void require_valid_store(device& d, client::store& db) {
  const date tomorrow{today_local().days + 1};  // as apply_remote's, or later
  for (const record_change& r : d.records()) {
    const auto issues = check_change(db.schema(), r, tomorrow, unknown_fields::keep_inert_values);
    if (!issues.empty())
      fuzz::fail("the device holds a record that fails its check: " +
                 describe_issues(db.schema(), r.id, r.type, issues));
  }
  for (const client::record& r : must(db.list(), "list")) {
    const record_type* t = db.schema().type(r.type);
    fuzz::require(t != nullptr, "list() shows a record of an unknown type");
    for (const auto& field : r.fields) {  // no structured binding: a lambda below names the key
      const std::string& key = field.first;
      const value& v = field.second;
      if (const field_def* f = t->field(key)) {
        value known = v;  // a set may hold codes of a newer schema: codes, unchecked
        if (auto* set = std::get_if<code_set>(&known))
          std::erase_if(*set, [&](const std::string& code) {
            if (f->has_code(code)) return false;
            fuzz::require(is_code_text(code), "list() shows free text in the set " + key);
            return true;
          });
        if (auto why = t->check_value(*f, known, tomorrow))
          fuzz::fail("list() shows " + key + " of " + r.id.hex() +
                     " with a value that fails check_value: " + *why);
      } else if (const auto* text = std::get_if<std::string>(&v)) {
        fuzz::require(is_code_text(*text), "list() shows free text in the unknown field " + key);
      } else if (const auto* set = std::get_if<code_set>(&v)) {
        for (const auto& code : *set)
          fuzz::require(is_code_text(code), "list() shows free text in the unknown set " + key);
      }
    }
  }
}

// Applies one pulled batch as the sync client does, and checks what it did.
// Returns whether it was accepted.
bool apply(device& d, client::store& db, const change_batch& batch) {
  const std::string before = d.rows();
  auto applied = db.apply_remote(batch.changes, batch.up_to);
  if (!applied) {
    const errc code = applied.err().code;
    fuzz::require(
        code == errc::protocol || code == errc::forbidden || code == errc::clock_skew,
        "apply_remote() refused a batch as other than protocol, forbidden or clock_skew: " +
            applied.err().describe());
    fuzz::require_printable(applied.err().message, "the message of a refused batch");
    fuzz::require(d.rows() == before, "a refused batch changed the store");
    return false;
  }
  if (!batch.more) must(db.mark_synced(synced_at_ms), "mark_synced");
  fuzz::require(must(db.status(), "status").pulled_seq == batch.up_to,
                "an accepted batch did not move the pull cursor to its position");
  require_valid_store(d, db);
  const std::string after = d.rows();
  must(db.apply_remote(batch.changes, batch.up_to), "applying an accepted batch again");
  fuzz::require(d.rows() == after, "applying an accepted batch again changed the store");
  return true;
}

// A record written on the device now must be stamped after every cell it holds.
void require_local_write_wins(device& d, client::store& db) {
  hlc latest{};
  for (const record_change& r : d.records())
    for (const cell& c : r.cells) latest = std::max(latest, c.at.time);
  const std::string day = to_string(date{today_local().days - 1});
  const auto id = db.add({"prevention_workshop",
                          "",
                          {{"date", day},
                           {"audience", "professionals"},
                           {"region", "podravska"},
                           {"participants", "9"}}});
  if (!id) fuzz::fail("the device could not record after a pull: " + id.err().describe());
  for (const record_change& r : must(db.outbox(), "outbox").changes)
    if (r.id == id.value())
      for (const cell& c : r.cells)
        fuzz::require(c.at.time > latest, "a record written after a pull is stamped at " +
                                              std::to_string(c.at.time.packed) +
                                              ", not after the " + std::to_string(latest.packed) +
                                              " the device holds");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static device d;
  std::vector<change_batch> batches;
  for (std::string_view frame :
       fuzz::split_frames(std::string_view(reinterpret_cast<const char*>(data), size))) {
    if (batches.size() == max_frames) break;
    auto decoded = decode(frame);
    if (decoded && std::holds_alternative<change_batch>(decoded.value()))
      batches.push_back(std::get<change_batch>(std::move(decoded).value()));
  }
  if (batches.empty()) return 0;
  client::store& db = d.fresh();
  for (const change_batch& batch : batches) apply(d, db, batch);
  require_local_write_wins(d, db);
  return 0;
}

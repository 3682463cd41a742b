#pragma once
// The device's local store: records as merged cells in SQLite (WAL), the
// outbox of local changes, the sync cursors, the node id and its HLC.
// Every write is one transaction: cells, outbox stamps and the clock move
// together or not at all.
//
// A store owns one SQLite connection and is not thread-safe: use it from one
// thread at a time (two stores on the same file in two processes are fine).

#include <cstdint>
#include <filesystem>
#include <haven/core/result.hpp>
#include <haven/schema/schema.hpp>
#include <haven/sync/change.hpp>
#include <haven/sync/merge.hpp>
#include <haven/sync/protocol.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace haven::client {

// A record as the shells see it.
struct record {
  sync::record_id id;
  std::string type;
  std::string team;
  field_map fields;  // set fields as code_set; unknown (newer-schema) fields kept
  std::vector<std::pair<std::string, std::int64_t>> derived;  // e.g. care_days, when defined
  bool deleted = false;                                       // only the deletion marker is left
  bool pending = false;  // has changes the server has not acknowledged
};

// A new record as typed by a user or read from an import line: field values
// as text, parsed with the schema (see field_def::parse).
struct record_input {
  std::string type;
  std::string team;  // empty: the store's default team
  std::vector<std::pair<std::string, std::string>> fields;
};

// One change to one field: set a value (empty text clears it), or add or
// remove elements of a set field.
struct field_edit {
  enum class op { set, add, remove };
  std::string field;
  op action = op::set;
  std::string text;
};

// What a device keeps from its enrollment (`haven enroll`). The private key
// never leaves the device; wipe() erases all of this with the records.
struct credentials {
  std::string server_url;     // where to sync: wss://HOST:PORT/sync (ws:// only on loopback)
  std::string device_id;      // assigned by the server
  std::string team;           // the only team this device records for and syncs
  std::string role;           // "worker" or "coordinator"
  std::string private_key;    // Ed25519 seed, 32 bytes: signs the sync handshake
  std::string pseudonym_key;  // the team's HMAC-SHA-256 key for person codes, 32 bytes
  std::string ca_pem;         // pinned server certificate(s), PEM; empty: the system's store
};

// The store was erased on the server's order (see store::wipe).
struct wipe_mark {
  sync::standing reason = sync::standing::revoked;  // retired or revoked
  std::int64_t at_ms = 0;
};

// What a sync needs to know of the store: read from its counters, without
// counting anything.
struct sync_state {
  sync::node_id node = 0;
  std::string default_team;
  std::int64_t schema_version = 0;
  std::uint64_t local_seq = 0;               // last local sequence number issued
  std::uint64_t acked_seq = 0;               // server has acknowledged pushes up to here
  std::uint64_t pulled_seq = 0;              // pulled the server log up to here
  std::optional<std::int64_t> last_sync_ms;  // unix ms of the last completed sync
  std::optional<std::string> device_id;      // set once enrolled
  std::optional<wipe_mark> wiped;            // set once erased on the server's order
};

// The sync state and what the store holds.
struct store_status : sync_state {
  std::size_t records = 0;          // live (not deleted)
  std::size_t pending_records = 0;  // records with unacknowledged changes
  std::size_t pending_cells = 0;    // outbox size
};

// Outbox contents for one push: the records written here whose latest local
// write is in (acked_seq, last_seq], each with its local cells the server
// may lack (see store::outbox).
struct outbox_batch {
  std::uint64_t last_seq = 0;
  std::vector<sync::record_change> changes;
  std::size_t cells = 0;
};

struct store_options {
  std::shared_ptr<const haven::schema> record_schema;  // nullptr: the built-in schema
  // The server's bound on how far ahead of its clock a pushed cell may be
  // stamped; a pulled cell may be twice as far ahead of this device's clock.
  std::uint64_t max_skew_ms = sync::hlc_clock::default_max_skew_ms;
  sync::hlc_clock::physical_clock clock = &sync::hlc_clock::system_millis;
};

class store {
 public:
  using options = store_options;

  // Creates a new store at `file` with a fresh random node id and default team.
  // errc::already_exists if the file exists; errc::invalid_input for a bad team.
  static result<std::unique_ptr<store>> create(const std::filesystem::path& file,
                                               std::string_view default_team, options opts = {});
  // Opens an existing store; errc::not_found if there is none.
  static result<std::unique_ptr<store>> open(const std::filesystem::path& file, options opts = {});
  ~store();

  // Validates and writes a new record; returns its id. errc::invalid_input
  // with one issue per problem, and nothing written, if it is not valid.
  // Every write (add, add_all, edit, remove) is refused with nothing written:
  // errc::unauthorized on a wiped store, errc::forbidden on a store enrolled
  // as a coordinator (which can never sync a record).
  result<sync::record_id> add(const record_input& input);
  // The problems add() would report for this input, without writing anything
  // (for forms that check as the user types). Empty means valid.
  result<std::vector<field_issue>> check(const record_input& input);
  // Adds all records in one transaction, or none: errc::invalid_input with
  // issues whose field reads "line N: field" (N = index + first_line).
  result<std::vector<sync::record_id>> add_all(const std::vector<record_input>& inputs,
                                               std::size_t first_line = 1);
  // Applies the edits to a live record if the result is valid.
  // errc::not_found if there is no such record or it is deleted.
  result<void> edit(const sync::record_id& id, const std::vector<field_edit>& edits);
  // Deletes a record: its values are erased here and, after sync, everywhere.
  result<void> remove(const sync::record_id& id);

  // The record (live or deleted), or nullopt if this store never saw it.
  result<std::optional<record>> get(const sync::record_id& id);
  // The id of the one record (live or deleted) whose id begins with `prefix`,
  // 4 to 32 hex characters in either case, as git takes a commit's. Errors:
  // errc::invalid_input for a prefix that is not that; errc::ambiguous when
  // several records' ids begin with it (naming two); errc::not_found when none does.
  result<sync::record_id> resolve_id(std::string_view prefix);
  // Live records, optionally of one type, oldest first.
  result<std::vector<record>> list(std::optional<std::string_view> type = std::nullopt);
  // The sync state and the counts of records and of the outbox; the live
  // records are counted one by one.
  result<store_status> status();
  // The sync state only, for a sync (several times a sync, on a device of
  // any size).
  result<sync_state> sync_status();
  // The cells in the outbox (status().pending_cells), read from the records
  // the index finds written since the last acknowledgement: as quick as the
  // outbox is small.
  result<std::size_t> outbox_cells();

  // The records written here since the last acknowledgement, in the order
  // of their latest local write, each with its unacknowledged local cells in
  // one change. It stops at the first record boundary once max_cells cells
  // are in (so a record's cells are never split between pushes), or at
  // max_records changes.
  result<outbox_batch> outbox(std::size_t max_cells = 4000,
                              std::size_t max_records = sync::frame_limits{}.max_records);
  // The server has committed the outbox up to `seq`, a batch's last_seq.
  result<void> acknowledge(std::uint64_t seq);
  // The server has lost what it acknowledged after `seq` (e.g. restored from
  // a backup): the records written since go into the outbox again, with all
  // their local cells.
  result<void> resend_after(std::uint64_t seq);
  // Merges changes received from the server and moves the pull cursor to
  // `pulled_up_to`, in one transaction. Cells of unknown fields are kept.
  // A batch is refused whole, nothing of it applied: errc::protocol for a
  // change the device's check refuses (sync::check_change), errc::forbidden
  // for a record held here with another type or team, errc::clock_skew for a
  // cell stamped more than 2 * max_skew_ms ahead of this device's clock, or
  // of the server's clock as note_server_clock() last gave it when that is
  // ahead (the server takes pushes up to max_skew ahead of its clock; a stamp
  // further ahead would move this device's clock so far that the server
  // refused its own changes, or left it none to stamp).
  result<sync::merge_stats> apply_remote(const std::vector<sync::record_change>& changes,
                                         std::uint64_t pulled_up_to);
  // The server's clock at the start of a sync (its welcome). A device whose
  // clock is behind the server's then still takes what the server took from
  // devices with correct clocks. Kept in memory for this store object only.
  void note_server_clock(sync::hlc server_time) noexcept;

  // Keeps a schema a server sent if it is newer than the store's (by
  // version); records are then validated with it, here and after restarts.
  // Returns whether it was adopted; errc::schema if it does not parse.
  result<bool> adopt_schema(std::string_view json);
  // Records the time of a completed sync (unix ms), shown by status().
  result<void> mark_synced(std::int64_t now_ms);

  // Keeps the enrollment and makes its team the default team; a wiped store
  // (also one wiped by an earlier release, which kept its node id) gets a new
  // node id.
  // errc::already_exists if the store is enrolled already; errc::invalid_input
  // for malformed credentials or if the store holds records of another team.
  result<void> enroll(const credentials& c);
  // The enrollment, or nullopt if the device is not enrolled (or was wiped).
  result<std::optional<credentials>> enrollment();
  // The device's server moved: later syncs go to `server_url` (the rest of the
  // enrollment stays). errc::not_found if the store is not enrolled.
  result<void> move_server(std::string_view server_url);
  // Erases every record, cell, outbox stamp, cursor and the credentials, and
  // draws a new node id (enrolled again, the store is a new device that is
  // sent every cell its old node wrote), in one transaction with freed pages
  // overwritten (secure_delete), then
  // truncates the WAL and vacuums, so neither file keeps a record's value.
  // The store stays, marked wiped: writes are refused (errc::unauthorized)
  // until it is enrolled again. For reason retired (a device handed back)
  // it refuses with errc::invalid_input, erasing nothing, while any local
  // change is unsent; the check and the erasure are one transaction. A reason
  // of active is refused (errc::invalid_input).
  result<void> wipe(sync::standing reason, std::int64_t now_ms);

  const haven::schema& schema() const;
  sync::node_id node() const;

 private:
  struct impl;
  explicit store(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace haven::client

#pragma once
// The SQLite tally_store: every declared tally of every period in tally_*
// tables of the central store, committed and rolled back with the changes
// that move them. Not thread-safe; the database and schema must outlive it.

#include <functional>
#include <haven/core/clock.hpp>
#include <haven/core/result.hpp>
#include <haven/schema/schema.hpp>
#include <haven/server/tally_labels.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <haven/sync/change.hpp>
#include <haven/tally/cell_names.hpp>
#include <haven/tally/contribution.hpp>
#include <haven/tally/report.hpp>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace haven::server {

class tally_book {
 public:
  using clock = std::function<date()>;

  // Creates the tally_* tables if missing. `today` says which stays are open
  // up to which period. Throws failure(errc::store) if the database fails.
  tally_book(sqlite::database& db, std::shared_ptr<const schema> s, clock today = today_utc);
  tally_book(const tally_book&) = delete;
  tally_book& operator=(const tally_book&) = delete;

  // One record's change: its state as the book last counted it and its new
  // merged state, as sync::fields_from_cells gives them (nullptr: the
  // record was new or deleted; is deleted). `type` and the fields must
  // outlive the call. The book keeps no copy of a record's fields: the
  // caller's store holds them, in the same transaction as the tally.
  struct change {
    std::int64_t record = 0;  // the record's integer id in the caller's store
    std::string_view type;
    const field_map* before = nullptr;
    const field_map* fields = nullptr;
  };

  // Makes the tallies count each record as its change says: the
  // contribution of `before` is retracted and that of `fields` added.
  // Costs O(the cells its old and new contributions touch) per record, and
  // nothing for a record whose read fields did not change; cells shared by
  // records of the batch are written once, so prefer one call per push batch
  // to one call per record. Types no tally counts are ignored.
  // Requires: each record at most once; `before` is what the last update
  // of the record gave as `fields`; inside the caller's open transaction,
  // which is what makes the update atomic; if it throws (errc::store), roll
  // that transaction back.
  void update(std::span<const change> changes);
  // The same for one record.
  void update(const change& one) { update(std::span<const change>(&one, 1)); }

  // A counted record as the caller's store holds it now.
  struct stored_record {
    std::string type;
    field_map fields;
  };
  using record_reader = std::function<std::optional<stored_record>(std::int64_t record)>;
  // Moves the open stays (stays without an end, counted up to today) on to
  // the current month and year, when today has moved into a new month since
  // they were counted; `read` gives such a record's fields. Call it at start
  // and once a day. Runs in its own savepoint, inside the caller's
  // transaction if there is one. Throws errc::store if `read` lacks a record
  // the book counts as open.
  void refresh_open_stays(const record_reader& read);

  // True if the stored tallies were counted under other tally declarations
  // (the schema's tallies, or the rules of this code, changed since); a new
  // book on a fresh database adopts its declarations. While a replay is
  // pending, update() and refresh_open_stays() do nothing and the reports
  // fail with errc::store: call reset(), which starts a recount.
  bool needs_replay() const;
  // Forgets every record and amount, adopts the current declarations and
  // starts a recount from the first record. Requires: inside the caller's
  // open transaction (if it rolls back, construct the book again).
  void reset();

  // A recount counts the store's records again in the order of their
  // integer ids, a part per transaction, while the store takes changes:
  // update() counts a change to a record the recount has passed and leaves
  // the others to it, which reads their state when it gets there. Until it
  // ends, the reports fail with errc::unavailable. It survives a restart.
  //
  // The record id the recount has counted up to (0 at its start), or none
  // when no recount is under way. Requires: inside a transaction.
  std::optional<std::int64_t> recounted_to() const;
  // Moves the recount on past `record`; then update() the records up to it
  // that it had not passed, as new. Requires: recounted_to() < record, inside
  // the caller's transaction.
  void recount_to(std::int64_t record);
  // Ends the recount once it has passed every record, in the transaction
  // that read the last of them.
  void end_recount();

  // The stored amounts of tally `id` for `period` ({year, 0} or {year,
  // month}): what tally_store::amounts returns, with its errors
  // (errc::not_found for an unknown tally, errc::store while a replay is
  // pending or if the database fails, errc::unavailable while a recount is
  // under way).
  result<std::vector<tally::stored_amount>> amounts(std::string_view id,
                                                    tally::tally_period period) const;

 private:
  sqlite::database& db_;
  std::shared_ptr<const schema> schema_;
  // The numbers of the cells' paths and columns, this process's: the tables keep labels.
  tally::cell_names names_;
  tally_labels labels_;
  clock today_;
  // The fields each counted type's tallies read: a record whose read
  // fields did not change keeps its contribution.
  std::map<std::string, std::vector<std::string>, std::less<>> read_fields_;
  // The declarations this book counts under, as a canonical text.
  std::string declarations_;
  // The day an open stay was counted for. Throws errc::store if the book lacks it.
  date open_since(std::int64_t record) const;
  // Whether the stored tallies were counted under others when the book was made.
  bool replay_pending_ = false;
};

}  // namespace haven::server

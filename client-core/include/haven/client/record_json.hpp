#pragma once
// JSON forms of records, import lines, edits, the store's status, sync
// summaries and enrollments, shared by the shells and the C ABI. Values:
// integers as numbers, codes and dates as strings, booleans, set fields as
// arrays of codes.

#include <cstddef>
#include <haven/client/enrollment.hpp>
#include <haven/client/store.hpp>
#include <haven/client/sync_client.hpp>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace haven::client {

// {"id", "type", "team", "deleted", "pending", "fields": {...}, "derived": {...}}
std::string to_json(const record& r);
// A JSON array of records.
std::string to_json(const std::vector<record>& records);
// {"node", "default_team", "schema_version", "records", "pending_records",
//  "pending_changes", "local_seq", "acked_seq", "pulled_seq", "last_sync_ms",
//  "device_id", "wiped": {"reason", "at_ms"}}; the last three null when unset.
std::string to_json(const store_status& s);
// {"batches_up", "changes_up", "batches_down", "changes_down",
//  "pending_changes", "pulled_seq", "wiped": {"reason", "at_ms"} or null}:
// "wiped" set means the server ordered the store erased, and it was.
std::string to_json(const sync_summary& s);
// [{"field", "message"}, ...]: the problems of a record (store::check), as a
// form shows them beside their fields ("field" empty for the whole record).
std::string to_json(const std::vector<field_issue>& issues);
// {"device_id", "team", "role", "server_url", "token"}: "token" only for a
// coordinator. No key is ever part of it.
std::string to_json(const enrollment_result& r);

// One import line: {"type": "...", "team": "...", "fields": {...}} ("team"
// optional). errc::invalid_input saying what is wrong with the line's shape,
// a key given twice included; the field values themselves are checked by the
// store. (So for parse_fields_json and parse_edits_json.)
result<record_input> parse_record_json(std::string_view line);

// The fields of a JSON object {"date": "2026-03-01", "services": ["food"], ...}
// as the text a user would type for each.
result<std::vector<std::pair<std::string, std::string>>> parse_fields_json(std::string_view text);

// The bounds of one import: a line (one record), the whole input, and the
// records in it (all written in one transaction).
inline constexpr std::size_t max_import_line_bytes = 64 * 1024;
inline constexpr std::size_t max_import_bytes = 64 * 1024 * 1024;
inline constexpr std::size_t max_import_records = 100'000;

// Imports JSON lines (blank lines skipped) into the store, all or none: on
// any problem nothing is written and errc::invalid_input lists every bad line
// as issues "line N" / "line N: field" (a key given twice in a line is one).
// The input is read line by line, and refused (errc::invalid_input, nothing
// written, nothing more read) at a line longer than max_import_line_bytes,
// past max_import_bytes, or past max_import_records.
result<std::vector<sync::record_id>> import_jsonl(store& db, std::istream& in);
result<std::vector<sync::record_id>> import_jsonl(store& db, std::string_view text);

// Edits as a JSON object: {"site": "vic", "services+": ["escort"],
// "services-": "food", "discharged": null}; a trailing + or - adds or
// removes set elements, null clears a field.
result<std::vector<field_edit>> parse_edits_json(std::string_view text);

}  // namespace haven::client

#pragma once
// JSON forms of records, import lines and edits, shared by the shells and
// the C ABI. Values: integers as numbers, codes and dates as strings,
// booleans, set fields as arrays of codes.

#include <string>
#include <string_view>
#include <vector>

#include <haven/client/store.hpp>

namespace haven::client {

// {"id", "type", "team", "deleted", "pending", "fields": {...}, "derived": {...}}
std::string to_json(const record& r);
// A JSON array of records.
std::string to_json(const std::vector<record>& records);
std::string to_json(const store_status& s);

// One import line: {"type": "...", "team": "...", "fields": {...}} ("team"
// optional). errc::invalid_input saying what is wrong with the line's shape;
// the field values themselves are checked by the store.
result<record_input> parse_record_json(std::string_view line);

// The fields of a JSON object {"date": "2026-03-01", "services": ["food"], ...}
// as the text a user would type for each.
result<std::vector<std::pair<std::string, std::string>>> parse_fields_json(std::string_view text);

// Imports JSON lines (blank lines skipped) into the store, all or none: on
// any problem nothing is written and errc::invalid_input lists every bad line
// as issues "line N" / "line N: field".
result<std::vector<sync::record_id>> import_jsonl(store& db, std::string_view text);

// Edits as a JSON object: {"site": "vic", "services+": ["escort"],
// "services-": "food", "discharged": null}; a trailing + or - adds or
// removes set elements, null clears a field.
result<std::vector<field_edit>> parse_edits_json(std::string_view text);

}  // namespace haven::client

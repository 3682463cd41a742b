#pragma once
// The check a replica makes of every record change it receives, before it
// merges anything: the server of each pushed change, a device of each pulled
// one, with the same schema code the devices use for what they record. Pure
// and thread-safe.

#include <haven/core/result.hpp>
#include <haven/schema/schema.hpp>
#include <haven/sync/change.hpp>
#include <optional>
#include <vector>

namespace haven::sync {

// Why `change` cannot be stored under schema `s`: a type the schema does not
// declare, a team that is not a team code, a cell whose key is neither a
// field of the type, an element of one of its sets nor the deletion marker,
// or a value its field cannot hold (record_type::check_value with `today`:
// kind, code list, pseudonym format, integer bounds, date range). A set
// element and the deletion marker hold booleans (the marker only true).
// Each issue names the cell's key, or a printable description of a key that
// is no field name, and the rule the value breaks, never the value (a
// refusal is logged and audited). Empty: every cell can be stored. Cross-field rules need
// the merged record and are not checked here (record_type::validate).
// With `unknown` keep_inert_values, a cell of a field or set code that `s`
// does not know (a newer schema's, which a device keeps) passes when its key
// could be a field name and its value is inert: null, a boolean, a bounded
// integer, a date, or a code of [A-Za-z0-9_-] (never free text).
enum class unknown_fields { refuse, keep_inert_values };
std::vector<field_issue> check_change(const schema& s, const record_change& change,
                                      std::optional<date> today,
                                      unknown_fields unknown = unknown_fields::refuse);

// One line for a refusal: "record ID (TYPE): KEY: WHY; KEY: WHY", printable;
// a type `s` does not have is named by its length only, as check_change names keys.
std::string describe_issues(const schema& s, const record_id& id, std::string_view type,
                            const std::vector<field_issue>& issues);

}  // namespace haven::sync

#pragma once
// The declarative schema: record types, their fields and cross-field rules,
// loaded from haven.schema.json. An immutable value once loaded: safe to
// share between threads by const reference or shared_ptr<const schema>.

#include <cstdint>
#include <filesystem>
#include <haven/core/result.hpp>
#include <haven/core/value.hpp>
#include <haven/schema/labels.hpp>
#include <haven/schema/pseudonym.hpp>
#include <haven/schema/tally.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace haven {

enum class field_kind { date, integer, code, code_set, boolean, country, pseudonym };

// The field type's name in a schema file: "date", "integer", "code", "set",
// "boolean", "country" or "pseudonym".
std::string_view to_string(field_kind kind);

// No integer value is larger in magnitude, whatever a schema declares, so
// that sums over millions of records cannot overflow 64 bits.
inline constexpr std::int64_t max_integer_magnitude = 1'000'000'000'000;

// One field of a record type.
struct field_def {
  std::string key;
  field_kind kind = field_kind::code;
  bool required = false;
  std::optional<std::int64_t> min, max;  // integer bounds, inclusive
  bool not_future = false;               // a date that may not be after today
  std::vector<std::string> codes;        // code, code_set and country, in the schema's order
  value default_value;                   // applied on add when the field is not given

  bool is_set() const { return kind == field_kind::code_set; }
  // A binary search once index_codes() has run on the final codes (the
  // schema loader's fields), else a scan.
  bool has_code(std::string_view c) const;
  void index_codes();
  // Parses what a user typed (or a JSON scalar rendered as text) into a value
  // of this field; an empty text is null. Sets are comma-separated codes.
  // On error returns the reason, e.g. "must be one of: vic, logatec, ...".
  result<value> parse(std::string_view text) const;

 private:
  std::vector<std::uint32_t> code_order_;  // positions in codes, by code (index_codes)
};

// A field computed from others, e.g. care_days = max(min, to - from) in days,
// defined only when both dates are set.
struct derived_def {
  std::string key;
  std::string from, to;
  std::int64_t min = 0;
  // The most days `to` may be after `from` (a stay's length), if declared.
  std::optional<std::int64_t> max;
};

// A code field computed from another by a mapping the schema declares, e.g.
// eurostat_citizenship from nationality (SI -> NAT, AT -> EU27_2020_FOR, ...):
//   "derived": {KEY: {"map": SOURCE, "to": {CODE: [source codes] | "else", ...},
//                     "not_recorded": CODE}}
// Each code of the source (a code, set or country field) maps to one code;
// "else" takes every code not listed; an empty source maps to not_recorded,
// or stays empty. A set maps element by element (two elements with one code
// give it once). Tallies read it as they read a field; devices never store it.
struct mapped_def {
  field_def field;  // its key, kind code (code_set for a set source) and codes, in order
  std::string source;
  std::map<std::string, std::string, std::less<>> target_of;  // source code -> code
  std::optional<std::string> otherwise;                       // "else"
  std::optional<std::string> not_recorded;

  // The value of this field for the source field's value `v` (null when the
  // field is absent). A source code the schema does not list (a stored value
  // from an older schema) maps through "else" if there is one, else stays as
  // it is.
  value map(const value& v) const;
  // Whether a record can hold `code`: some source code, "else" or an empty
  // source maps to it. A code nothing maps to (e.g. STLS when the schema
  // cannot tell stateless persons apart) is not recorded: its count is not 0
  // but unknown.
  bool recorded(std::string_view code) const;
};

// The dates any date field may hold: from `earliest` to `years_ahead` years
// after today ("dates": {"earliest", "years_ahead"} in the schema; by default
// 1990-01-01 and 1). Bounds what one record can cost the tally.
struct date_range {
  date earliest = from_civil(1990, 1, 1);
  int years_ahead = 1;
};

// A cross-field rule. It applies when every `when` field holds one of the
// listed codes; then each check must hold.
struct rule_def {
  std::vector<std::pair<std::string, std::vector<std::string>>> when;
  std::vector<std::string> require;                               // fields that must be set
  std::vector<std::string> forbid;                                // fields that must be empty
  std::vector<std::pair<std::string, std::int64_t>> equals;       // integer field == n (if set)
  std::vector<std::pair<std::string, std::int64_t>> max;          // field or derived <= n (if set)
  std::optional<std::pair<std::string, std::string>> not_before;  // first >= second (if both set)
};

class record_type {
 public:
  std::string name;
  std::string title;
  std::vector<field_def> fields;  // in schema order
  std::vector<derived_def> derived;
  std::vector<mapped_def> mapped;
  std::vector<rule_def> rules;
  date_range dates;  // the schema's

  // nullptr if the type has no such field.
  const field_def* field(std::string_view key) const;
  // A field a tally can count by: a stored field, or a mapped one; nullptr if none.
  const field_def* dimension(std::string_view key) const;
  // nullptr if no mapped field has this key.
  const mapped_def* mapping(std::string_view key) const;
  // The derived value `key` of these fields, or nullopt when undefined.
  std::optional<std::int64_t> derive(std::string_view key, const field_map& fields) const;
  // Every problem with a complete record of this type: unknown fields, wrong
  // kinds, missing required fields, out-of-range values, broken rules.
  // Empty means valid. With `today` (the latest date that is today anywhere
  // the caller accepts: the server passes tomorrow in UTC, for time zones
  // ahead of it), dates are also checked against the schema's range and
  // "not_future"; without it only against the earliest date.
  // With `part`, the fields may be only some of a record's (a new record's
  // cells as one push batch carries them, which may hold them in two), so
  // nothing is required; every other rule holds of any part of a valid
  // record, since each one only forbids what is there.
  enum class extent { whole, part };
  std::vector<field_issue> validate(const field_map& fields,
                                    std::optional<date> today = std::nullopt,
                                    extent of = extent::whole) const;
  // Why `v` cannot be the value of field `f` of this type (kind, code list,
  // bounds, date range as in validate), or nullopt if it can. Null always can.
  std::optional<std::string> check_value(const field_def& f, const value& v,
                                         std::optional<date> today) const;
};

class schema {
 public:
  // Parses and checks a schema document. Errors are errc::schema and say
  // where the document is wrong.
  static result<std::shared_ptr<const schema>> parse(std::string_view json_text);
  static result<std::shared_ptr<const schema>> load(const std::filesystem::path& file);
  // The schema this build ships (schema/haven.schema.json at build time).
  static std::string_view builtin_source();
  static std::shared_ptr<const schema> builtin();

  std::int64_t version() const { return version_; }
  // The document this schema was parsed from, verbatim.
  const std::string& source() const { return source_; }
  const std::vector<record_type>& types() const { return types_; }
  // nullptr if no such type.
  const record_type* type(std::string_view name) const;
  // The declared tallies, in schema order.
  const std::vector<tally_def>& tallies() const { return tallies_; }
  // nullptr if no tally has this id.
  const tally_def* tally(std::string_view id) const;
  // What a person reads for its codes, in every language.
  const haven::labels& labels() const { return labels_; }

 private:
  std::int64_t version_ = 0;
  std::string source_;
  std::vector<record_type> types_;
  std::vector<tally_def> tallies_;
  haven::labels labels_;
};

// A team code: 1-32 characters of [a-z0-9-], starting with a letter or digit.
bool valid_team(std::string_view team);

}  // namespace haven

#pragma once
// Tally declarations: the tables the national coordinator publishes, declared
// in the schema's "tallies" array and checked against the record types when
// the schema is parsed. Plain immutable values, shared with the schema.
//
// A declaration in haven.schema.json:
//   {"id": "care-days-by-nationality", "title": "...", "type": "assistance_case",
//    "filter": {"programme": ["crisis-accommodation"]},          (optional)
//    "rows": ["nationality"], "column": "sex",                   (column optional)
//    "measures": [{"id": "care_days", "title": "...", "sum": "care_days"},
//                 {"id": "persons", "title": "...", "distinct": "person"},
//                 {"id": "cases", "title": "...", "count": true}],
//    "period": {"from": "admitted", "to": "discharged"}}         (or "date": FIELD)

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace haven {

enum class measure_kind { count, sum, distinct };

// "count", "sum" or "distinct".
std::string_view to_string(measure_kind kind);

// One number a tally shows in every cell.
struct measure_def {
  std::string id;     // a code, unique within its tally
  std::string title;  // defaults to the id
  measure_kind kind = measure_kind::count;
  // sum: an integer field or a derived field of the type; distinct: a
  // pseudonym field; count: empty.
  std::string field;
};

// A record counts in a tally only when every filter field holds one of the
// codes (for a set field: holds at least one of them).
struct tally_filter {
  std::string field;
  std::vector<std::string> codes;
};

// What places a record in years and months: either the date field `date`, or
// the stay from the date field `from` to the date field `to` (open while
// `to` is empty).
struct tally_dates {
  std::string date;
  std::string from, to;

  bool is_period() const { return date.empty(); }
};

// One declared tally.
struct tally_def {
  std::string id;     // a code, unique in the schema; used in URLs
  std::string title;  // defaults to the id
  std::string type;   // the record type it counts
  std::vector<tally_filter> filter;
  std::vector<std::string> rows;      // 1+ code, country, set or boolean fields
  std::optional<std::string> column;  // the same kinds, or none
  std::vector<measure_def> measures;  // 1+
  tally_dates dates;

  // nullptr if the tally has no such measure.
  const measure_def* measure(std::string_view measure_id) const;
};

}  // namespace haven

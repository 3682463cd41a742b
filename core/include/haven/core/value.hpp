#pragma once
// The values a record field can hold. Thread-safe as plain values.

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>

namespace haven {

// A calendar date (proleptic Gregorian), as days since 1970-01-01.
struct date {
  std::int32_t days = 0;
  auto operator<=>(const date&) const = default;
};

// "YYYY-MM-DD" for a real calendar day in years 1900..2200, or nullopt.
std::optional<date> parse_date(std::string_view text);
std::string to_string(date d);
struct civil_date {
  int year;
  unsigned month;
  unsigned day;
};
civil_date to_civil(date d);
date from_civil(int year, unsigned month, unsigned day);

// The elements of a set field that are present, in code order.
using code_set = std::set<std::string, std::less<>>;

// A field value: null, integer, code (text), date, boolean, or a set of codes.
// Cells never hold a code_set: a set field is one boolean cell per element.
using value = std::variant<std::monostate, std::int64_t, std::string, date, bool, code_set>;

inline bool is_null(const value& v) {
  return std::holds_alternative<std::monostate>(v);
}

// The value as a user would type it: "", "12", "vic", "2025-03-01", "true", "food,escort".
std::string to_text(const value& v);

// A record's fields by key; absent and null mean the same.
using field_map = std::map<std::string, value, std::less<>>;

}  // namespace haven

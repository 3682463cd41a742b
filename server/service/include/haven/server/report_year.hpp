#pragma once
// The year of a tally report as a person types it (havend tally --year,
// ?year= on /api/tallies/{id}): four digits, as in 2026, so that "26" is
// refused rather than read as the year 26, whose tally is all zeros.

#include <optional>
#include <string>
#include <string_view>

namespace haven::server {

// The year `text` names, or nullopt unless it is four digits 1000-9999
// (see year_problem for the years a report covers).
inline std::optional<int> four_digit_year(std::string_view text) {
  if (text.size() != 4 || text.front() < '1' || text.front() > '9') return std::nullopt;
  int year = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    year = year * 10 + (c - '0');
  }
  return year;
}

// Reports cover the years records may have (1900-2200).
inline constexpr int first_report_year = 1900, last_report_year = 2200;

// What is wrong with `text` as the year of a report, said of NAME ("--year",
// "year"), or "" when it is a four-digit year from 1900 to 2200.
inline std::string year_problem(std::string_view name, std::string_view text) {
  const auto year = four_digit_year(text);
  if (!year)
    return std::string(name) + " must be a four-digit year such as 2026 (got " + std::string(text) +
           ")";
  if (*year < first_report_year || *year > last_report_year)
    return std::string(name) + " must be a year from " + std::to_string(first_report_year) +
           " to " + std::to_string(last_report_year) + " (got " + std::string(text) + ")";
  return {};
}

// Years side by side (a tally's ?from=&to=, the report's from): at most this many.
inline constexpr int max_years_side_by_side = 30;

// What is wrong with the years from `from` to `to` side by side, said of
// their names ("from", "--year"), or "" when `from` is `to` or earlier and
// they span at most max_years_side_by_side years.
inline std::string years_problem(std::string_view from_name, int from, std::string_view to_name,
                                 int to) {
  if (from <= to && to - from < max_years_side_by_side) return {};
  return std::string(from_name) + " must be no later than " + std::string(to_name) +
         ", and the years side by side at most " + std::to_string(max_years_side_by_side);
}

}  // namespace haven::server

// field_def::parse: what a user types into each kind of field, and the value
// helpers behind it (dates, text form, teams, pseudonyms).

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <utility>

#include "shipped_schema.hpp"

using namespace haven;
using namespace haven::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

value day(int y, unsigned m, unsigned d) {
  return value{from_civil(y, m, d)};
}

// A field of a kind the shipped schema does not use, or with other bounds.
field_def field_with(field_kind kind, std::optional<std::int64_t> min = {},
                     std::optional<std::int64_t> max = {}) {
  field_def f;
  f.key = "x";
  f.kind = kind;
  f.min = min;
  f.max = max;
  return f;
}

}  // namespace

TEST_CASE("an empty text is null for every kind of field", "[schema][field]") {
  for (const char* key : {"date", "site", "participants", "person", "nationality", "topics"})
    CHECK(is_null(parsed(pats(), key, "")));
  const field_def flag = field_with(field_kind::boolean);
  REQUIRE(flag.parse(""));
  CHECK(is_null(flag.parse("").value()));
}

TEST_CASE("dates: real calendar days in 1900..2200", "[schema][field]") {
  CHECK(parsed(pats(), "date", "2025-03-01") == day(2025, 3, 1));
  CHECK(parsed(pats(), "date", "2024-02-29") == day(2024, 2, 29));  // leap year
  CHECK(parsed(pats(), "date", "2000-02-29") == day(2000, 2, 29));  // divisible by 400
  CHECK(parsed(pats(), "date", "1900-01-01") == day(1900, 1, 1));
  CHECK(parsed(pats(), "date", "2200-12-31") == day(2200, 12, 31));
  CHECK(parsed(pats(), "date", "1970-01-01") == value{date{0}});

  for (const char* bad :
       {"2023-02-29", "1900-02-29", "2100-02-29", "2025-04-31", "2025-13-01",  "2025-00-10",
        "2025-01-00", "2025-01-32", "1899-12-31", "2201-01-01", "0000-01-01",  "9999-12-31",
        "2025-3-1",   "25-03-01",   "2025/03/01", "20250301",   "2025-03-01 ", " 2025-03-01",
        "2025-03-1x", "2025--1-01", "2025-01--1", "+025-01-01", "yesterday",   "2025-03-01T00"}) {
    CAPTURE(bad);
    CHECK_THAT(refusal(pats(), "date", bad), StartsWith("must be a date YYYY-MM-DD"));
  }
  CHECK_THAT(refusal(pats(), "date", "2023-02-29"),
             Contains("\"2023-02-29\"") && Contains("on the calendar"));
}

TEST_CASE("parse_date, to_string and civil dates agree", "[schema][field]") {
  CHECK(parse_date("1970-01-02") == date{1});
  CHECK(parse_date("1969-12-31") == date{-1});
  CHECK_FALSE(parse_date("2023-02-29").has_value());
  for (const char* text : {"1900-01-01", "1999-12-31", "2024-02-29", "2025-03-01", "2200-12-31"}) {
    CAPTURE(text);
    const auto d = parse_date(text);
    REQUIRE(d.has_value());
    CHECK(to_string(*d) == text);
    CHECK(to_text(value{*d}) == text);
  }
  const civil_date c = to_civil(from_civil(2024, 2, 29));
  CHECK(c.year == 2024);
  CHECK(c.month == 2u);
  CHECK(c.day == 29u);
}

TEST_CASE("integers: whole numbers within min and max", "[schema][field]") {
  CHECK(parsed(pats(), "participants", "1") == value{std::int64_t{1}});
  CHECK(parsed(pats(), "participants", "2534") == value{std::int64_t{2534}});
  CHECK(refusal(pats(), "participants", "0") == "must be at least 1 (got 0)");
  CHECK(refusal(pats(), "participants", "-3") == "must be at least 1 (got -3)");
  CHECK(parsed(workshop(), "teachers", "0") == value{std::int64_t{0}});
  CHECK(refusal(workshop(), "teachers", "-1") == "must be at least 0 (got -1)");
  for (const char* bad :
       {"abc", "1.5", "12x", " 3", "3 ", "+3", "0x10", "1e3", "99999999999999999999"}) {
    CAPTURE(bad);
    CHECK_THAT(refusal(pats(), "participants", bad), StartsWith("must be a whole number"));
  }

  const field_def bounded = field_with(field_kind::integer, -5, 10);
  CHECK(bounded.parse("-5").value() == value{std::int64_t{-5}});
  CHECK(bounded.parse("10").value() == value{std::int64_t{10}});
  REQUIRE_FALSE(bounded.parse("11"));
  CHECK(bounded.parse("11").err().message == "must be at most 10 (got 11)");
  REQUIRE_FALSE(bounded.parse("-6"));
  CHECK(bounded.parse("-6").err().message == "must be at least -5 (got -6)");

  const field_def unbounded = field_with(field_kind::integer);
  // No field holds more than max_integer_magnitude, so tally sums cannot overflow.
  CHECK(unbounded.parse("1000000000000").value() == value{max_integer_magnitude});
  CHECK(unbounded.parse("-1000000000000").value() == value{-max_integer_magnitude});
  REQUIRE_FALSE(unbounded.parse("1000000000001"));
  CHECK(unbounded.parse("1000000000001").err().message ==
        "must be at most 1000000000000 (got 1000000000001)");
  CHECK_FALSE(unbounded.parse("9223372036854775807"));
  CHECK_FALSE(unbounded.parse("9223372036854775808"));
}

TEST_CASE("codes: exactly one of the listed codes", "[schema][field]") {
  CHECK(parsed(pats(), "site", "vic") == value{std::string("vic")});
  CHECK(parsed(workshop(), "region", "obalno-kraska") == value{std::string("obalno-kraska")});
  CHECK(parsed(assistance(), "programme", "crisis-accommodation") ==
        value{std::string("crisis-accommodation")});
  for (const char* bad : {"Vic", "VIC", " vic", "vic ", "ljubljana", "vic,logatec"}) {
    CAPTURE(bad);
    CHECK_THAT(refusal(pats(), "site", bad),
               StartsWith("must be one of: vic, logatec, postojna, other"));
  }
  CHECK_THAT(refusal(pats(), "site", "ljubljana"), Contains("(got \"ljubljana\")"));
}

TEST_CASE(
    "has_code: a loaded field's binary search of its codes agrees with a scan, and copies keep it",
    "[schema][field]") {
  int fields = 0;
  for (const auto& t : shipped_schema().types()) {
    std::vector<const field_def*> coded;
    for (const field_def& f : t.fields) coded.push_back(&f);
    for (const mapped_def& m : t.mapped) coded.push_back(&m.field);
    for (const field_def* field : coded) {
      const field_def& f = *field;
      if (f.codes.empty()) continue;
      ++fields;
      CAPTURE(t.name, f.key);
      field_def scanned;  // not indexed: has_code scans its codes
      scanned.codes = f.codes;
      const field_def copy = f;
      for (const std::string& c : f.codes) {
        std::string lower = c, longer = c + "x", shorter = c.substr(0, c.size() - 1);
        for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        for (const std::string& probe : {c, lower, longer, shorter, std::string(), "~" + c}) {
          CAPTURE(probe);
          CHECK(f.has_code(probe) == scanned.has_code(probe));
          CHECK(copy.has_code(probe) == scanned.has_code(probe));
        }
        CHECK(f.has_code(c));
      }
    }
  }
  CHECK(fields > 5);
}

TEST_CASE("countries: ISO codes in any case are stored in upper case and XX means unknown",
          "[schema][field]") {
  CHECK(parsed(assistance(), "nationality", "SI") == value{std::string("SI")});
  CHECK(parsed(assistance(), "nationality", "si") == value{std::string("SI")});
  CHECK(parsed(assistance(), "nationality", "uA") == value{std::string("UA")});
  CHECK(parsed(assistance(), "nationality", "XX") == value{std::string("XX")});
  CHECK(parsed(assistance(), "nationality", "xx") == value{std::string("XX")});
  for (const char* bad : {"QQ", "qq", "EU", "SVN", "S", "S I", "SI ", "1A"}) {
    CAPTURE(bad);
    CHECK_THAT(refusal(assistance(), "nationality", bad), Contains("XX for unknown or stateless"));
  }
}

TEST_CASE(
    "pseudonyms: groups of Crockford base32 symbols ending in a check symbol, never echoed back",
    "[schema][field]") {
  CHECK(parsed(assistance(), "person", "P-0042-X9W") == value{std::string("P-0042-X9W")});
  // Typed in lower case and with Crockford's aliases (o for 0, i and l for 1): read as the symbols.
  CHECK(parsed(assistance(), "person", "p-oo42-x9w") == value{std::string("P-0042-X9W")});
  CHECK(parsed(assistance(), "person", "P-7F3A-9C21J") == value{std::string("P-7F3A-9C21J")});
  for (const char* bad :
       {"P-0042-X9V",  // wrong check symbol
        "P-0024-X9W",  // two neighbours swapped
        "P-0042-X9",   // no check symbol
        "P-0042--X9W", "-P-0042-X9W", "P-0042-X9W-", "P-00420000000000-X9W",  // grouping
        "P-0U42-X9W",                                                         // U is no symbol
        "P0X9",                                                               // too short
        "abc def", "abc_def", "abc.def", "abc/def", "abcdé1", "abcdef\n",
        "Olena-Kovalenko-1990-04-12"}) {
    CAPTURE(bad);
    CHECK_THAT(refusal(assistance(), "person", bad), StartsWith("must be a person code"));
  }
  CHECK_THAT(refusal(assistance(), "person", std::string(65, 'a')), Contains("got 65 characters"));
  // A name typed by mistake must not be copied into an error message or a log.
  const std::string message = refusal(assistance(), "person", "Marija Novak");
  CHECK_THAT(message, !Contains("Marija"));
  CHECK_THAT(message, !Contains("Novak"));

  CHECK(valid_pseudonym("P-0042-X9W"));
  CHECK_FALSE(valid_pseudonym("p-0042-x9w"));  // stored and sent only in canonical form
  CHECK_FALSE(valid_pseudonym(""));
  CHECK_FALSE(valid_pseudonym(std::string(33, '1')));
}

TEST_CASE(
    "pseudonyms: the check symbol catches every single mistyped symbol and neighbour swap but 0Z",
    "[schema][field]") {
  const std::string code = with_check_symbol("P-46PN-8HHA-AAKG-C9Y");
  REQUIRE(valid_pseudonym(code));
  std::size_t changed = 0, swapped = 0;
  for (std::size_t i = 0; i < code.size(); ++i) {
    if (code[i] == '-') continue;
    for (char other : crockford_base32) {
      if (other == code[i]) continue;
      std::string typo = code;
      typo[i] = other;
      CAPTURE(typo);
      CHECK_FALSE(valid_pseudonym(typo));
      ++changed;
    }
    const std::pair<char, char> pair =
        std::minmax(code[i], i + 1 < code.size() ? code[i + 1] : '-');
    // Luhn mod 32 misses only the swap of 0 and Z (their doubled forms differ by the same).
    if (i + 1 < code.size() && code[i + 1] != '-' && code[i + 1] != code[i] &&
        pair != std::pair{'0', 'Z'}) {
      std::string swap = code;
      std::swap(swap[i], swap[i + 1]);
      CAPTURE(swap);
      CHECK_FALSE(valid_pseudonym(swap));
      ++swapped;
    }
  }
  CHECK(changed == 17 * 31);
  CHECK(swapped > 0);
}

TEST_CASE("sets: comma-separated codes, spaces trimmed, each one known", "[schema][field]") {
  CHECK(parsed(assistance(), "services", "food") == value{code_set{"food"}});
  CHECK(parsed(assistance(), "services", "food,escort") == value{code_set{"escort", "food"}});
  CHECK(parsed(assistance(), "services", " food ,  escort,legal-information ") ==
        value{code_set{"escort", "food", "legal-information"}});
  CHECK(parsed(assistance(), "services", "food,food") == value{code_set{"food"}});
  CHECK(parsed(assistance(), "exploitation", "sexual,forced-labour") ==
        value{code_set{"forced-labour", "sexual"}});
  CHECK(refusal(assistance(), "services", "food,pizza") ==
        "must be codes from: accommodation, food, psychological, social, first-aid, counselling, "
        "legal-information, interpreting, advocacy, social-activities, companionship, escort, "
        "security, "
        "return-assistance, material-assistance, documents, learning, job-search (got \"pizza\")");
  CHECK_THAT(refusal(assistance(), "services", "Food"), Contains("(got \"Food\")"));
  CHECK_THAT(refusal(assistance(), "services", "food;escort"), Contains("(got \"food;escort\")"));
  CHECK(to_text(value{code_set{"food", "escort"}}) == "escort,food");
}

TEST_CASE("booleans: true/yes/1 and false/no/0", "[schema][field]") {
  const field_def flag = field_with(field_kind::boolean);
  for (const char* yes : {"true", "yes", "1"}) CHECK(flag.parse(yes).value() == value{true});
  for (const char* no : {"false", "no", "0"}) CHECK(flag.parse(no).value() == value{false});
  for (const char* bad : {"TRUE", "Yes", "2", "maybe", " true"}) {
    CAPTURE(bad);
    REQUIRE_FALSE(flag.parse(bad));
    CHECK_THAT(flag.parse(bad).err().message, StartsWith("must be true or false"));
  }
  CHECK(to_text(value{true}) == "true");
  CHECK(to_text(value{false}) == "false");
}

TEST_CASE("team codes", "[schema][field]") {
  CHECK(valid_team("ljubljana-crisis"));
  CHECK(valid_team("t1"));
  CHECK(valid_team(std::string(32, 'a')));
  CHECK_FALSE(valid_team(""));
  CHECK_FALSE(valid_team(std::string(33, 'a')));
  CHECK_FALSE(valid_team("-team"));
  CHECK_FALSE(valid_team("Team"));
  CHECK_FALSE(valid_team("team_a"));
  CHECK_FALSE(valid_team("team a"));
}

// How it works:
// Person pseudonyms derived on the device (`haven person-code`): a keyed hash
// of what identifies a person, so that the tally counts each person once
// without a name ever being stored or sent.
//
// person_code = HMAC-SHA-256(team pseudonym key,
//     "haven-person-v1" || for each of given name, family name, birth date,
//     nationality in that order: its normalised UTF-8 bytes, preceded by
//     their length as 4 bytes big-endian)
// shown as "P-" and the first 75 bits in 15 Crockford base32 characters and
// their check symbol, in groups of four: P-XXXX-XXXX-XXXX-XXXC (the format of
// haven/schema/pseudonym.hpp, which valid_pseudonym checks).
//
// What it protects against: the store, the server and anyone who reads the
// records, a backup or the wire without the key learn no name or birth date
// from a code, and codes of two teams (two keys) cannot be linked.
// What it does not: anyone holding the team's key (every enrolled device of
// the team, and whoever takes one) can test guesses — compute the code of a
// suspected name, birth date and nationality and look for it in the records.
// Names and birth dates are guessable, so the key is what keeps codes
// pseudonymous, not the hash. Two different people with the same normalised
// attributes share a code (75 bits make accidental collisions negligible: in
// a team of a million persons, about one chance in 75 million).
//
// Normalisation (normalise_name) makes the same person typed differently give
// the same code: case, accents and spacing are folded. It does not
// transliterate between scripts or spellings: "Müller" and "Mueller",
// "Olena" and "Олена", "O'Brien" and "OBrien" give different codes. A birth
// date known only as YYYY or YYYY-MM gives a different code from the full
// date: record the same precision for the same person every time.
//
// All functions are pure and thread-safe, except that person_code() without
// `today` reads the system clock and card_code() draws random bytes.
#include <algorithm>
#include <array>
#include <cstdint>
#include <ctime>
#include <haven/client/pseudonym.hpp>
#include <haven/core/clock.hpp>
#include <haven/crypto/crypto.hpp>
#include <haven/schema/schema.hpp>
#include <iterator>

namespace haven::client {
namespace {

// What person_code() hashes starts with this; a new normalisation or encoding
// (e.g. a regenerated folding table) needs a new tag, since it changes codes.
constexpr std::string_view code_version = "haven-person-v1";
constexpr std::size_t code_bits = 75;  // then the check symbol

// A string wiped when it goes out of scope, on every path.
struct sensitive_text {
  std::string text;
  ~sensitive_text() { crypto::wipe(text); }
};

[[noreturn]] void invalid(std::string message) {
  throw failure(errc::invalid_input, std::move(message));
}

struct folding {
  char32_t from;
  const char* to;
};
constexpr folding foldings[] = {
#include "name_folding.inc"
};
static_assert(std::is_sorted(std::begin(foldings), std::end(foldings),
                             [](const folding& a, const folding& b) { return a.from < b.from; }));

// The combining mark blocks (the same ranges as MARKS in scripts/gen_name_folding.py).
bool is_combining_mark(char32_t c) {
  return (c >= 0x0300 && c <= 0x036F) || (c >= 0x0483 && c <= 0x0489) ||
         (c >= 0x1AB0 && c <= 0x1AFF) || (c >= 0x1DC0 && c <= 0x1DFF) ||
         (c >= 0x20D0 && c <= 0x20FF) || (c >= 0xFE20 && c <= 0xFE2F);
}

// Invisible characters that change nothing a person would read: soft hyphen,
// zero-width space, non-joiner and joiner, word joiner, byte order mark.
bool is_invisible(char32_t c) {
  return c == 0x00AD || (c >= 0x200B && c <= 0x200D) || c == 0x2060 || c == 0xFEFF;
}

// Whitespace, hyphens and dashes, apostrophes (and the accents and quotes
// typed for one), dots: all fold to one space.
bool is_separator(char32_t c) {
  switch (c) {
    case ' ':
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:  // whitespace
    case '-':
    case 0x058A:
    case 0x05BE:
    case 0x2212:
    case 0xFE58:
    case 0xFE63:
    case 0xFF0D:  // hyphens
    case '\'':
    case '`':
    case 0xB4:
    case 0x02BB:
    case 0x02BC:
    case 0x02BE:
    case 0x02BF:  // apostrophes
    case 0x2018:
    case 0x2019:
    case 0x201B:
    case 0x2032:
    case 0xFF07:
    case '.':
    case 0xB7:
    case 0x0387:
    case 0x2024:
    case 0x2027:
    case 0xFF0E:  // dots
      return true;
    default:
      return (c >= 0x2000 && c <= 0x200A) ||
             (c >= 0x2010 && c <= 0x2015);  // spaces; hyphens and dashes
  }
}

bool is_control(char32_t c) {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// The next code point of well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), advancing i; nullopt if malformed.
std::optional<char32_t> next_code_point(std::string_view s, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return ++i, char32_t{lead};
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
  char32_t c = 0;
  if (lead >= 0xC2 && lead <= 0xDF)
    length = 2, c = lead & 0x1F;
  else if (lead >= 0xE0 && lead <= 0xEF)
    length = 3, c = lead & 0x0F, low = lead == 0xE0 ? 0xA0 : 0x80,
    high = lead == 0xED ? 0x9F : 0xBF;
  else if (lead >= 0xF0 && lead <= 0xF4)
    length = 4, c = lead & 0x07, low = lead == 0xF0 ? 0x90 : 0x80,
    high = lead == 0xF4 ? 0x8F : 0xBF;
  else
    return std::nullopt;
  if (s.size() - i < length) return std::nullopt;
  for (std::size_t k = 1; k < length; ++k) {
    const unsigned char b = byte(i + k);
    if (k == 1 ? (b < low || b > high) : (b < 0x80 || b > 0xBF)) return std::nullopt;
    c = (c << 6) | (b & 0x3F);
  }
  i += length;
  return c;
}

void append_folded(std::string& out, char32_t c) {
  if (c >= 'A' && c <= 'Z') {
    out += static_cast<char>(c - 'A' + 'a');
    return;
  }
  const auto it = std::lower_bound(std::begin(foldings), std::end(foldings), c,
                                   [](const folding& f, char32_t v) { return f.from < v; });
  if (it != std::end(foldings) && it->from == c)
    out += it->to;
  else
    append_utf8(out, c);
}

std::string fold_name(std::string_view text, std::string_view attribute) {
  std::string out;
  out.reserve(text.size());  // folding never lengthens: no reallocation leaves a copy behind
  bool space = false;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = next_code_point(text, i);
    if (!c) invalid(std::string(attribute) + " is not valid UTF-8 text");
    if (is_separator(*c)) {
      space = !out.empty();
      continue;
    }
    if (is_combining_mark(*c) || is_invisible(*c)) continue;
    if (is_control(*c)) invalid(std::string(attribute) + " contains a control character");
    if (space) out += ' ';
    space = false;
    append_folded(out, *c);
  }
  if (out.empty()) invalid(std::string(attribute) + " is empty");
  return out;
}

std::string_view trimmed(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<int> digits(std::string_view s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  int n = 0;
  for (char c : s) n = n * 10 + (c - '0');
  return n;
}

std::string fold_birth_date(std::string_view text, date today) {
  const std::string_view t = trimmed(text);
  const civil_date now = to_civil(today);
  constexpr const char* forms =
      "birth date must be YYYY-MM-DD, or YYYY-MM or YYYY when only that is known";
  const auto year = t.size() >= 4 ? digits(t.substr(0, 4)) : std::nullopt;
  if (!year) invalid(forms);
  bool future = false;
  if (t.size() == 10) {
    if (t[4] != '-' || t[7] != '-' || !digits(t.substr(5, 2)) || !digits(t.substr(8, 2)))
      invalid(forms);
    if (*year < 1900) invalid("birth date is before 1900");
    const auto d = parse_date(t);  // a real calendar day, 1900..2200
    if (!d) invalid("birth date is not a real calendar day");
    future = *d > today;
  } else if (t.size() == 7) {
    const auto month = t[4] == '-' ? digits(t.substr(5)) : std::nullopt;
    if (!month || *month < 1 || *month > 12) invalid(forms);
    future = *year > now.year || (*year == now.year && static_cast<unsigned>(*month) > now.month);
  } else if (t.size() == 4) {
    future = *year > now.year;
  } else {
    invalid(forms);
  }
  if (*year < 1900) invalid("birth date is before 1900");
  if (future) invalid("birth date is in the future");
  return std::string(t);
}

// The built-in schema's country field: its parse() checks and upper-cases a code.
const field_def& country_field() {
  static const field_def field = [] {
    for (const auto& type : schema::builtin()->types())
      for (const auto& f : type.fields)
        if (f.kind == field_kind::country) return f;
    throw failure(errc::internal, "the built-in schema has no country field");
  }();
  return field;
}

std::string fold_nationality(std::string_view text) {
  auto code = country_field().parse(trimmed(text));
  if (!code) invalid("nationality " + code.err().message);
  if (is_null(code.value())) invalid("nationality is empty: XX if unknown or stateless");
  return std::get<std::string>(code.value());
}

void append_field(std::string& message, std::string_view field) {
  const auto n = static_cast<std::uint32_t>(field.size());
  for (int shift = 24; shift >= 0; shift -= 8) message += static_cast<char>((n >> shift) & 0xFF);
  message += field;
}

// "P-" and the first 75 bits of the digest in Crockford base32 with its check
// symbol, grouped by four.
std::string code_of(std::string_view digest) {
  std::string code = "P";
  for (std::size_t bit = 0; bit < code_bits; bit += 5) {
    unsigned v = 0;
    for (std::size_t b = bit; b < bit + 5; ++b)
      v = (v << 1) | ((static_cast<unsigned char>(digest[b / 8]) >> (7 - b % 8)) & 1u);
    if (bit % 20 == 0) code += '-';
    code += crockford_base32[v];
  }
  return with_check_symbol(code);
}

}  // namespace

person_attributes::person_attributes(std::string given, std::string family, std::string birth,
                                     std::string country)
    : given_name(std::move(given)),
      family_name(std::move(family)),
      birth_date(std::move(birth)),
      nationality(std::move(country)) {}

person_attributes::~person_attributes() {
  crypto::wipe(given_name);
  crypto::wipe(family_name);
  crypto::wipe(birth_date);
  crypto::wipe(nationality);
}

result<std::string> normalise_name(std::string_view text, std::string_view attribute) {
  return capture([&] { return fold_name(text, attribute); });
}

result<std::string> normalise_birth_date(std::string_view text, date today) {
  return capture([&] { return fold_birth_date(text, today); });
}

result<std::string> normalise_nationality(std::string_view text) {
  return capture([&] { return fold_nationality(text); });
}

result<std::string> person_code(std::string_view key, const person_attributes& person,
                                std::optional<date> today) {
  return capture([&] {
    if (key.size() != pseudonym_key_bytes)
      invalid("a pseudonym key has " + std::to_string(pseudonym_key_bytes) + " bytes, not " +
              std::to_string(key.size()));
    const std::array<sensitive_text, 4> fields{{
        {fold_name(person.given_name, "given name")},
        {fold_name(person.family_name, "family name")},
        {fold_birth_date(person.birth_date, today.value_or(today_local()))},
        {fold_nationality(person.nationality)},
    }};
    sensitive_text message;
    std::size_t size = code_version.size();
    for (const auto& f : fields) size += 4 + f.text.size();
    message.text.reserve(size);
    message.text += code_version;
    for (const auto& f : fields) append_field(message.text, f.text);
    const sensitive_text digest{crypto::hmac_sha256(key, message.text)};
    return code_of(digest.text);
  });
}

std::string card_code() {
  return with_check_symbol("K-" + crockford_groups(crypto::random_bytes(11), 4));
}

}  // namespace haven::client

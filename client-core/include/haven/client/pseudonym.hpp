#pragma once
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

#include <haven/core/result.hpp>
#include <haven/core/value.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace haven::client {

inline constexpr std::size_t pseudonym_key_bytes = 32;

// What identifies a person, as typed. The destructor wipes the four strings
// (best effort: copies made elsewhere are the caller's to wipe).
struct person_attributes {
  std::string given_name;
  std::string family_name;
  std::string birth_date;   // YYYY-MM-DD, or YYYY-MM or YYYY when only that is known
  std::string nationality;  // ISO 3166-1 alpha-2; XX for unknown or stateless

  person_attributes() = default;
  person_attributes(std::string given, std::string family, std::string birth, std::string country);
  person_attributes(const person_attributes&) = default;
  person_attributes(person_attributes&&) = default;
  person_attributes& operator=(const person_attributes&) = default;
  person_attributes& operator=(person_attributes&&) = default;
  ~person_attributes();
};

// A name folded for comparison: UTF-8 decoded strictly; Latin letters lose
// their diacritics and are lower-cased (ß -> ss, æ -> ae, œ -> oe, ø -> o,
// đ -> d, ł -> l, þ -> th, ı -> i); Greek and Cyrillic letters are lower-cased
// and lose their accents too (ά -> α, й -> и, ё -> е, final ς -> σ); combining
// marks are dropped, so decomposed input equals precomposed; hyphens,
// apostrophes, dots and all whitespace become one space; trimmed. Other
// characters (other scripts, digits) are kept as they are.
// errc::invalid_input naming `attribute` ("given name") for invalid UTF-8, a
// control character, or nothing left after folding ("given name is empty").
result<std::string> normalise_name(std::string_view text, std::string_view attribute);

// A birth date: YYYY-MM-DD (a real calendar day), YYYY-MM or YYYY, from 1900
// and not after `today`; returned as given, in that form. errc::invalid_input
// otherwise, saying which forms are accepted.
result<std::string> normalise_birth_date(std::string_view text, date today);

// An ISO 3166-1 alpha-2 code from the built-in schema's country list
// (XX: unknown or stateless), upper-cased. errc::invalid_input otherwise.
result<std::string> normalise_nationality(std::string_view text);

// The person code of these attributes under the team's key (see above).
// errc::invalid_input if the key does not have 32 bytes or an attribute is
// invalid (the message names it). `today` (default: the local date) bounds the
// birth date.
result<std::string> person_code(std::string_view key, const person_attributes& person,
                                std::optional<date> today = std::nullopt);

// A new code for a printed person card, for a person who keeps their code on
// paper instead of having it derived: "K-" and 11 random Crockford base32
// symbols (55 bits) with the check symbol, K-XXXX-XXXX-XXXC. A coordinator
// prints a sheet of them (`haven card-codes`); each card is given to one
// person and typed into the person field at every contact. Random, so a card
// reveals nothing, and collisions are negligible (a million cards of one team
// share a code with a chance of about one in 70,000).
std::string card_code();

}  // namespace haven::client

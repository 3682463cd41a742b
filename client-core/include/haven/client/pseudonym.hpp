#pragma once
// Person pseudonyms derived on the device (`haven person-code`): a keyed hash
// (HMAC-SHA-256 under the team's key) of what identifies a person, so that a
// tally counts each person once without a name ever being stored or sent.
// Pure and thread-safe, except as person_code() and card_code() say.

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

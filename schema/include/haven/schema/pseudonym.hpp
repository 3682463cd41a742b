#pragma once
// The format of a person pseudonym (a `pseudonym` field's value), whether
// derived on a device (`haven person-code`) or printed on a card
// (`haven card-codes`):
//
//   symbols  Crockford's base32: 0-9 and A-Z without I, L, O and U
//   groups   1 to 8 symbols each, joined by single hyphens
//   length   6 to 32 symbols in all (hyphens not counted)
//   check    the last symbol is the Luhn mod 32 check symbol of all the
//            symbols before it, in order (hyphens are not part of it)
//
// e.g. P-46PN-8HHA-AAKG-C9YS (derived) or K-7Q2M-19TB-X4HV (a card). The check
// symbol catches every single mistyped symbol and every swap of two
// neighbouring symbols but 0 and Z (Luhn's blind spot); a name typed into the field by mistake is
// refused unless it happens to be made of at most 8-symbol groups of the
// alphabet and to end in the right check symbol (1 in 32 of those). It is no
// defence against a device that means to smuggle a name in: see SECURITY.md.
//
// All functions are pure and thread-safe.

#include <haven/core/crockford.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace haven {

inline constexpr std::size_t pseudonym_min_symbols = 6;
inline constexpr std::size_t pseudonym_max_symbols = 32;
inline constexpr std::size_t pseudonym_max_group = 8;

// Whether `code` is a pseudonym in the canonical form above (upper case, no
// aliases) with a valid check symbol.
bool valid_pseudonym(std::string_view code);

// What a person typed, in canonical form: letters upper-cased and Crockford's
// aliases read as the symbols they stand for (I and L as 1, O as 0); nullopt
// when that is no valid pseudonym (a wrong check symbol included).
std::optional<std::string> canonical_pseudonym(std::string_view typed);

// `code` (canonical symbols and hyphens, without its check symbol) with its
// check symbol appended to its last group. Precondition: every character of
// `code` is a symbol or a hyphen.
std::string with_check_symbol(std::string_view code);

}  // namespace haven

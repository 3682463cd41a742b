#pragma once
// Crockford's base32, the alphabet of everything a person reads aloud or
// types from paper: person codes and enrollment codes. Pure and thread-safe.

#include <string>
#include <string_view>

namespace haven {

// Digits and letters without I, L, O and U.
inline constexpr std::string_view crockford_base32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// The symbol a typed character stands for: letters upper-cased, I and L read
// as 1, O as 0; '\0' when it stands for none.
char crockford_symbol(char typed);

// One symbol for each byte of `random` (its low five bits, uniform when the
// byte is), with a hyphen after every `group` symbols but the last.
std::string crockford_groups(std::string_view random, std::size_t group);

}  // namespace haven

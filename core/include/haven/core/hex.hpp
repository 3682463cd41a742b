#pragma once
// Lower-case hexadecimal, the one spelling of bytes shown as text (record
// ids, keys, digests). Pure and thread-safe.

#include <haven/core/result.hpp>
#include <string>
#include <string_view>

namespace haven {

// Two lower-case hex digits per byte.
std::string to_hex(std::string_view bytes);
// The bytes `hex` spells (either case): errc::invalid_input for an odd
// length or a character that is not a hex digit.
result<std::string> from_hex(std::string_view hex);

}  // namespace haven

#pragma once
// One-shot raw deflate (RFC 1951) of a frame body, and its bounded inverse.
// No state outlives a call: the compressor's (at most ~270 KB, a few KB for
// a small body) and the decompressor's (~40 KB) are allocated and freed
// inside it, so an idle connection holds none.

#include <cstddef>
#include <string>
#include <string_view>

namespace haven::sync::wire {

// The deflated bytes of `body`.
std::string deflate_body(std::string_view body);

// The `size` bytes that `deflated` inflates to. Throws haven::failure
// (errc::protocol) if `deflated` is no valid deflate stream, inflates to more
// or fewer than `size` bytes, or claims more than deflate can expand it to.
// Allocates `size` bytes at most: the caller checks it against its limits.
std::string inflate_body(std::string_view deflated, std::size_t size);

}  // namespace haven::sync::wire

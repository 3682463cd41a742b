#pragma once
// Protocol version 3's compact bodies of push_batch and change_batch (see
// batch_codec.cpp for the layout), before any compression.

#include <haven/sync/protocol.hpp>
#include <string>
#include <string_view>

namespace haven::sync::wire {

// The compact body of a batch. Throws haven::failure (errc::protocol) if the
// batch breaks `limits` (too many records or cells, a key, type, team or
// code over max_key_bytes, a code_set value): a peer would refuse it.
std::string encode_body(const push_batch& b, const frame_limits& limits);
std::string encode_body(const change_batch& b, const frame_limits& limits);

// The batch in a compact body. Throws haven::failure (errc::protocol) saying
// what is wrong: truncated, a count or length over its limit or over the
// bytes left (checked before allocating), a table index out of range, a bad
// value kind, a bad varint, trailing bytes.
push_batch decode_push_body(std::string_view body, const frame_limits& limits);
change_batch decode_change_body(std::string_view body, const frame_limits& limits);

}  // namespace haven::sync::wire

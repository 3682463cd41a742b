#pragma once
// The primitives of protocol version 3's compact frames (haven/core/varint.hpp):
// a frame that ends early or holds a bad varint is haven::failure
// (errc::protocol).

#include <haven/core/result.hpp>
#include <haven/core/varint.hpp>
#include <string>

namespace haven::sync::wire {

[[noreturn]] inline void bad_frame(const std::string& what) {
  throw failure(errc::protocol, what);
}

using varint::unzigzag;
using varint::zigzag;
using byte_writer = varint::writer;
using byte_reader = varint::reader<bad_frame>;

}  // namespace haven::sync::wire

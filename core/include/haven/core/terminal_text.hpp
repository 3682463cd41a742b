#pragma once
// Text as it may be shown to a person: on a terminal, in a CSV cell, in a
// log line. What a record, a device or a server sent can hold control
// characters that a terminal obeys (ESC sequences recolour, retitle, move the
// cursor or hide the lines above) or that reorder what is shown (bidi
// overrides); shown through printable(), they are seen as escapes instead.

#include <string>
#include <string_view>

namespace haven {

// `text` with every C0 control (tab and line breaks included), DEL, C1
// control (U+0080-U+009F) and bidirectional override or isolate
// (U+202A-U+202E, U+2066-U+2069) escaped as \xNN or \uNNNN, and every byte
// that is not part of valid UTF-8 as \xNN. Everything else, including a
// backslash, is kept as it is. Pure; never throws but bad_alloc.
std::string printable(std::string_view text);

}  // namespace haven

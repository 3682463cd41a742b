#pragma once
// havend's log: one line per event on stderr, "TIME LEVEL event key=value...".
// Thread-safe.

#include <cstdint>
#include <haven/core/clock.hpp>
#include <string>
#include <string_view>

namespace haven::server {

enum class log_level { debug, info, warn, error };

void log(log_level level, std::string_view line);
// Logs a line that a remote peer can make repeat (a refusal, a failed
// handshake, a failed accept): per (kind, address), at most 5 such lines in
// 10 s are written; the first written after some were dropped ends with
// "suppressed=K", and flush_repeated_logs() writes one line for each key whose
// interval ended with lines dropped: "suppressed K similar lines kind=...".
void log_repeated(log_level level, std::string_view kind, std::string_view address,
                  std::string_view line);
// Writes the counts of lines log_repeated() dropped in intervals that have
// ended (all of them when `everything`, e.g. at shutdown). Call it now and then.
void flush_repeated_logs(bool everything = false);
// Lines below this level are dropped (default: info).
void set_log_level(log_level level);

}  // namespace haven::server

#pragma once
// havend's log: one line per event on stderr, "TIME LEVEL event key=value...".
// Thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

namespace haven::server {

enum class log_level { debug, info, warn, error };

void log(log_level level, std::string_view line);
// Lines below this level are dropped (default: info).
void set_log_level(log_level level);
// Now, as unix time in milliseconds (the system clock).
std::int64_t unix_ms_now();
// A unix time in milliseconds as UTC with strftime `format`, e.g. "%Y-%m-%dT%H:%M:%SZ".
std::string utc_time(std::int64_t ms, const char* format = "%Y-%m-%dT%H:%M:%SZ");

}  // namespace haven::server

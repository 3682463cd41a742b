#pragma once
// The one clock: the system's wall clock as unix milliseconds and as today's
// date. Thread-safe. Components that need a different "now" (tests, replays)
// take a function returning these values instead of calling them directly.

#include <cstdint>
#include <haven/core/value.hpp>
#include <string>

namespace haven {

// Now, as unix time in milliseconds (tests may shift it with the environment
// variable HAVEN_TEST_CLOCK_OFFSET_MS, read once; see clock.cpp).
std::int64_t unix_ms_now();
// A unix time in milliseconds as UTC with strftime `format`, e.g. "%Y-%m-%dT%H:%M:%SZ".
std::string utc_time(std::int64_t ms, const char* format = "%Y-%m-%dT%H:%M:%SZ");
// Today's date: in UTC, or in this machine's local time zone.
date today_utc();
date today_local();

}  // namespace haven

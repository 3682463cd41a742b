#pragma once
// What every haven_bench scenario prints: one JSON object with its sizes, its
// figures each beside the floor it is measured against (in the same run),
// and the machine. Also the memory figures read from /proc. Not thread-safe.

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace haven::bench {

// A figure beside its floor. `ratio` is how many times the floor's cost the
// figure is: time or bytes divided by the floor's, or the floor's rate
// divided by the figure's, so 1 is as good as the floor and 2 twice as slow
// or large. `target` is the goal for the figure, as text ("" none).
boost::json::object figure(double value, std::string_view unit, double floor,
                           bool higher_is_better = false, std::string_view target = "");
// A figure with no floor measured beside it (an anchor, e.g. the issue's
// target, is given as `target`).
boost::json::object figure(double value, std::string_view unit, std::string_view target = "");

// Cores, memory, CPU model, kernel and SQLite version.
boost::json::object machine();

// The peak and the current resident set size of a process (0: this one), in
// bytes, from /proc/PID/status (VmHWM, VmRSS); 0 if it cannot be read.
std::uint64_t peak_rss_bytes(int pid = 0);
std::uint64_t rss_bytes(int pid = 0);
// The CPU time a process (0: this one) has used, user and system, in
// seconds, from /proc/PID/stat; 0 if it cannot be read.
double cpu_seconds(int pid = 0);
// Sets this process's peak RSS back to its current RSS (/proc/self/clear_refs),
// so that the next peak_rss_bytes() covers only what follows.
void reset_peak_rss();

// Prints {"benchmark": name, "sizes": …, "figures": …, "machine": …} on one
// line of stdout.
void print(std::string_view name, boost::json::object sizes, boost::json::object figures);

}  // namespace haven::bench

#pragma once
// The scenarios of haven_bench, one per sub-command. Each takes its own
// arguments (argv[0] is the sub-command's name), prints one JSON object
// (report.hpp) and returns the exit code.

namespace haven::bench {

int local_write(int argc, const char* const* argv);
int apply(int argc, const char* const* argv);
int push(int argc, const char* const* argv);
int initial_sync(int argc, const char* const* argv);
// Not a scenario: the device process of initial-sync.
int pull_into(int argc, const char* const* argv);
int fan_out(int argc, const char* const* argv);
int tally(int argc, const char* const* argv);
int bytes(int argc, const char* const* argv);

}  // namespace haven::bench

#pragma once
// What the fair-sharing tests read about a running havend: its memory and
// CPU time from /proc, and its counters from /metrics.

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "../support/havend_process.hpp"

namespace haven::test {

// The resident set of process `pid` in kB (VmRSS), or -1 if unreadable.
inline long rss_kb(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// The CPU time process `pid` has used (utime + stime), in clock ticks.
inline long cpu_ticks(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));  // after "pid (comm) "
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stol(field);
    if (i == 15) {
      stime = std::stol(field);
      break;
    }
  }
  return utime + stime;
}

// The value of counter or gauge `name` on havend's /metrics (0 if absent).
inline std::uint64_t metric(const std::string& address, const std::string& name) {
  const std::string text = "\n" + http_get(address, "/metrics").body;
  const auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return 0;
  return std::stoull(text.substr(at + name.size() + 2));
}

// The lines of a file that contain `part`.
inline std::size_t lines_with(const std::string& file, const std::string& part) {
  std::ifstream in(file);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(part) != std::string::npos;
  return n;
}

}  // namespace haven::test

#pragma once
// What the fair-sharing and soak tests read about a running havend: its
// memory and CPU time from /proc, its counters from /metrics, and its audit
// log's rows; and how to start it so that its memory can be measured.

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../support/havend_process.hpp"

namespace haven::test {

// Returns what `start` returns (a server it starts, e.g. a havend_process),
// started so that its RSS measures the memory it holds: glibc's malloc with
// fixed thresholds (at its defaults it raises them after each large free, up
// to 32 MiB, and then keeps that much freed memory resident in every arena),
// and, under AddressSanitizer, a quarantine of freed memory cut to 4 MB (ASan
// keeps up to 256 MB of freed memory there, which RSS counts as if it were
// live). The child inherits the environment, set only while it starts.
template <class Start>
auto with_measurable_rss(Start start) -> decltype(start()) {
  struct setting {
    const char* name;
    std::string before;
    bool was_set;
    setting(const char* n, const std::string& added) : name(n), was_set(std::getenv(n) != nullptr) {
      if (was_set) before = std::getenv(n);
      ::setenv(name, (before.empty() ? added : before + ":" + added).c_str(), 1);
    }
    ~setting() {
      if (was_set)
        ::setenv(name, before.c_str(), 1);
      else
        ::unsetenv(name);
    }
  };
  const setting malloc_thresholds(
      "GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072");
#if defined(__SANITIZE_ADDRESS__)
  const setting quarantine("ASAN_OPTIONS", "quarantine_size_mb=4");
#endif
  return start();
}

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

// The value of counter or gauge `name` on havend's /metrics (0 if absent),
// asked from local address `source` when given (see http_get_from).
inline std::uint64_t metric(const std::string& address, const std::string& name,
                            const std::string& source = "") {
  const std::string text = "\n" + (source.empty() ? http_get(address, "/metrics")
                                                  : http_get_from(source, address, "/metrics"))
                                      .body;
  const auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return 0;
  return std::stoull(text.substr(at + name.size() + 2));
}

// The rows of `event` in the output of `havend audit`, and of those the
// summary rows of what the rate limit held back.
struct audit_count {
  int all = 0;
  std::vector<std::string> summaries;  // the (suppressed) rows
};
inline audit_count audit_rows(const std::string& audit, const std::string& event) {
  audit_count out;
  std::istringstream lines(audit);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(event) == std::string::npos) continue;
    ++out.all;
    if (line.find("(suppressed)") != std::string::npos) out.summaries.push_back(line);
  }
  return out;
}

// The lines of a file that contain `part`.
inline std::size_t lines_with(const std::string& file, const std::string& part) {
  std::ifstream in(file);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(part) != std::string::npos;
  return n;
}

}  // namespace haven::test

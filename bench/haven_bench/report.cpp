#include "report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <haven/sqlite/sqlite.hpp>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

namespace haven::bench {
namespace {

// The value of `key` ("VmHWM:") in a /proc status-like file, in its unit's
// bytes (kB lines are multiplied out); 0 if absent.
std::uint64_t proc_value(const std::string& file, std::string_view key) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) {
      const std::uint64_t n = std::stoull(line.substr(key.size()));
      return line.find("kB") != std::string::npos ? n * 1024 : n;
    }
  return 0;
}

std::string proc_text(const std::string& file, std::string_view key) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) {
      const auto value = line.find_first_not_of(" \t", line.find(':') + 1);
      return value == std::string::npos ? "" : line.substr(value);
    }
  return "";
}

std::string status_file(int pid) {
  return pid ? "/proc/" + std::to_string(pid) + "/status" : "/proc/self/status";
}

// A figure as it reads best: whole numbers from 100 up, else 3 decimals.
boost::json::value rounded(double x) {
  if (std::fabs(x) >= 100) return static_cast<std::int64_t>(std::llround(x));
  return std::round(x * 1000) / 1000;
}

// `x` to 3 significant digits (a ratio of 0.0015 stays 0.0015).
double significant(double x) {
  if (x == 0) return 0;
  const double scale = std::pow(10, 2 - std::floor(std::log10(std::fabs(x))));
  return std::round(x * scale) / scale;
}

}  // namespace

boost::json::object figure(double value, std::string_view unit, double floor, bool higher_is_better,
                           std::string_view target) {
  boost::json::object f = figure(value, unit, target);
  f["floor"] = rounded(floor);
  const double ratio = higher_is_better ? floor / value : value / floor;
  f["ratio"] = value > 0 && floor > 0 ? significant(ratio) : 0.0;
  return f;
}

boost::json::object figure(double value, std::string_view unit, std::string_view target) {
  boost::json::object f{{"value", rounded(value)}, {"unit", unit}};
  if (!target.empty()) f["target"] = target;
  return f;
}

boost::json::object machine() {
  utsname u{};
  ::uname(&u);
  sqlite::database scratch(":memory:", sqlite::database::mode::create);
  sqlite::statement version(scratch, "SELECT sqlite_version()");
  version.step();
  return {{"cores", std::thread::hardware_concurrency()},
          {"memory_bytes", proc_value("/proc/meminfo", "MemTotal:")},
          {"cpu", proc_text("/proc/cpuinfo", "model name")},
          {"kernel", std::string(u.sysname) + " " + u.release},
          {"sqlite_version", version.text(0)}};
}

std::uint64_t peak_rss_bytes(int pid) {
  return proc_value(status_file(pid), "VmHWM:");
}

std::uint64_t rss_bytes(int pid) {
  return proc_value(status_file(pid), "VmRSS:");
}

double cpu_seconds(int pid) {
  std::ifstream in(pid ? "/proc/" + std::to_string(pid) + "/stat" : std::string("/proc/self/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The fields after the command's closing parenthesis; utime and stime are
  // the 14th and 15th of the line, the 12th and 13th after it.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 1; i <= 13 && fields >> field; ++i)
    if (i >= 12) ticks += std::stod(field);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

void reset_peak_rss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

void print(std::string_view name, boost::json::object sizes, boost::json::object figures) {
  boost::json::object out{{"benchmark", name},
                          {"sizes", std::move(sizes)},
                          {"figures", std::move(figures)},
                          {"machine", machine()}};
  std::cout << boost::json::serialize(out) << std::endl;
}

}  // namespace haven::bench

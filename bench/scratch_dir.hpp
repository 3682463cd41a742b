#pragma once
// What the benchmarks share: a stopwatch and a scratch directory.

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace haven::bench {

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// A fresh directory under the system's temp directory, named after the
// benchmark and the process id; removed, with everything in it, when this is
// destroyed (so declare it before the stores and servers that use it),
// unless HAVEN_BENCH_KEEP is set (to look into the stores a run made).
class scratch_dir {
 public:
  explicit scratch_dir(const std::string& benchmark)
      : path_(std::filesystem::temp_directory_path() /
              ("haven-" + benchmark + "-bench-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~scratch_dir() {
    if (std::getenv("HAVEN_BENCH_KEEP")) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  std::filesystem::path file(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace haven::bench

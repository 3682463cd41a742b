#include <haven/server/log.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace haven::server {
namespace {
std::atomic<log_level> threshold{log_level::info};
std::mutex stderr_mutex;
}  // namespace

void set_log_level(log_level level) { threshold = level; }

std::int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string utc_time(std::int64_t ms, const char* format) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[64];
  return std::string(buf, std::strftime(buf, sizeof buf, format, &utc));
}

void log(log_level level, std::string_view line) {
  if (level < threshold.load()) return;
  static constexpr const char* names[] = {"debug", "info ", "warn ", "error"};
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t t = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&t, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::lock_guard lock(stderr_mutex);
  std::fprintf(stderr, "%s.%03dZ %s %.*s\n", stamp, static_cast<int>(ms), names[static_cast<int>(level)],
               static_cast<int>(line.size()), line.data());
  std::fflush(stderr);
}

}  // namespace haven::server

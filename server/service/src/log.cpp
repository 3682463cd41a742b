#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <haven/server/log.hpp>
#include <haven/server/rate_limit.hpp>
#include <limits>
#include <mutex>

namespace haven::server {
namespace {
std::atomic<log_level> threshold{log_level::info};
std::mutex stderr_mutex;

rate_limiter& repeated_lines() {
  static rate_limiter limiter({5, std::chrono::seconds(10), 4096});
  return limiter;
}

std::string repeat_key(std::string_view kind, std::string_view address) {
  return std::string(kind) + " remote=" + std::string(address);
}
}  // namespace

void set_log_level(log_level level) {
  threshold = level;
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
  std::fprintf(stderr, "%s.%03dZ %s %.*s\n", stamp, static_cast<int>(ms),
               names[static_cast<int>(level)], static_cast<int>(line.size()), line.data());
  std::fflush(stderr);
}

}  // namespace haven::server

namespace haven::server {

void log_repeated(log_level level, std::string_view kind, std::string_view address,
                  std::string_view line) {
  if (level < threshold.load()) return;
  const auto verdict = repeated_lines().admit(repeat_key(kind, address), unix_ms_now());
  if (!verdict.pass) return;
  if (verdict.suppressed == 0) return log(level, line);
  log(level, std::string(line) + " suppressed=" + std::to_string(verdict.suppressed));
}

void flush_repeated_logs(bool everything) {
  const std::int64_t now = everything ? std::numeric_limits<std::int64_t>::max() : unix_ms_now();
  for (const auto& [key, count] : repeated_lines().suppressed(now))
    log(log_level::warn,
        "suppressed " + std::to_string(count) + " similar lines kind=\"" +
            key.substr(0, key.find(" remote=")) + "\"" +
            (key.find(" remote=") == std::string::npos ? "" : key.substr(key.find(" remote="))));
}

}  // namespace haven::server

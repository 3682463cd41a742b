#include <chrono>
#include <cstdlib>
#include <ctime>
#include <haven/core/clock.hpp>

namespace haven {

std::int64_t unix_ms_now() {
  using namespace std::chrono;
  // Test-only: HAVEN_TEST_CLOCK_OFFSET_MS (read once) shifts this clock, so an
  // end-to-end test can issue a code that has already expired instead of
  // sleeping until it does. Inert when the variable is not set.
  static const std::int64_t offset_ms = [] {
    const char* text = std::getenv("HAVEN_TEST_CLOCK_OFFSET_MS");
    return text ? std::strtoll(text, nullptr, 10) : 0;
  }();
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() + offset_ms;
}

std::string utc_time(std::int64_t ms, const char* format) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[64];
  return std::string(buf, std::strftime(buf, sizeof buf, format, &utc));
}

date today_utc() {
  using namespace std::chrono;
  return date{
      static_cast<std::int32_t>(floor<days>(system_clock::now()).time_since_epoch().count())};
}

date today_local() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  return from_civil(local.tm_year + 1900, static_cast<unsigned>(local.tm_mon + 1),
                    static_cast<unsigned>(local.tm_mday));
}

}  // namespace haven

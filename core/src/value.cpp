#include <charconv>
#include <chrono>
#include <ctime>
#include <haven/core/value.hpp>

namespace haven {

date from_civil(int year, unsigned month, unsigned day) {
  using namespace std::chrono;
  const sys_days d{
      year_month_day{std::chrono::year{year}, std::chrono::month{month}, std::chrono::day{day}}};
  return date{static_cast<std::int32_t>(d.time_since_epoch().count())};
}

civil_date to_civil(date d) {
  using namespace std::chrono;
  const year_month_day ymd{sys_days{days{d.days}}};
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day())};
}

std::optional<date> parse_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto number = [&](std::size_t pos, std::size_t len) -> std::optional<int> {
    int n = 0;
    const char* first = text.data() + pos;
    auto [end, ec] = std::from_chars(first, first + len, n);
    if (ec != std::errc{} || end != first + len) return std::nullopt;
    return n;
  };
  const auto y = number(0, 4), m = number(5, 2), d = number(8, 2);
  if (!y || !m || !d || *y < 1900 || *y > 2200) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{*y},
                                        std::chrono::month{static_cast<unsigned>(*m)},
                                        std::chrono::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  return from_civil(*y, static_cast<unsigned>(*m), static_cast<unsigned>(*d));
}

std::string to_string(date d) {
  const civil_date c = to_civil(d);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", c.year, c.month, c.day);
  return buf;
}

std::string to_text(const value& v) {
  struct visitor {
    std::string operator()(std::monostate) const { return {}; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(date d) const { return to_string(d); }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(const code_set& s) const {
      std::string out;
      for (const auto& c : s) {
        if (!out.empty()) out += ',';
        out += c;
      }
      return out;
    }
  };
  return std::visit(visitor{}, v);
}

}  // namespace haven

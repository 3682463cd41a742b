#include <haven/server/http_api.hpp>

#include <charconv>
#include <optional>

#include <boost/json.hpp>

#include "dashboard.hpp"

namespace haven::server {
namespace {

http_reply json_error(unsigned status, const std::string& message) {
  return {status, "application/json", boost::json::serialize(boost::json::object{{"error", message}}), {}};
}

// The value of `name` in a query string "a=1&b=2", if present.
std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::optional<int> parse_int(std::string_view text) {
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return n;
}

}  // namespace

http_reply http_api::handle(std::string_view method, std::string_view target) const {
  const auto question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query = question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  if (method != "GET" && method != "HEAD") return json_error(405, "only GET is served here");

  if (path == "/healthz") {
    const auto c = store_.counts();
    return {200, "application/json",
            boost::json::serialize(boost::json::object{{"status", "ok"}, {"head", c.head}, {"records", c.records}}), {}};
  }
  if (path == "/metrics") return {200, "text/plain; version=0.0.4", metrics_.render(store_.counts()), {}};
  if (path == "/api/tallies" || path == "/api/tallies/") return {200, "application/json", store_.tally_list_json(), {}};
  constexpr std::string_view prefix = "/api/tallies/";
  if (path.substr(0, prefix.size()) == prefix) return tally(path.substr(prefix.size()), query);
  if (path == "/" || path == "/index.html") return {200, "text/html; charset=utf-8", std::string(dashboard_html()), {}};
  return json_error(404, "no such page: " + std::string(path) + " (see /api/tallies)");
}

http_reply http_api::tally(std::string_view id, std::string_view query) const {
  const bool csv = id.size() > 4 && id.substr(id.size() - 4) == ".csv";
  if (csv) id.remove_suffix(4);
  const auto year_text = query_param(query, "year");
  const auto year = year_text ? parse_int(*year_text) : std::nullopt;
  if (!year || *year < 1900 || *year > 2200) return json_error(400, "give the report's year as ?year=YYYY");
  std::optional<int> month;
  if (auto m = query_param(query, "month")) {
    month = parse_int(*m);
    if (!month || *month < 1 || *month > 12) return json_error(400, "month must be 1-12, or left out for the whole year");
  }
  auto report = csv ? store_.tally_csv(id, *year, month) : store_.tally_json(id, *year, month);
  if (!report) return json_error(report.err().code == errc::not_found ? 404 : 500, report.err().message);
  if (!csv) return {200, "application/json", std::move(report).value(), {}};
  const std::string file = std::string(id) + "-" + std::to_string(*year) + (month ? "-" + std::to_string(*month) : "") + ".csv";
  return {200, "text/csv; charset=utf-8", std::move(report).value(), "attachment; filename=\"" + file + "\""};
}

}  // namespace haven::server

#include <boost/json.hpp>
#include <boost/url/params_view.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>
#include <charconv>
#include <haven/core/hex.hpp>
#include <haven/crypto/crypto.hpp>
#include <haven/server/completeness.hpp>
#include <haven/server/http_api.hpp>
#include <haven/server/log.hpp>
#include <haven/server/report_year.hpp>
#include <map>
#include <optional>
#include <variant>

#include "dashboard.hpp"

namespace haven::server {
namespace {

http_reply json_error(unsigned status, const std::string& message) {
  return {status,
          "application/json",
          boost::json::serialize(boost::json::object{{"error", message}}),
          {},
          {}};
}

// The parameters of a query string "a=1&b=2", percent-decoded; nullopt for
// a query that is not one (RFC 3986), or that gives a name twice.
using params = std::map<std::string, std::string, std::less<>>;

std::optional<params> query_params(std::string_view query) {
  params out;
  if (query.empty()) return out;  // (Boost.URL would read the null pointer of an empty view)
  auto parsed = boost::urls::parse_query(query);
  if (!parsed) return std::nullopt;
  for (const auto& p : boost::urls::params_view(*parsed))
    if (!out.emplace(p.key, p.value).second) return std::nullopt;
  return out;
}

std::optional<int> parse_int(std::string_view text) {
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return n;
}

// The token of an "Authorization: Bearer TOKEN" header, or "" for none.
std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size()) return {};
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if ((authorization[i] | 0x20) != scheme[i]) return {};
  authorization.remove_prefix(scheme.size());
  while (!authorization.empty() && authorization.front() == ' ') authorization.remove_prefix(1);
  while (!authorization.empty() && authorization.back() == ' ') authorization.remove_suffix(1);
  return authorization;
}

// 429 with Retry-After for a key that must still `wait`; `what` says whose
// failures it is ("from this address", "with this token").
http_reply too_many(std::chrono::milliseconds wait, const std::string& what) {
  const auto seconds = std::to_string((wait.count() + 999) / 1000);
  http_reply r =
      json_error(429, "too many failed attempts " + what + "; try again in " + seconds + " s");
  r.headers.emplace_back("Retry-After", seconds);
  return r;
}

// An enrollment code as the registry compares it: upper case, no dashes or spaces.
std::string normalized_code(std::string_view typed) {
  std::string out;
  for (const char c : typed.substr(0, 64))
    if (c != '-' && c != ' ')
      out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  return out;
}

http_reply unauthorized(const std::string& message) {
  http_reply r = json_error(401, message);
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"haven\"");
  return r;
}

// A report the store could not make: 404 for an unknown tally, 503 while
// the tallies are counted again (with when to ask again), 500 otherwise.
http_reply report_error(const error& e) {
  if (e.code == errc::not_found) return json_error(404, e.message);
  if (e.code != errc::unavailable) return json_error(500, e.message);
  http_reply r = json_error(503, e.message);
  r.headers.emplace_back("Retry-After", "60");
  return r;
}

}  // namespace

http_reply http_api::handle(const http_request& request) const {
  auto reply = capture([&] { return route(request); });
  if (reply) return std::move(reply).value();
  return json_error(500, "the server could not answer: " + reply.err().message);
}

http_reply http_api::route(const http_request& request) const {
  const std::string_view method = request.method;
  const auto target = boost::urls::parse_origin_form(request.target);
  if (!target)
    return json_error(400,
                      "the request target is not valid: a path with an optional ?query, "
                      "percent-encoded (RFC 3986)");
  const std::string path = target->path();                 // percent-decoded
  const std::string_view query = target->encoded_query();  // decoded parameter by parameter
  if (path == "/api/enroll") {
    if (method != "POST")
      return json_error(405, "enroll with POST and a JSON body {\"code\", \"public_key\"}");
    return enroll(request);
  }
  if (method != "GET" && method != "HEAD") return json_error(405, "only GET is served here");

  if (path == "/healthz") {
    const auto c = log_.counts();
    return {200,
            "application/json",
            boost::json::serialize(
                boost::json::object{{"status", "ok"}, {"head", c.head}, {"records", c.records}}),
            {},
            {}};
  }
  if (path == "/metrics")
    return {200,
            "text/plain; version=0.0.4",
            metrics_.render(log_.counts(), devices_.device_count()),
            {},
            {}};
  constexpr std::string_view prefix = "/api/tallies/";
  const bool report = path == "/report" || path == "/api/report";
  if (report || path == "/api/tallies" || path.starts_with(prefix)) {
    std::string coordinator;
    if (auto refusal = refuse_tallies(request, coordinator)) return std::move(*refusal);
    http_reply reply = report ? annual_report(query)
                       : path == "/api/tallies" || path == "/api/tallies/"
                           ? tally_list(query)
                           : tally(std::string_view(path).substr(prefix.size()), query);
    reply.coordinator = std::move(coordinator);
    return reply;
  }
  if (path == "/api/events") {  // the stream itself is the HTTP session's (event_stream.hpp)
    std::string coordinator;
    if (auto refusal = refuse_tallies(request, coordinator)) return std::move(*refusal);
    http_reply reply{200, "text/event-stream", {}, {}, {}};
    reply.coordinator = std::move(coordinator);
    return reply;
  }
  if (path == "/" || path == "/index.html")
    return {200, "text/html; charset=utf-8", std::string(dashboard_html()), {}, {}};
  return json_error(404, "no such page: " + std::string(path) + " (see /api/tallies)");
}

std::optional<http_reply> http_api::backoff(std::string_view address, std::int64_t now) const {
  if (!guard_) return std::nullopt;
  const auto wait = guard_->wait(address, now);
  if (wait.count() == 0) return std::nullopt;
  return too_many(wait, "from this address");
}

std::optional<http_reply> http_api::refuse_tallies(const http_request& request,
                                                   std::string& coordinator) const {
  if (!access_) return std::nullopt;
  const std::string_view token = bearer_token(request.authorization);
  if (token.empty())
    return unauthorized(
        "the tallies need a coordinator token: send the header \"Authorization: Bearer TOKEN\"; "
        "on the server, havend --db PATH token --name NAME makes one");
  const std::int64_t now = unix_ms_now();
  // Failures count per address and per token (a digest of it). A token that
  // failed again and again is not even looked up while it waits. A valid one
  // is let in even while its address is backed off: behind a shared NAT a
  // neighbour may have sent bad tokens, and a 256-bit random token cannot be
  // guessed, so checking it during the back-off is no oracle. A bad token
  // during the address's back-off gets 429, as before.
  const std::string credential = login_guard::credential_key("token", token);
  if (guard_)
    if (const auto wait = guard_->wait(credential, now); wait.count() > 0)
      return too_many(wait, "with this token");
  if (auto holder = access_->token_holder(token)) {
    if (guard_)
      guard_->succeeded(credential);  // never the address: its neighbours' failures still count
    coordinator = std::move(*holder);
    return std::nullopt;
  }
  auto wait = backoff(request.remote_address, now);  // as it stood before this failure
  if (guard_) guard_->failed(request.remote_address, credential, now);
  audit_limited(*access_, guard_,
                {now, "token_refused", credential, std::string(request.remote_address),
                 "a bearer token that matches no coordinator was refused"});
  if (wait) return wait;
  return unauthorized(
      "this coordinator token is not valid (mistyped, or replaced by a newer one); ask for a new "
      "one "
      "(havend --db PATH token --name NAME)");
}

bool http_api::token_still_valid(std::string_view authorization) const {
  if (!access_) return true;
  const std::string_view token = bearer_token(authorization);
  return !token.empty() && access_->token_holder(token).has_value();
}

http_reply http_api::enroll(const http_request& request) const {
  if (!access_)
    return json_error(
        404, "enrollment is off: this server runs with --dev-no-auth and admits any device");
  boost::json::error_code ec;
  const boost::json::value body = boost::json::parse(request.body, ec);
  const auto* fields = ec ? nullptr : body.if_object();
  const auto* code = fields ? fields->if_contains("code") : nullptr;
  const auto* key = fields ? fields->if_contains("public_key") : nullptr;
  if (!code || !code->is_string() || !key || !key->is_string())
    return json_error(
        400,
        "send a JSON object {\"code\": \"XXXX-XXXX-XXXX\", \"public_key\": \"<64 hex digits>\"}");
  const auto public_key = from_hex(key->as_string());
  if (!public_key || public_key.value().size() != crypto::ed25519_key_bytes)
    return json_error(400,
                      "public_key must be the device's raw Ed25519 public key as 64 hex digits");
  const std::int64_t now = unix_ms_now();
  // Codes keep the address's back-off even for a right one: a code has 60
  // bits and redeeming it enrolls a device, so while an address is backed off
  // no code from it is checked at all (an enrollment is only delayed).
  // Failures count per code as well (a digest of it); a success clears only
  // the code's count, never the address's.
  const std::string credential =
      login_guard::credential_key("code", normalized_code(code->as_string()));
  if (auto wait = backoff(request.remote_address, now)) return std::move(*wait);
  if (guard_)
    if (const auto wait = guard_->wait(credential, now); wait.count() > 0)
      return too_many(wait, "with this code");
  auto grant = capture([&] {
    return access_->redeem(code->as_string(), public_key.value(), request.remote_address, now);
  });
  if (!grant) {
    if (grant.err().code != errc::unauthorized)
      return json_error(grant.err().code == errc::invalid_input ? 400 : 500, grant.err().message);
    if (guard_) guard_->failed(request.remote_address, credential, now);
    audit_limited(*access_, guard_,
                  {now, "enrollment_refused", code_prefix(code->as_string()),
                   std::string(request.remote_address), grant.err().message});
    return json_error(401, grant.err().message);
  }
  if (guard_) guard_->succeeded(credential);
  boost::json::object out{{"device_id", grant->device_id},
                          {"team", grant->team},
                          {"role", to_string(grant->role)},
                          {"pseudonym_key", to_hex(grant->pseudonym_key)}};
  if (!grant->token.empty()) out["token"] = grant->token;
  return {200, "application/json", boost::json::serialize(out), {}, {}};
}

namespace {

// What a tally or report request asks for:
// ?year=YYYY[&month=M][&view=internal|public][&lang=en|sl], or the report's ?year=YYYY[&from=YYYY].
struct period_request {
  int year = 0;  // or, for years side by side, from `year` to `to`
  std::optional<int> month;
  std::optional<int> to;
  std::optional<int> from;  // the report's ?from=YYYY: its years from then to `year`
  presentation as;
  bool codes = false;     // &format=codes: a CSV of codes, for a machine
  bool by_month = false;  // &by=month: a chart through the year
};

// ?lang=en|sl (English when not given), or the 400 that says what to give.
std::variant<language, http_reply> language_of(const params& given) {
  const auto lang = given.find("lang");
  if (lang == given.end()) return language::en;
  if (auto l = parse_language(lang->second)) return *l;
  return json_error(400, "lang must be en (English) or sl (Slovenian)");
}

// The request's period and view, or the 400 that says what to give.
std::variant<period_request, http_reply> period_of(std::string_view query, bool monthly) {
  const auto params = query_params(query);
  if (!params)
    return json_error(
        400, "the query string is not valid, or names a parameter twice (e.g. ?year=2026&month=3)");
  period_request out;
  const auto from = params->find("from"), to = params->find("to");
  if (monthly && (from != params->end() || to != params->end())) {
    if (from == params->end() || to == params->end() || params->count("year") ||
        params->count("month"))
      return json_error(400, "years side by side are ?from=YYYY&to=YYYY, e.g. ?from=2019&to=2023");
    for (const auto& [name, text] : {*from, *to})
      if (const auto problem = year_problem(name, text); !problem.empty())
        return json_error(400, problem);
    out.year = *four_digit_year(from->second);
    out.to = *four_digit_year(to->second);
    if (const auto problem = years_problem("from", out.year, "to", *out.to); !problem.empty())
      return json_error(400, problem);
  } else {
    const auto year_text = params->find("year");
    if (year_text == params->end())
      return json_error(400, "give the report's year as ?year=YYYY, e.g. ?year=2026");
    if (const auto problem = year_problem("year", year_text->second); !problem.empty())
      return json_error(400, problem);
    out.year = *four_digit_year(year_text->second);
    if (from != params->end()) {  // the report's: its tallies' years side by side
      if (const auto problem = year_problem("from", from->second); !problem.empty())
        return json_error(400, problem);
      out.from = *four_digit_year(from->second);
      if (const auto problem = years_problem("from", *out.from, "year", out.year); !problem.empty())
        return json_error(400, problem);
    }
  }
  if (auto m = params->find("month"); m != params->end()) {
    if (!monthly) return json_error(400, "the report is of a whole year: leave out month");
    out.month = parse_int(m->second);
    if (!out.month || *out.month < 1 || *out.month > 12)
      return json_error(400, "month must be 1-12, or left out for the whole year");
  }
  if (auto v = params->find("view"); v != params->end()) {
    if (v->second != "internal" && v->second != "public")
      return json_error(400, "view must be internal (every figure) or public (safe to publish)");
    if (v->second == "public") out.as.view = tally_view::published;
  }
  auto lang = language_of(*params);
  if (auto* refusal = std::get_if<http_reply>(&lang)) return std::move(*refusal);
  out.as.lang = std::get<language>(lang);
  if (auto f = params->find("format"); f != params->end()) {
    if (f->second != "labels" && f->second != "codes")
      return json_error(400, "format must be labels (for people) or codes (for a machine)");
    out.codes = f->second == "codes";
  }
  if (auto by = params->find("by"); by != params->end()) {
    if (by->second != "row" && by->second != "month")
      return json_error(400, "by must be row (a bar per row) or month (a line through the year)");
    out.by_month = by->second == "month";
  }
  return out;
}

}  // namespace

http_reply http_api::tally(std::string_view id, std::string_view query) const {
  const bool csv = id.ends_with(".csv"), svg = id.ends_with(".svg");
  if (csv || svg) id.remove_suffix(4);
  auto asked = period_of(query, true);
  if (auto* refusal = std::get_if<http_reply>(&asked)) return std::move(*refusal);
  const auto& [year, month, to, report_from, view, codes, by_month] =
      std::get<period_request>(asked);
  if (by_month && (!svg || month))
    return json_error(
        400, "by=month is a chart of a whole year: /api/tallies/ID.svg?year=YYYY&by=month");
  // Each month's public view is audited apart from the year's, so months
  // drawn beside the year's total could reveal a hidden month by difference.
  if (by_month && view.view == tally_view::published)
    return json_error(400,
                      "the chart by month is of the internal view only: a month hidden in the "
                      "public view could be worked out from the year's total and the other months");
  if (svg) {
    if (to) return json_error(400, "a chart is of one year or month: give ?year=YYYY");
    auto chart =
        by_month ? tallies_.months_svg(id, year, view) : tallies_.svg(id, year, month, view);
    if (!chart) return report_error(chart.err());
    return {200, "image/svg+xml", std::move(chart).value(), {}, {}};
  }
  if (codes && (!csv || to))
    return json_error(
        400,
        "format=codes is a CSV of one year or month: /api/tallies/ID.csv?year=YYYY&format=codes");
  auto report = to      ? (csv ? tallies_.years_csv(id, year, *to, view)
                               : tallies_.years_json(id, year, *to, view))
                : codes ? tallies_.codes_csv(id, year, month, view)
                : csv   ? tallies_.csv(id, year, month, view)
                        : tallies_.json(id, year, month, view);
  if (!report) return report_error(report.err());
  if (!csv)
    return {200, "application/json", with_completeness(std::move(report).value(), id), {}, {}};
  const std::string file =
      std::string(id) + "-" + std::to_string(year) + (to ? "-" + std::to_string(*to) : "") +
      (month ? "-" + std::to_string(*month) : "") + (codes ? "-codes" : "") + ".csv";
  return {200,
          "text/csv; charset=utf-8",
          std::move(report).value(),
          "attachment; filename=\"" + file + "\"",
          {}};
}

http_reply http_api::tally_list(std::string_view query) const {
  const auto given = query_params(query);
  if (!given) return json_error(400, "the query string is not valid (e.g. ?lang=sl)");
  auto lang = language_of(*given);
  if (auto* refusal = std::get_if<http_reply>(&lang)) return std::move(*refusal);
  return {200, "application/json", tallies_.list_json(std::get<language>(lang)), {}, {}};
}

std::string http_api::with_completeness(std::string json, std::string_view id) const {
  const tally_def* t = tallies_.record_schema().tally(id);
  if (!t || json.empty() || json.back() != '}') return json;
  json.pop_back();
  json +=
      ",\"completeness\":" +
      completeness_json(devices_.team_syncs(t->type), t->type, stale_after_days_, unix_ms_now()) +
      "}";
  return json;
}

http_reply http_api::annual_report(std::string_view query) const {
  auto asked = period_of(query, false);
  if (auto* refusal = std::get_if<http_reply>(&asked)) return std::move(*refusal);
  const auto& asked_period = std::get<period_request>(asked);
  auto html = tallies_.html(asked_period.year, asked_period.as, asked_period.from);
  if (!html) return report_error(html.err());
  return {200, "text/html; charset=utf-8", std::move(html).value(), {}, {}};
}

}  // namespace haven::server

#pragma once
// havend's HTTP routes as a plain function of a request, so they are tested
// without sockets: /healthz, /metrics, POST /api/enroll, /api/tallies,
// /api/tallies/{id} (JSON) and /api/tallies/{id}.csv with
// ?year=YYYY[&month=M], and / (the coordinator dashboard); GET /api/events
// is only authorised here (the HTTP session keeps the stream). With an access
// registry the tallies need a coordinator's bearer token; without one
// (--dev-no-auth) they are open and enrollment is off. Thread-safe as its
// store, metrics, registry and guard are.

#include <cstdint>
#include <haven/server/access_registry.hpp>
#include <haven/server/change_log.hpp>
#include <haven/server/device_cursors.hpp>
#include <haven/server/login_guard.hpp>
#include <haven/server/metrics.hpp>
#include <haven/server/tally_reports.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace haven::server {

// A request as the HTTP session read it; the views live as long as the call.
struct http_request {
  std::string_view method;
  std::string_view target;
  std::string_view authorization;  // the Authorization header's value, or ""
  std::string_view body;
  std::string_view remote_address;  // the peer's IP address
};

struct http_reply {
  unsigned status = 200;
  std::string content_type;
  std::string body;
  std::string content_disposition;  // for downloads, else empty
  std::vector<std::pair<std::string, std::string>>
      headers;  // further headers (WWW-Authenticate, Retry-After)
  // The coordinator whose valid token the request carried, else "": the
  // connection has then signed in (connection_budget.hpp). (With its
  // initializer, the replies above need not name it.)
  std::string coordinator{};
};

class http_api {
 public:
  // `access` nullptr: no authentication (--dev-no-auth). `guard` counts failed
  // enrollments and tokens per address; nullptr: no back-off. Both, when
  // given, must outlive the api, as must the store and the reports.
  http_api(change_log& log, device_cursors& devices, const tally_reports& tallies,
           const metrics& counters, access_registry* access = nullptr, login_guard* guard = nullptr)
      : log_(log),
        devices_(devices),
        tallies_(tallies),
        metrics_(counters),
        access_(access),
        guard_(guard) {}

  // The reply to a request. Unknown paths give 404, wrong methods 405, bad
  // parameters 400, a missing or wrong token or enrollment code 401, an
  // address in back-off 429 (with Retry-After), a report while the tallies
  // are counted again 503 (with Retry-After) — each with a JSON body
  // {"error": "..."} that says what to do; a failure of the store or the
  // registry gives 500. Never throws.
  http_reply handle(const http_request& request) const;
  // A request without credentials or body, from the loopback address.
  http_reply handle(std::string_view method, std::string_view target) const {
    return handle(http_request{method, target, {}, {}, "127.0.0.1"});
  }

  // GET /api/events answers 200 with content type text/event-stream and no
  // body once its token is checked (as /api/tallies'); the HTTP session then
  // keeps the connection as the live stream. Whether the Authorization
  // header a stream was opened with still names a coordinator (true without
  // authentication). Counts no failure. Throws the registry's errors.
  bool token_still_valid(std::string_view authorization) const;
  // A team whose last sync is older than this many days is flagged stale in
  // each tally's completeness (default 14). Set before serving.
  void stale_after_days(std::int64_t days) { stale_after_days_ = days; }

 private:
  http_reply route(const http_request& request) const;  // handle(), which may throw
  http_reply tally(std::string_view id, std::string_view query) const;
  // GET /report?year=YYYY[&view=public]: every tally of the year as one HTML document.
  http_reply annual_report(std::string_view query) const;
  // GET /api/tallies[?lang=en|sl]: the declared tallies.
  http_reply tally_list(std::string_view query) const;
  http_reply enroll(const http_request& request) const;
  // nullopt if the request may read the tallies (with `coordinator` set to
  // the token's holder, when a token was needed), else the refusal.
  std::optional<http_reply> refuse_tallies(const http_request& request,
                                           std::string& coordinator) const;
  // 429 if the address must still wait, else nullopt.
  std::optional<http_reply> backoff(std::string_view address, std::int64_t now_ms) const;

  // `json` (a tally's JSON object) with "completeness" (completeness.hpp) added.
  std::string with_completeness(std::string json, std::string_view id) const;

  change_log& log_;
  device_cursors& devices_;
  const tally_reports& tallies_;
  const metrics& metrics_;
  access_registry* access_;
  login_guard* guard_;
  std::int64_t stale_after_days_ = 14;
};

}  // namespace haven::server

#pragma once
// havend's HTTP routes as a plain function of method and target, so they are
// tested without sockets: /healthz, /metrics, /api/tallies, /api/tallies/{id}
// (JSON) and /api/tallies/{id}.csv with ?year=YYYY[&month=M], and / (the
// coordinator dashboard). Thread-safe as its store and metrics are.

#include <string>
#include <string_view>

#include <haven/server/central_store.hpp>
#include <haven/server/metrics.hpp>

namespace haven::server {

struct http_reply {
  unsigned status = 200;
  std::string content_type;
  std::string body;
  std::string content_disposition;  // for downloads, else empty
};

class http_api {
 public:
  http_api(central_store& store, const metrics& counters) : store_(store), metrics_(counters) {}

  // The reply to a request. Unknown paths give 404, wrong methods 405, bad
  // parameters 400 — each with a JSON body {"error": "..."} that says what to do.
  http_reply handle(std::string_view method, std::string_view target) const;

 private:
  http_reply tally(std::string_view id, std::string_view query) const;

  central_store& store_;
  const metrics& metrics_;
};

}  // namespace haven::server

#pragma once
// The kiosk's local API: JSON over the page's requests, each answered by the
// same client-core functions the C ABI wraps (store, record_json, enroll,
// person_code). The page holds no record, validation, person-code or sync
// logic of its own. Requests reach it only through local_guard's checks.
// Not thread-safe: one thread (the HTTP listener's) calls handle().

#include <chrono>
#include <cstdint>
#include <haven/client/store.hpp>
#include <string>
#include <string_view>

#include "record_index.hpp"
#include "staff_pin.hpp"
#include "sync_loop.hpp"

namespace haven::kiosk {

struct api_request {
  std::string method;     // "GET", "POST", "PUT", "DELETE"
  std::string target;     // "/api/records?type=pats_session"
  std::string_view body;  // JSON, or "": the caller's buffer, which it overwrites after handle()
};

struct api_response {
  unsigned status = 200;
  std::string body;  // JSON: the result, or {"error": "...", "issues": [{"field", "message"}]}
};

struct api_settings {
  std::chrono::seconds idle_lock{180};  // no request but status for this long: locked
  std::string default_server;           // offered at enrollment (--server)
  std::string ca_pem;                   // pinned at enrollment (--ca)
};

class local_api {
 public:
  using clock = std::chrono::steady_clock;
  // All references must outlive the api.
  local_api(client::store& db, record_index& index, staff_pin& pin, sync_loop& sync,
            api_settings settings);

  // The answer to one request. Record routes answer 423 while the app is
  // locked. Never throws: an unexpected failure is a 500 with its message.
  api_response handle(const api_request& request, clock::time_point now = clock::now());

 private:
  api_response route(const api_request& request, clock::time_point now);
  std::string status_json(clock::time_point now);
  std::string schema_json();
  std::string records_json(const std::string& query);
  std::string enroll(std::string_view body, clock::time_point now);
  std::string person_code(std::string_view body);
  std::string save_edit(const std::string& id, std::string_view body);
  bool locked(clock::time_point now);

  client::store& db_;
  record_index& index_;
  staff_pin& pin_;
  sync_loop& sync_;
  api_settings settings_;
  bool locked_ = true;  // until the PIN is given; no PIN (not enrolled): never
  clock::time_point last_activity_;
};

}  // namespace haven::kiosk

#pragma once
// Sign-in failures and the audit rows they may write: back-off per address
// and per credential, and a rate limit on the audit rows a client can repeat.

#include <chrono>
#include <cstdint>
#include <haven/server/access_registry.hpp>
#include <haven/server/rate_limit.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace haven::server {

// Failed authentications, with exponential back-off, counted per remote
// address and per credential (a device id, or a digest of a presented token
// or code: credential_key()). After `free_failures` failures a key waits
// first_backoff, doubling per further failure up to max_backoff. A key whose
// last failure is older than max_backoff starts afresh. A success clears only
// the key it names: callers clear the credential that succeeded, never the
// address, so that one success behind a shared address does not wipe the
// count of the bad attempts beside it. Memory is bounded: past 10,000
// addresses (and, apart, 10,000 credentials) the one that failed longest ago
// is forgotten.
//
// It also rate-limits the audit rows of failures: audit_now() lets the first
// `audits_per_interval` failures of one kind from one address in each
// `audit_interval` have a row each, and counts the rest; suppressed_audits()
// gives one summary row per (kind, address) for them. Thread-safe.
class login_guard {
 public:
  struct settings {
    unsigned free_failures = 5;
    std::chrono::milliseconds first_backoff{1000};
    std::chrono::milliseconds max_backoff{15 * 60 * 1000};
    unsigned audits_per_interval = 5;
    std::chrono::milliseconds audit_interval{60 * 1000};
  };
  explicit login_guard(settings s);
  login_guard() : login_guard(settings{}) {}
  ~login_guard();

  // The key a presented secret is counted under: `kind` ("token", "code"),
  // a colon, and the first 16 hex digits of the secret's SHA-256. The secret
  // itself is never kept. A device is counted under "device:" + its id.
  static std::string credential_key(std::string_view kind, std::string_view secret);

  // Zero if `key` (an address or a credential key) may try now, else how
  // long it must still wait. Times are milliseconds since the epoch, passed
  // in so tests need no sleeping.
  std::chrono::milliseconds wait(std::string_view key, std::int64_t now_ms) const;
  // One failure of `key`.
  void failed(std::string_view key, std::int64_t now_ms);
  // One failure from `address` presenting `credential` (a credential key): both count.
  void failed(std::string_view address, std::string_view credential, std::int64_t now_ms);
  // `key` succeeded: its count is cleared (a credential's; never pass an address
  // a neighbour may share).
  void succeeded(std::string_view key);

  // Whether this failure of `event` from `address` gets an audit row of its
  // own, and (when it does) how many of its kind were held back in an
  // interval that ended before it and not yet summed up.
  rate_limiter::verdict audit_now(std::string_view event, std::string_view address,
                                  std::int64_t now_ms);
  // Rows, stamped `now_ms`, that sum up the failures audit_now() held back in
  // intervals that ended by then (in every interval when `everything`, e.g.
  // at shutdown): the event, subject "(suppressed)", the address, the count.
  std::vector<audit_entry> suppressed_audits(std::int64_t now_ms, bool everything = false);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Writes `entry` (an event a client can repeat: a refused sign-in, code or
// token, a wipe order to a revoked device, a refused push) to `registry`'s
// audit log if `guard` lets it have a row of its own (audit_now() for its
// event and address; a null guard lets every one through). The rest are
// counted into the guard's summary rows.
void audit_limited(access_registry& registry, login_guard* guard, const audit_entry& entry);

}  // namespace haven::server

#pragma once
// Who may connect: enrollment codes, enrolled devices with their public keys
// and standing, coordinator tokens, the teams' pseudonym keys, and the audit
// log. The registry stores public keys and token hashes only, so a copy of
// it lets nobody connect as a device or read tallies as a coordinator. (The
// teams' pseudonym keys are the exception: devices receive them here; see
// SECURITY.md.) An interface beside central_store; the SQLite one lives in the
// same file, in tables of its own. Implementations are thread-safe.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <haven/schema/result.hpp>
#include <haven/server/rate_limit.hpp>

namespace haven::server {

enum class device_role { worker, coordinator };
// active: may sync. retired: handed back; its pending changes are accepted,
// then it is told to wipe. revoked: lost or stolen; refused, told to wipe.
enum class device_standing { active, retired, revoked };

std::string_view to_string(device_role r);
std::string_view to_string(device_standing s);
std::optional<device_role> parse_role(std::string_view text);

struct enrolled_device {
  std::string device_id;  // assigned at enrollment, "d" + 16 hex digits
  std::string name;       // as given to `havend enroll --name`
  std::string team;
  device_role role = device_role::worker;
  std::string public_key;  // raw Ed25519, 32 bytes
  device_standing standing = device_standing::active;
  std::int64_t enrolled_ms = 0;
  std::optional<std::int64_t> standing_changed_ms;  // when retired or revoked
  std::optional<std::int64_t> wiped_ms;             // when it confirmed its wipe
};

// A one-time enrollment code as `havend enroll` prints it.
struct enrollment_code {
  std::string code;  // short and typeable, e.g. "7KQ4-M2XH-9PRT"
  std::int64_t expires_ms = 0;
};

// What a device receives when its code is redeemed.
struct enrollment_grant {
  std::string device_id;
  std::string team;
  device_role role = device_role::worker;
  std::string pseudonym_key;  // the team's HMAC key for person codes, 32 bytes
  std::string token;          // coordinators only: a bearer token for the HTTP API
};

// The subject of an audit row that counts the rows of one event and address
// that the rate limit kept out of the log.
inline constexpr std::string_view suppressed_subject = "(suppressed)";

struct audit_entry {
  std::int64_t at_ms = 0;
  std::string event;    // code_issued, enrolled, enrollment_refused, retired,
                        // revoked, reactivated, wiped,
                        // login_failed, push_refused, token_issued, token_refused
  std::string subject;  // device id, token name or code prefix
  std::string address;  // remote IP address, or "" for the command line
  std::string detail;   // a sentence; never a record's values
};

class access_registry {
 public:
  virtual ~access_registry() = default;

  // A new single-use code for a device named `name` in `team`, valid for
  // `ttl`. errc::invalid_input for a bad team, an empty name or ttl <= 0.
  virtual enrollment_code issue_code(std::string_view name, std::string_view team, device_role role,
                                     std::chrono::seconds ttl, std::int64_t now_ms) = 0;
  // Redeems a code for a device with this public key (32 bytes): the device
  // is registered, the code is used up, and the grant returned (audited).
  // Codes are compared case-insensitively and without dashes or spaces.
  // errc::unauthorized for an unknown, used or expired code (the message says
  // which, and what to do), not audited here: a stranger can repeat it, so
  // the caller audits it within the rate limit (audit_limited, with subject
  // code_prefix()); errc::invalid_input for a malformed key.
  virtual enrollment_grant redeem(std::string_view code, std::string_view public_key, std::string_view address,
                                  std::int64_t now_ms) = 0;

  virtual std::optional<enrolled_device> device(std::string_view device_id) = 0;
  virtual std::vector<enrolled_device> devices() = 0;
  // Retires or revokes a device (audited). errc::not_found for an unknown id;
  // errc::invalid_input to make a revoked device anything else, or to
  // reactivate a device that has confirmed its wipe. A standing set again is
  // a no-op.
  virtual enrolled_device set_standing(std::string_view device_id, device_standing standing, std::int64_t now_ms) = 0;
  // Grows with every change of any device's standing (retire, revoke,
  // reactivate): a cheap way for a long-running server to notice one made by
  // another process.
  virtual std::int64_t standings_version() = 0;
  // The device erased its store after a wipe order (audited). errc::not_found
  // for an unknown id, errc::invalid_input for an active device.
  virtual void mark_wiped(std::string_view device_id, std::int64_t now_ms) = 0;

  // A new bearer token for coordinator `name`, returned once; only its
  // SHA-256 is stored. A second token for the same name replaces the first.
  virtual std::string issue_token(std::string_view name, std::int64_t now_ms) = 0;
  // The coordinator a token belongs to, or nullopt (constant-time compare).
  virtual std::optional<std::string> token_holder(std::string_view token) = 0;

  virtual void audit(const audit_entry& entry) = 0;
  // The newest `limit` entries, newest first.
  virtual std::vector<audit_entry> audit_log(std::size_t limit) = 0;
};

// What the audit log shows of a typed enrollment code: its first four
// characters, and "..." if there were more.
std::string code_prefix(std::string_view typed);

// Opens (creating its tables if absent) the registry inside the SQLite file
// of the central store. Throws haven::failure (errc::store) on I/O errors.
std::unique_ptr<access_registry> open_sqlite_registry(const std::filesystem::path& file);

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
  rate_limiter::verdict audit_now(std::string_view event, std::string_view address, std::int64_t now_ms);
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

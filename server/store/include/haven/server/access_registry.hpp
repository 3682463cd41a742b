#pragma once
// Who may connect: enrollment codes, enrolled devices with their public keys
// and standing, coordinator tokens, the teams' pseudonym keys, and the audit
// log. The registry stores public keys and token hashes only, so a copy of
// it lets nobody connect as a device or read tallies as a coordinator. (The
// teams' pseudonym keys are the exception: devices receive them here; see
// SECURITY.md.) An interface beside central_store; the SQLite one lives in the
// same file, in tables of its own. Implementations are thread-safe.

#include <cstdint>
#include <filesystem>
#include <haven/core/result.hpp>
#include <haven/sync/protocol.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace haven::server {

enum class device_role { worker, coordinator };
// The protocol's standing (active, retired, revoked), the one enum from the
// registry's table to the wire.
using device_standing = sync::standing;
using sync::to_string;

std::string_view to_string(device_role r);
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
  virtual enrollment_grant redeem(std::string_view code, std::string_view public_key,
                                  std::string_view address, std::int64_t now_ms) = 0;

  virtual std::optional<enrolled_device> device(std::string_view device_id) = 0;
  virtual std::vector<enrolled_device> devices() = 0;
  // Retires or revokes a device (audited). errc::not_found for an unknown id;
  // errc::invalid_input to make a revoked device anything else, or to
  // reactivate a device that has confirmed its wipe. A standing set again is
  // a no-op.
  virtual enrolled_device set_standing(std::string_view device_id, device_standing standing,
                                       std::int64_t now_ms) = 0;
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

}  // namespace haven::server

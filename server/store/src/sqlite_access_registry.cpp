// The SQLite access registry: its own connection to the central store's
// file, behind a mutex, and tables of its own. Codes and tokens are kept as
// SHA-256 digests only.
#include <array>
#include <haven/core/clock.hpp>
#include <haven/core/crockford.hpp>
#include <haven/core/hex.hpp>
#include <haven/core/terminal_text.hpp>
#include <haven/crypto/crypto.hpp>
#include <haven/schema/schema.hpp>
#include <haven/server/access_registry.hpp>
#include <haven/sqlite/sqlite.hpp>
#include <haven/sqlite/store_identity.hpp>
#include <mutex>
#include <set>

namespace haven::server {
namespace {

constexpr std::size_t code_length = 12;
constexpr std::size_t token_bytes = 32;
constexpr std::size_t max_name_bytes = 100;

constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS enrollment_codes(
  code_hash BLOB PRIMARY KEY,   -- SHA-256 of the normalised code
  name TEXT NOT NULL, team TEXT NOT NULL, role TEXT NOT NULL,
  issued_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,
  used_ms INTEGER, device_id TEXT);
CREATE TABLE IF NOT EXISTS enrolled_devices(
  device_id TEXT PRIMARY KEY, name TEXT NOT NULL, team TEXT NOT NULL, role TEXT NOT NULL,
  public_key BLOB NOT NULL, standing TEXT NOT NULL, enrolled_ms INTEGER NOT NULL,
  standing_changed_ms INTEGER, wiped_ms INTEGER);
CREATE TABLE IF NOT EXISTS coordinator_tokens(
  name TEXT PRIMARY KEY,        -- a coordinator's name, or the device id of a coordinator device
  token_hash BLOB NOT NULL, issued_ms INTEGER NOT NULL,
  device_id TEXT);              -- set for a device's token: it lapses with the device's standing
CREATE TABLE IF NOT EXISTS team_keys(
  team TEXT PRIMARY KEY, pseudonym_key BLOB NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS standings_version(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL);    -- grows with every change of a device's standing
INSERT OR IGNORE INTO standings_version VALUES (1, 0);
CREATE TABLE IF NOT EXISTS audit_log(
  id INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, event TEXT NOT NULL,
  subject TEXT NOT NULL, address TEXT NOT NULL, detail TEXT NOT NULL);
)sql";

std::string string_of(std::span<const std::uint8_t> b) {
  return std::string(sqlite::as_chars(b));
}

std::string utc_text(std::int64_t ms) {
  return utc_time(ms, "%Y-%m-%d %H:%M:%S UTC");
}

// The code as typed, upper-cased, without dashes or spaces, and with the
// letters Crockford reads as digits (O as 0, I and L as 1); nullopt if it
// is not 12 characters of the alphabet.
std::optional<std::string> normalise_code(std::string_view typed) {
  std::string out;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    const char symbol = crockford_symbol(c);
    if (!symbol || out.size() == code_length) return std::nullopt;
    out.push_back(symbol);
  }
  if (out.size() != code_length) return std::nullopt;
  return out;
}

std::string new_code() {
  return crockford_groups(crypto::random_bytes(code_length), 4);
}

// What the audit log may show of a secret someone typed: its first characters.

// A device id as havend gives them ("d" and 16 hex digits), or the node id an
// unenrolled device names itself by (16 hex digits).
bool valid_device_id(std::string_view id) {
  if (!id.empty() && id.front() == 'd') id.remove_prefix(1);
  return id.size() == 16 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// What the audit log keeps as an entry's subject: a device id for the events
// about a device, a name or a code's or token's first characters (1-100
// bytes of text without control characters) for the others; anything else,
// e.g. what a hostile client sent as its device id, as "(invalid: N bytes,
// HEX)" with the hex of its first 32 bytes, never raw. A row of suppressed
// events keeps suppressed_subject.
std::string audit_subject(std::string_view event, std::string_view subject) {
  static const std::set<std::string_view> about_a_device{
      "login_failed", "push_refused", "wipe_ordered", "enrolled",
      "retired",      "revoked",      "reactivated",  "wiped"};
  const bool valid = subject == suppressed_subject ||
                     (about_a_device.count(event) ? valid_device_id(subject)
                                                  : !subject.empty() && subject.size() <= 100 &&
                                                        printable(subject) == subject);
  if (valid) return std::string(subject);
  const std::string_view head = subject.substr(0, 32);
  return "(invalid: " + std::to_string(subject.size()) + " bytes" +
         (subject.empty() ? "" : ", " + to_hex(head)) +
         (head.size() < subject.size() ? "...)" : ")");
}

class sqlite_access_registry final : public access_registry {
 public:
  // The registry lives in the central store's file: it refuses any other.
  explicit sqlite_access_registry(const std::filesystem::path& file)
      : db_(sqlite::check_file(file, sqlite::store_kind::central), sqlite::database::mode::create) {
    sqlite::claim(db_, file, sqlite::store_kind::central, true);
    db_.exec(schema_sql);
  }

  enrollment_code issue_code(std::string_view name, std::string_view team, device_role role,
                             std::chrono::seconds ttl, std::int64_t now_ms) override {
    if (name.empty() || name.size() > max_name_bytes)
      throw failure(errc::invalid_input,
                    "give the device a name of 1-100 characters (e.g. --name \"Ana's phone\")");
    if (!valid_team(team))
      throw failure(errc::invalid_input,
                    "\"" + std::string(team) +
                        "\" is not a team code: 1-32 characters of a-z, 0-9 and -, "
                        "starting with a letter or digit");
    if (ttl.count() <= 0)
      throw failure(errc::invalid_input, "the code must stay valid for some time (e.g. 24h)");
    const enrollment_code code{new_code(), now_ms + ttl.count() * 1000};
    std::lock_guard lock(mutex_);
    sqlite::transaction tx(db_);
    sqlite::statement(
        db_,
        "INSERT INTO enrollment_codes(code_hash, name, team, role, issued_ms, expires_ms) "
        "VALUES(?, ?, ?, ?, ?, ?)")
        .bind(1, sqlite::as_blob(crypto::sha256(*normalise_code(code.code))))
        .bind(2, name)
        .bind(3, team)
        .bind(4, to_string(role))
        .bind(5, now_ms)
        .bind(6, code.expires_ms)
        .run();
    team_key(team, now_ms);
    write_audit({now_ms, "code_issued", std::string(name), "",
                 "an enrollment code for a " + std::string(to_string(role)) + " of team " +
                     std::string(team) + ", valid until " + utc_text(code.expires_ms)});
    tx.commit();
    return code;
  }

  enrollment_grant redeem(std::string_view typed, std::string_view public_key,
                          std::string_view address, std::int64_t now_ms) override {
    if (public_key.size() != crypto::ed25519_key_bytes)
      throw failure(errc::invalid_input,
                    "the device's public key must be a raw Ed25519 key of 32 bytes");
    std::lock_guard lock(mutex_);
    sqlite::transaction tx(db_);
    // Not audited here: the caller audits refusals within the rate limit.
    const auto refuse = [](std::string message) {
      throw failure(errc::unauthorized, std::move(message));
    };
    const auto code = normalise_code(typed);
    if (!code)
      refuse(
          "not a valid enrollment code: it has 12 letters and digits, like 7KQ4-M2XH-9PRT; check "
          "what you "
          "typed, or ask your coordinator for a new one");
    const std::string code_hash = crypto::sha256(*code);
    enrolled_device d;
    std::int64_t expires = 0;
    bool found = false, used = false;
    {
      sqlite::statement find(
          db_,
          "SELECT name, team, role, expires_ms, used_ms FROM enrollment_codes WHERE code_hash = ?");
      find.bind(1, sqlite::as_blob(code_hash));
      if ((found = find.step())) {
        d.name = find.text(0);
        d.team = find.text(1);
        d.role = parse_role(find.text(2)).value_or(device_role::worker);
        expires = find.integer(3);
        used = find.type(4) != sqlite::statement::column_type::null;
      }
    }
    if (!found)
      refuse(
          "not a valid enrollment code: no such code was issued; check what you typed, or ask your "
          "coordinator for a new one");
    if (used) refuse("this enrollment code was already used; ask your coordinator for a new one");
    if (expires <= now_ms)
      refuse("this enrollment code expired at " + utc_text(expires) +
             "; ask your coordinator for a new one");

    d.device_id = "d" + to_hex(crypto::random_bytes(8));
    d.public_key = std::string(public_key);
    d.enrolled_ms = now_ms;
    sqlite::statement(db_,
                      "INSERT INTO enrolled_devices(device_id, name, team, role, public_key, "
                      "standing, enrolled_ms) "
                      "VALUES(?, ?, ?, ?, ?, 'active', ?)")
        .bind(1, d.device_id)
        .bind(2, d.name)
        .bind(3, d.team)
        .bind(4, to_string(d.role))
        .bind(5, sqlite::as_blob(d.public_key))
        .bind(6, now_ms)
        .run();
    sqlite::statement(db_,
                      "UPDATE enrollment_codes SET used_ms = ?, device_id = ? WHERE code_hash = ?")
        .bind(1, now_ms)
        .bind(2, d.device_id)
        .bind(3, sqlite::as_blob(code_hash))
        .run();
    enrollment_grant grant{d.device_id, d.team, d.role, team_key(d.team, now_ms), {}};
    if (d.role == device_role::coordinator)
      grant.token = store_token(d.device_id, d.device_id, now_ms);
    write_audit({now_ms, "enrolled", d.device_id, std::string(address),
                 "\"" + d.name + "\" enrolled as a " + std::string(to_string(d.role)) +
                     " of team " + d.team});
    tx.commit();
    return grant;
  }

  std::optional<enrolled_device> device(std::string_view device_id) override {
    std::lock_guard lock(mutex_);
    return select_device(device_id);
  }

  std::vector<enrolled_device> devices() override {
    std::lock_guard lock(mutex_);
    return all_devices();
  }

  std::int64_t standings_version() override {
    std::lock_guard lock(mutex_);
    sqlite::statement read(db_, "SELECT version FROM standings_version");
    return read.step() ? read.integer(0) : 0;
  }

  enrolled_device set_standing(std::string_view device_id, device_standing standing,
                               std::int64_t now_ms) override {
    std::lock_guard lock(mutex_);
    sqlite::transaction tx(db_);
    enrolled_device d = enrolled(device_id);
    if (d.standing == standing) return d;
    if (d.standing == device_standing::revoked)
      throw failure(errc::invalid_input,
                    "device " + d.device_id +
                        " is revoked, for good; enroll it again with a new code if it is found");
    if (standing == device_standing::active && d.wiped_ms)
      throw failure(
          errc::invalid_input,
          "device " + d.device_id + " has erased its store; enroll it again with a new code");
    sqlite::statement(
        db_,
        "UPDATE enrolled_devices SET standing = ?, standing_changed_ms = ? WHERE device_id = ?")
        .bind(1, to_string(standing))
        .bind(2, now_ms)
        .bind(3, device_id)
        .run();
    sqlite::statement(db_, "UPDATE standings_version SET version = version + 1").run();
    d.standing = standing;
    d.standing_changed_ms = now_ms;
    const std::string event =
        standing == device_standing::active ? "reactivated" : std::string(to_string(standing));
    write_audit(
        {now_ms, event, d.device_id, "",
         "\"" + d.name + "\" of team " + d.team + " is now " + std::string(to_string(standing))});
    tx.commit();
    return d;
  }

  void mark_wiped(std::string_view device_id, std::int64_t now_ms) override {
    std::lock_guard lock(mutex_);
    sqlite::transaction tx(db_);
    const enrolled_device d = enrolled(device_id);
    if (d.standing == device_standing::active)
      throw failure(errc::invalid_input,
                    "device " + std::string(device_id) + " is active and was not told to wipe");
    if (d.wiped_ms) return;
    sqlite::statement(db_, "UPDATE enrolled_devices SET wiped_ms = ? WHERE device_id = ?")
        .bind(1, now_ms)
        .bind(2, device_id)
        .run();
    write_audit(
        {now_ms, "wiped", std::string(device_id), "", "\"" + d.name + "\" confirmed its wipe"});
    tx.commit();
  }

  std::string issue_token(std::string_view name, std::int64_t now_ms) override {
    if (name.empty() || name.size() > max_name_bytes)
      throw failure(errc::invalid_input,
                    "give the coordinator a name of 1-100 characters (e.g. --name maja)");
    std::lock_guard lock(mutex_);
    sqlite::transaction tx(db_);
    std::string token = store_token(name, std::nullopt, now_ms);
    write_audit({now_ms, "token_issued", std::string(name), "",
                 "a coordinator token was issued; it replaces any earlier one"});
    tx.commit();
    return token;
  }

  std::optional<std::string> token_holder(std::string_view token) override {
    const std::string digest = crypto::sha256(token);
    std::lock_guard lock(mutex_);
    sqlite::transaction tx(db_, sqlite::transaction::kind::read);
    // Every row is compared, in constant time, so that the time taken does
    // not tell how close a guess came.
    sqlite::statement all(
        db_,
        "SELECT t.name, t.token_hash, t.device_id IS NULL OR d.standing = 'active' "
        "FROM coordinator_tokens t LEFT JOIN enrolled_devices d ON d.device_id = t.device_id");
    std::optional<std::string> holder;
    while (all.step())
      if (crypto::equal(string_of(all.blob(1)), digest) && all.integer(2) != 0)
        holder = all.text(0);
    return holder;
  }

  void audit(const audit_entry& entry) override {
    std::lock_guard lock(mutex_);
    sqlite::transaction tx(db_);
    write_audit(entry);
    tx.commit();
  }

  std::vector<audit_entry> audit_log(std::size_t limit) override {
    std::lock_guard lock(mutex_);
    sqlite::statement st(
        db_,
        "SELECT at_ms, event, subject, address, detail FROM audit_log ORDER BY id DESC LIMIT ?");
    st.bind(1, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
    std::vector<audit_entry> out;
    while (st.step())
      out.push_back({st.integer(0), st.text(1), st.text(2), st.text(3), st.text(4)});
    return out;
  }

 private:
  // Requires: mutex_ held, inside a write transaction. The subject is stored
  // only if it is a valid identifier (see audit_subject); address and detail
  // with their control characters escaped.
  void write_audit(const audit_entry& e) {
    sqlite::statement(
        db_, "INSERT INTO audit_log(at_ms, event, subject, address, detail) VALUES(?, ?, ?, ?, ?)")
        .bind(1, e.at_ms)
        .bind(2, e.event)
        .bind(3, audit_subject(e.event, e.subject))
        .bind(4, printable(e.address))
        .bind(5, printable(e.detail))
        .run();
  }

  // The team's pseudonym key, created on first use. Requires: as write_audit.
  std::string team_key(std::string_view team, std::int64_t now_ms) {
    sqlite::statement find(db_, "SELECT pseudonym_key FROM team_keys WHERE team = ?");
    find.bind(1, team);
    if (find.step()) return string_of(find.blob(0));
    std::string key = crypto::random_bytes(32);
    sqlite::statement(db_, "INSERT INTO team_keys(team, pseudonym_key, created_ms) VALUES(?, ?, ?)")
        .bind(1, team)
        .bind(2, sqlite::as_blob(key))
        .bind(3, now_ms)
        .run();
    return key;
  }

  // A new token for `name`, replacing its earlier one. Requires: as write_audit.
  std::string store_token(std::string_view name, std::optional<std::string_view> device_id,
                          std::int64_t now_ms) {
    std::string token = to_hex(crypto::random_bytes(token_bytes));
    sqlite::statement st(
        db_,
        "INSERT OR REPLACE INTO coordinator_tokens(name, token_hash, issued_ms, device_id) "
        "VALUES(?, ?, ?, ?)");
    st.bind(1, name).bind(2, sqlite::as_blob(crypto::sha256(token))).bind(3, now_ms);
    if (device_id)
      st.bind(4, *device_id);
    else
      st.bind_null(4);
    st.run();
    return token;
  }

  // Requires: mutex_ held. `where` may hold one parameter, bound to `arg`.
  // The device with this id (a cached statement: a session asks before
  // every live batch it sends).
  std::optional<enrolled_device> select_device(std::string_view device_id) {
    auto& st = db_.cached(R"(SELECT device_id, name, team, role, public_key, standing, enrolled_ms,
standing_changed_ms, wiped_ms FROM enrolled_devices WHERE device_id = ?)");
    st.bind(1, device_id);
    auto found = read_devices(st);
    st.reset();
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
  }

  // The device with this id; throws errc::not_found if none is enrolled.
  enrolled_device enrolled(std::string_view device_id) {
    auto d = select_device(device_id);
    if (!d)
      throw failure(errc::not_found, "no enrolled device has the id " + std::string(device_id));
    return std::move(*d);
  }

  std::vector<enrolled_device> all_devices() {
    sqlite::statement st(db_,
                         "SELECT device_id, name, team, role, public_key, standing, enrolled_ms, "
                         "standing_changed_ms, wiped_ms FROM enrolled_devices "
                         "ORDER BY enrolled_ms, device_id");
    return read_devices(st);
  }

  // The rows of `st`: device_id, name, team, role, public_key, standing,
  // enrolled_ms, standing_changed_ms, wiped_ms.
  static std::vector<enrolled_device> read_devices(sqlite::statement& st) {
    std::vector<enrolled_device> out;
    const auto optional_int = [&](int col) -> std::optional<std::int64_t> {
      if (st.type(col) == sqlite::statement::column_type::null) return std::nullopt;
      return st.integer(col);
    };
    while (st.step()) {
      enrolled_device d;
      d.device_id = st.text(0);
      d.name = st.text(1);
      d.team = st.text(2);
      d.role = parse_role(st.text(3)).value_or(device_role::worker);
      d.public_key = string_of(st.blob(4));
      const auto standing = sync::parse_standing(st.text(5));
      if (!standing)
        throw failure(errc::store, "store: device " + d.device_id + " has an unknown standing");
      d.standing = *standing;
      d.enrolled_ms = st.integer(6);
      d.standing_changed_ms = optional_int(7);
      d.wiped_ms = optional_int(8);
      out.push_back(std::move(d));
    }
    return out;
  }

  std::mutex mutex_;
  sqlite::database db_;  // guarded by mutex_
};

}  // namespace

std::string_view to_string(device_role r) {
  return r == device_role::coordinator ? "coordinator" : "worker";
}

std::optional<device_role> parse_role(std::string_view text) {
  if (text == "worker") return device_role::worker;
  if (text == "coordinator") return device_role::coordinator;
  return std::nullopt;
}

std::string code_prefix(std::string_view typed) {
  return std::string(typed.substr(0, 4)) + (typed.size() > 4 ? "..." : "");
}

std::unique_ptr<access_registry> open_sqlite_registry(const std::filesystem::path& file) {
  return std::make_unique<sqlite_access_registry>(file);
}

}  // namespace haven::server

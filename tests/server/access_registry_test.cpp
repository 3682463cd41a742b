// The SQLite access registry in the central store's file: enrollment codes
// (single use, expiry, forgiving typing), what the file holds of codes and
// tokens (digests only), coordinator tokens, the standings version, the
// audit log, and the login guard's back-off. Standing transitions are in
// the conformance suite (store_conformance.hpp).

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <haven/core/hex.hpp>
#include <haven/crypto/crypto.hpp>
#include <haven/server/access_registry.hpp>
#include <haven/server/login_guard.hpp>
#include <set>
#include <string>

#include "../support/file_bytes.hpp"
#include "central_fixture.hpp"

namespace haven::test {
namespace {

using Catch::Matchers::Contains;
using server::device_role;
using server::device_standing;

constexpr std::int64_t t0 = 1'780'000'000'000;  // May 2026
constexpr auto day = std::chrono::hours(24);

// The central store and the registry on one file.
struct registry_fixture : central_fixture {
  std::unique_ptr<server::access_registry> registry = server::open_sqlite_registry(file());

  std::string key(char fill = 'k') const { return std::string(crypto::ed25519_key_bytes, fill); }
  server::enrollment_code code(const std::string& team = "team-a",
                               device_role role = device_role::worker,
                               std::chrono::seconds ttl = day) {
    return registry->issue_code("Ana's phone", team, role, ttl, t0);
  }
  bool has_event(const std::string& event, const std::string& subject = "") {
    for (const auto& e : registry->audit_log(1000))
      if (e.event == event && (subject.empty() || e.subject == subject)) return true;
    return false;
  }
};

std::string without_dashes(std::string code) {
  std::erase(code, '-');
  return code;
}

}  // namespace

TEST_CASE("registry: a code has 12 Crockford characters in three groups and enrolls once",
          "[server][registry]") {
  registry_fixture f;
  const auto c = f.code();
  REQUIRE(c.code.size() == 14);
  CHECK(c.code[4] == '-');
  CHECK(c.code[9] == '-');
  for (char ch : without_dashes(c.code))
    CHECK(std::string("0123456789ABCDEFGHJKMNPQRSTVWXYZ").find(ch) != std::string::npos);
  CHECK(c.expires_ms == t0 + 24 * 3600 * 1000);

  const auto grant = f.registry->redeem(c.code, f.key(), "10.0.0.7", t0 + 1000);
  CHECK(grant.team == "team-a");
  CHECK(grant.role == device_role::worker);
  CHECK(grant.token.empty());
  CHECK(grant.pseudonym_key.size() == 32);
  REQUIRE(grant.device_id.size() == 17);
  CHECK(grant.device_id[0] == 'd');

  const auto d = f.registry->device(grant.device_id);
  REQUIRE(d);
  CHECK(d->name == "Ana's phone");
  CHECK(d->team == "team-a");
  CHECK(d->public_key == f.key());
  CHECK(d->standing == device_standing::active);
  CHECK(d->enrolled_ms == t0 + 1000);
  CHECK(f.registry->devices().size() == 1);
  CHECK_FALSE(f.registry->device("d0000000000000000"));

  const auto again =
      error_of([&] { f.registry->redeem(c.code, f.key('x'), "10.0.0.8", t0 + 2000); });
  CHECK(again.code == errc::unauthorized);
  CHECK_THAT(again.message,
             Contains("already used") && Contains("ask your coordinator for a new one"));
  CHECK(f.registry->devices().size() == 1);
}

TEST_CASE("registry: codes are distinct, and survive reopening the file", "[server][registry]") {
  registry_fixture f;
  std::set<std::string> codes;
  for (int i = 0; i < 50; ++i) codes.insert(f.code().code);
  CHECK(codes.size() == 50);
  const auto c = f.code();
  f.registry.reset();
  f.registry = server::open_sqlite_registry(f.file());
  CHECK(f.registry->redeem(c.code, f.key(), "", t0).team == "team-a");
}

TEST_CASE("registry: an expired code is refused with when it expired", "[server][registry]") {
  registry_fixture f;
  const auto c = f.code("team-a", device_role::worker, std::chrono::seconds(60));
  const auto e = error_of([&] { f.registry->redeem(c.code, f.key(), "", t0 + 60'000); });
  CHECK(e.code == errc::unauthorized);
  CHECK_THAT(e.message, Contains("expired at") && Contains("ask your coordinator"));
  // Just before expiry it still works.
  const auto c2 = f.code("team-a", device_role::worker, std::chrono::seconds(60));
  CHECK_NOTHROW(f.registry->redeem(c2.code, f.key(), "", t0 + 59'999));
}

TEST_CASE("registry: redemption ignores case, dashes and spaces", "[server][registry]") {
  registry_fixture f;
  for (const auto& typed : {std::function<std::string(std::string)>([](std::string s) {
                              for (auto& ch : s) ch = static_cast<char>(std::tolower(ch));
                              return s;
                            }),
                            std::function<std::string(std::string)>(without_dashes),
                            std::function<std::string(std::string)>([](std::string s) {
                              std::replace(s.begin(), s.end(), '-', ' ');
                              return " " + s + " ";
                            })}) {
    const auto c = f.code();
    CAPTURE(c.code, typed(c.code));
    CHECK(f.registry->redeem(typed(c.code), f.key(), "", t0).team == "team-a");
  }
}

TEST_CASE("registry: an unknown or malformed code, and a malformed key, are refused",
          "[server][registry]") {
  registry_fixture f;
  const auto c = f.code();
  for (const std::string bad :
       {"", "ABCD", "ABCD-EFGH-JKMN-PQRS", "UUUU-UUUU-UUUU", "0000-0000-0000"}) {
    CAPTURE(bad);
    const auto e = error_of([&] { f.registry->redeem(bad, f.key(), "", t0); });
    CHECK(e.code == errc::unauthorized);
    CHECK_THAT(e.message, Contains("not a valid enrollment code"));
  }
  const auto e = error_of([&] { f.registry->redeem(c.code, "short", "", t0); });
  CHECK(e.code == errc::invalid_input);
  // The code was not used up by the malformed key.
  CHECK_NOTHROW(f.registry->redeem(c.code, f.key(), "", t0));
}

TEST_CASE("registry: issue_code checks name, team and validity", "[server][registry]") {
  registry_fixture f;
  CHECK(error_of([&] {
          f.registry->issue_code("", "team-a", device_role::worker, day, t0);
        }).code == errc::invalid_input);
  CHECK(error_of([&] {
          f.registry->issue_code("x", "Team A", device_role::worker, day, t0);
        }).code == errc::invalid_input);
  CHECK(error_of([&] {
          f.registry->issue_code("x", "team-a", device_role::worker, std::chrono::seconds(0), t0);
        }).code == errc::invalid_input);
}

TEST_CASE("registry: one pseudonym key per team", "[server][registry]") {
  registry_fixture f;
  const auto a1 = f.registry->redeem(f.code("team-a").code, f.key(), "", t0);
  const auto a2 = f.registry->redeem(f.code("team-a").code, f.key(), "", t0);
  const auto b = f.registry->redeem(f.code("team-b").code, f.key(), "", t0);
  CHECK(a1.pseudonym_key == a2.pseudonym_key);
  CHECK(a1.pseudonym_key != b.pseudonym_key);
  CHECK(a1.device_id != a2.device_id);
}

TEST_CASE("registry: the file holds no code or token, only their digests", "[server][registry]") {
  registry_fixture f;
  const auto unused = f.code();
  const auto used = f.code("team-a", device_role::coordinator);
  const auto grant = f.registry->redeem(used.code, f.key(), "", t0);
  REQUIRE_FALSE(grant.token.empty());
  const std::string token = f.registry->issue_token("maja", t0);
  const auto secrets = {unused.code,
                        without_dashes(unused.code),
                        used.code,
                        without_dashes(used.code),
                        token,
                        grant.token,
                        from_hex(token).value(),
                        from_hex(grant.token).value()};
  const auto check = [&] {
    for (const auto& secret : secrets) {
      CAPTURE(to_hex(secret));
      CHECK_FALSE(store_files_contain(f.file(), secret));
    }
    // The digest is what is there (so the search above looked in the right place).
    CHECK(store_files_contain(f.file(), crypto::sha256(token)));
  };
  check();  // open: the tables are in the write-ahead log
  f.registry.reset();
  f.close();
  check();  // closed: checkpointed into the file
}

TEST_CASE("registry: a token resolves only to its holder, and a replaced one stops working",
          "[server][registry]") {
  registry_fixture f;
  const std::string maja = f.registry->issue_token("maja", t0);
  const std::string ana = f.registry->issue_token("ana", t0);
  CHECK(maja.size() == 64);
  CHECK(maja != ana);
  CHECK(f.registry->token_holder(maja) == "maja");
  CHECK(f.registry->token_holder(ana) == "ana");
  CHECK_FALSE(f.registry->token_holder(""));
  CHECK_FALSE(f.registry->token_holder(maja.substr(0, 63)));
  CHECK_FALSE(f.registry->token_holder(to_hex(crypto::sha256(maja))));

  const std::string maja2 = f.registry->issue_token("maja", t0 + 1);
  CHECK_FALSE(f.registry->token_holder(maja));
  CHECK(f.registry->token_holder(maja2) == "maja");
  CHECK(f.registry->token_holder(ana) == "ana");
  CHECK(error_of([&] { f.registry->issue_token("", t0); }).code == errc::invalid_input);
}

TEST_CASE("registry: a coordinator device's token lapses when it is revoked",
          "[server][registry]") {
  registry_fixture f;
  const auto grant =
      f.registry->redeem(f.code("team-a", device_role::coordinator).code, f.key(), "", t0);
  CHECK(grant.role == device_role::coordinator);
  CHECK(f.registry->token_holder(grant.token) == grant.device_id);
  f.registry->set_standing(grant.device_id, device_standing::revoked, t0 + 1);
  CHECK_FALSE(f.registry->token_holder(grant.token));
}

TEST_CASE(
    "registry: the standings version counts every change of standing, seen from another connection",
    "[server][registry]") {
  registry_fixture f;
  const auto a = f.registry->redeem(f.code().code, f.key(), "", t0).device_id;
  const auto b = f.registry->redeem(f.code().code, f.key(), "", t0).device_id;
  // What a long-running havend sees while `havend retire` and `revoke` run as other processes.
  const auto watcher = server::open_sqlite_registry(f.file());
  const std::int64_t start = watcher->standings_version();

  // Two changes in the same millisecond are two changes.
  f.registry->set_standing(a, device_standing::retired, t0 + 10);
  CHECK(watcher->standings_version() == start + 1);
  f.registry->set_standing(b, device_standing::retired, t0 + 10);
  CHECK(watcher->standings_version() == start + 2);

  // A standing set again, a refused change and a wipe change no standing.
  f.registry->set_standing(a, device_standing::retired, t0 + 20);
  f.registry->set_standing(b, device_standing::revoked, t0 + 30);
  CHECK(error_of([&] { f.registry->set_standing(b, device_standing::active, t0 + 40); }).code ==
        errc::invalid_input);
  f.registry->mark_wiped(a, t0 + 50);
  CHECK(watcher->standings_version() == start + 3);

  // It survives reopening the file.
  f.registry.reset();
  CHECK(server::open_sqlite_registry(f.file())->standings_version() == start + 3);
}

TEST_CASE("registry: enrollments, standings, wipes and tokens are audited without secrets",
          "[server][registry]") {
  registry_fixture f;
  const auto c = f.code();
  const auto id = f.registry->redeem(c.code, f.key(), "10.0.0.7", t0 + 1).device_id;
  // A refused code is the caller's to audit, within the rate limit (as
  // http_api does); here it is audited as the caller would.
  CHECK_THROWS(f.registry->redeem(c.code, f.key(), "10.0.0.9", t0 + 2));
  CHECK_FALSE(f.has_event("enrollment_refused"));
  f.registry->audit({t0 + 2, "enrollment_refused", server::code_prefix(c.code), "10.0.0.9",
                     "this enrollment code was already used; ask your coordinator for a new one"});
  f.registry->set_standing(id, device_standing::retired, t0 + 3);
  f.registry->mark_wiped(id, t0 + 4);
  const std::string token = f.registry->issue_token("maja", t0 + 5);
  f.registry->audit({t0 + 6, "token_refused", "abcd...", "10.0.0.9",
                     "a bearer token that matches no coordinator"});

  const auto log = f.registry->audit_log(100);
  REQUIRE(log.size() == 7);
  CHECK(log.front().event == "token_refused");  // newest first
  CHECK(log.back().event == "code_issued");
  CHECK(f.has_event("enrolled", id));
  CHECK(f.has_event("enrollment_refused"));
  CHECK(f.has_event("retired", id));
  CHECK(f.has_event("wiped", id));
  CHECK(f.has_event("token_issued", "maja"));
  for (const auto& e : log) {
    CAPTURE(e.event, e.subject, e.detail);
    CHECK(e.at_ms >= t0);
    for (const std::string& text : {e.subject, e.detail}) {
      CHECK(text.find(without_dashes(c.code).substr(0, 6)) == std::string::npos);
      CHECK(text.find(c.code.substr(0, 6)) == std::string::npos);
      CHECK(text.find(token.substr(0, 8)) == std::string::npos);
    }
  }
  const auto refused =
      std::find_if(log.begin(), log.end(), [](auto& e) { return e.event == "enrollment_refused"; });
  CHECK(refused->address == "10.0.0.9");
  CHECK_THAT(refused->detail, Contains("already used"));
  CHECK(f.registry->audit_log(2).size() == 2);
}

TEST_CASE(
    "login_guard: free failures, then doubling back-off up to the maximum, cleared by success",
    "[server][registry][guard]") {
  using ms = std::chrono::milliseconds;
  server::login_guard guard({3, ms(1000), ms(4000)});
  const std::string a = "10.0.0.1";
  CHECK(guard.wait(a, 0) == ms(0));
  guard.failed(a, 0);
  guard.failed(a, 0);
  CHECK(guard.wait(a, 0) == ms(0));
  guard.failed(a, 100);  // the third: one second from now
  CHECK(guard.wait(a, 100) == ms(1000));
  CHECK(guard.wait(a, 600) == ms(500));
  CHECK(guard.wait(a, 1100) == ms(0));
  CHECK(guard.wait("10.0.0.2", 600) == ms(0));  // per address
  guard.failed(a, 1100);
  CHECK(guard.wait(a, 1100) == ms(2000));
  guard.failed(a, 3100);
  CHECK(guard.wait(a, 3100) == ms(4000));
  guard.failed(a, 7100);
  CHECK(guard.wait(a, 7100) == ms(4000));  // capped
  guard.succeeded(a);
  CHECK(guard.wait(a, 7100) == ms(0));
  guard.failed(a, 7200);
  CHECK(guard.wait(a, 7200) == ms(0));  // counting starts afresh
}

TEST_CASE("login_guard: old failures are forgotten and memory stays bounded",
          "[server][registry][guard]") {
  using ms = std::chrono::milliseconds;
  server::login_guard guard({1, ms(1000), ms(4000)});
  guard.failed("10.0.0.1", 0);
  guard.failed("10.0.0.1", 1000);
  CHECK(guard.wait("10.0.0.1", 1000) == ms(2000));
  guard.failed("10.0.0.1", 100'000);  // long after: a first failure again
  CHECK(guard.wait("10.0.0.1", 100'000) == ms(1000));
  // Far more addresses than the table holds: the newest are still counted.
  for (int i = 0; i < 25'000; ++i) guard.failed("10.1." + std::to_string(i), 200'000 + i);
  CHECK(guard.wait("10.1.24999", 200'000 + 24'999) == ms(1000));
}

}  // namespace haven::test

// Authentication and team scopes in sync_service, over the real SQLite
// central store and access registry: every refusal (forged signature,
// replayed nonce, unknown, revoked or coordinator device, another team)
// comes before any data moves and leaves the store as it was.

#include <algorithm>
#include <catch2/catch.hpp>
#include <haven/crypto/crypto.hpp>
#include <haven/server/access_registry.hpp>
#include <haven/server/sync_service.hpp>
#include <string>
#include <vector>

#include "central_fixture.hpp"

namespace haven::test {
namespace {

using Catch::Matchers::Contains;

// A device enrolled through a real code, with its key.
struct enrolled {
  server::enrollment_grant grant;
  crypto::signing_key key;
  field_device device;

  // A hello signed over `nonce` and a TLS connection's `channel_binding`.
  sync::hello hello(std::string_view nonce, std::string_view channel_binding = {}) const {
    sync::hello h{
        sync::protocol_version, grant.device_id, grant.team, device.peer().node, 1, 0, 0, {}};
    h.proof = crypto::sign(key.private_key, sync::proof_message(h, nonce, channel_binding));
    return h;
  }
  sync::peer peer() const { return {grant.device_id, grant.team, device.peer().node, "127.0.0.1"}; }
};

struct auth_fixture : central_fixture {
  server::metrics counters;
  std::unique_ptr<server::access_registry> access = server::open_sqlite_registry(file());
  server::login_guard guard;
  server::sync_service service{store(), store(), shipped_schema(), counters, access.get(), guard};

  enrolled enroll_device(const std::string& name, const std::string& team,
                         server::device_role role = server::device_role::worker) {
    const auto code = access->issue_code(name, team, role, std::chrono::hours(1), now());
    auto key = crypto::generate_signing_key();
    auto grant = access->redeem(code.code, key.public_key, "127.0.0.1", now());
    field_device d(grant.device_id, team,
                   static_cast<sync::node_id>(std::hash<std::string>{}(name) >> 1));
    return {std::move(grant), std::move(key), std::move(d)};
  }
  static std::int64_t now() { return static_cast<std::int64_t>(sync::hlc_clock::system_millis()); }
  // A new connection's handshake; `channel_binding` empty: a plain one.
  sync::handshake handshake(std::string channel_binding = {}) {
    return {service.nonce(), "127.0.0.1", std::move(channel_binding)};
  }

  // The audit log's events, newest first.
  std::vector<std::string> events() {
    std::vector<std::string> out;
    for (const auto& e : access->audit_log(50)) out.push_back(e.event);
    return out;
  }
};

// The error code a call throws.
template <class F>
errc refusal_of(F&& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const failure& e) {
    if (message) *message = e.err().message;
    return e.err().code;
  }
  FAIL("expected a refusal");
  return errc::ok;
}

}  // namespace

TEST_CASE(
    "sync auth: a hello signed over this connection's nonce (and TLS channel binding) is admitted",
    "[server][auth]") {
  auth_fixture f;
  const auto a = f.enroll_device("tablet 1", "team-a");
  const auto hs = f.handshake();
  CHECK(hs.nonce.size() == 32);
  const auto admitted = f.service.admit(a.hello(hs.nonce), hs);
  CHECK(admitted.wipe == sync::standing::active);
  const auto tls = f.handshake(std::string(32, 'a'));
  CHECK(f.service.admit(a.hello(tls.nonce, tls.channel_binding), tls).wipe ==
        sync::standing::active);
  CHECK(f.store().devices().size() == 1);
  CHECK(f.handshake().nonce != hs.nonce);  // fresh every time
}

TEST_CASE("sync auth: forged, replayed and unknown hellos are refused before any data moves",
          "[server][auth]") {
  auth_fixture f;
  const auto a = f.enroll_device("tablet 1", "team-a");
  const auto hs = f.handshake();
  std::string message;
  SECTION("a signature by another key") {
    auto forged = a.hello(hs.nonce);
    forged.proof = crypto::sign(crypto::generate_signing_key().private_key,
                                sync::proof_message(forged, hs.nonce));
    CHECK(refusal_of([&] { f.service.admit(forged, hs); }, &message) == errc::unauthorized);
    CHECK_THAT(message, Contains("signature"));
  }
  SECTION("a hello replayed on another connection") {
    const auto captured = a.hello(hs.nonce);
    CHECK(refusal_of([&] { f.service.admit(captured, f.handshake()); }) == errc::unauthorized);
  }
  SECTION("a signed hello whose cursor was changed on the way") {
    auto tampered = a.hello(hs.nonce);
    tampered.acked_seq = 99;
    CHECK(refusal_of([&] { f.service.admit(tampered, hs); }) == errc::unauthorized);
  }
  SECTION("a hello relayed from another TLS connection (its channel binding differs)") {
    const auto tls = f.handshake(std::string(32, 'a'));
    const auto relayed =
        a.hello(tls.nonce, std::string(32, 'b'));  // signed on the relay's connection
    CHECK(refusal_of([&] { f.service.admit(relayed, tls); }, &message) == errc::unauthorized);
    CHECK_THAT(message, Contains("relayed"));
  }
  SECTION("a hello that leaves out the binding of its TLS connection") {
    const auto tls = f.handshake(std::string(32, 'a'));
    CHECK(refusal_of([&] { f.service.admit(a.hello(tls.nonce), tls); }) == errc::unauthorized);
  }
  SECTION("an unsigned hello") {
    auto unsigned_hello = a.hello(hs.nonce);
    unsigned_hello.proof.clear();
    CHECK(refusal_of([&] { f.service.admit(unsigned_hello, hs); }) == errc::unauthorized);
  }
  SECTION("a device id nobody enrolled") {
    auto stranger = a.hello(hs.nonce);
    stranger.device_id = "d0000000000000000";
    CHECK(refusal_of([&] { f.service.admit(stranger, hs); }, &message) == errc::unauthorized);
    CHECK_THAT(message, Contains("not enrolled"));
  }
  CHECK(f.store().devices().empty());
  CHECK(f.store().counts().head == 0);
  CHECK(f.events().front() == "login_failed");
}

TEST_CASE("sync auth: failed sign-ins from one address are backed off", "[server][auth]") {
  auth_fixture f;
  const auto a = f.enroll_device("tablet 1", "team-a");
  auto bad = [&] {
    auto hs = f.handshake();
    auto h = a.hello(hs.nonce);
    h.proof[0] ^= 1;
    return refusal_of([&] { f.service.admit(h, hs); });
  };
  for (unsigned i = 0; i < server::login_guard::settings{}.free_failures; ++i)
    CHECK(bad() == errc::unauthorized);
  // Now a failing hello from that address is told to wait ...
  auto hs = f.handshake();
  auto h = a.hello(hs.nonce);
  h.proof[0] ^= 1;
  std::string message;
  CHECK(refusal_of([&] { f.service.admit(h, hs); }, &message) == errc::unauthorized);
  CHECK_THAT(message, Contains("try again in"));
  // ... but a genuine signature is let in (a neighbour behind the same NAT).
  hs = f.handshake();
  CHECK(f.service.admit(a.hello(hs.nonce), hs).wipe == sync::standing::active);
}

TEST_CASE(
    "sync auth: a revoked device is told to wipe before any data moves, and a retired one after "
    "its "
    "pushes",
    "[server][auth]") {
  auth_fixture f;
  auto a = f.enroll_device("tablet 1", "team-a");
  SECTION("revoked") {
    f.access->set_standing(a.grant.device_id, server::device_standing::revoked, f.now());
    const auto hs = f.handshake();
    CHECK(f.service.admit(a.hello(hs.nonce), hs).wipe == sync::standing::revoked);
    CHECK(f.store().devices().empty());  // not even its cursor was read
    f.service.wiped(a.peer());
    CHECK(f.access->device(a.grant.device_id)->wiped_ms.has_value());
  }
  SECTION("retired") {
    f.access->set_standing(a.grant.device_id, server::device_standing::retired, f.now());
    const auto hs = f.handshake();
    const auto admitted = f.service.admit(a.hello(hs.nonce), hs);
    CHECK(admitted.wipe == sync::standing::retired);
    f.service.push(a.peer(),
                   a.device.batch({a.device.record(test_id(1), "pats_session",
                                                   group_session("2026-03-01", "vic", "12"))}));
    CHECK(f.store().counts().records == 1);  // its pending work is kept
  }
}

TEST_CASE(
    "sync auth: a revoked device that connects again and again has a few wipe_ordered rows, then a "
    "count",
    "[server][auth][audit]") {
  auth_fixture f;
  auto a = f.enroll_device("tablet 1", "team-a");
  f.access->set_standing(a.grant.device_id, server::device_standing::revoked, f.now());
  for (int i = 0; i < 20; ++i) {
    const auto hs = f.handshake();
    CHECK(f.service.admit(a.hello(hs.nonce), hs).wipe ==
          sync::standing::revoked);  // told every time
  }
  const auto events = f.events();
  CHECK(std::count(events.begin(), events.end(), "wipe_ordered") == 5);  // the guard's default
  const auto summary = f.guard.suppressed_audits(f.now(), true);
  REQUIRE(summary.size() == 1);
  CHECK(summary.front().event == "wipe_ordered");
  CHECK_THAT(summary.front().detail, Contains("15 more wipe_ordered"));
}

TEST_CASE("sync auth: a coordinator, or a device naming another team, cannot sync",
          "[server][auth]") {
  auth_fixture f;
  const auto coordinator =
      f.enroll_device("coordinator", "team-a", server::device_role::coordinator);
  auto hs = f.handshake();
  CHECK(refusal_of([&] { f.service.admit(coordinator.hello(hs.nonce), hs); }) == errc::forbidden);

  const auto a = f.enroll_device("tablet 1", "team-a");
  hs = f.handshake();
  sync::hello other_team{sync::protocol_version, a.grant.device_id, "team-b", 7, 1, 0, 0, {}};
  other_team.proof = crypto::sign(a.key.private_key, sync::proof_message(other_team, hs.nonce));
  std::string message;
  CHECK(refusal_of([&] { f.service.admit(other_team, hs); }, &message) == errc::forbidden);
  CHECK_THAT(message, Contains("team-a"));
  CHECK(f.store().devices().empty());
}

TEST_CASE(
    "sync auth: a push touching another team's record is refused whole, audited, and changes "
    "nothing",
    "[server][auth][scope]") {
  auth_fixture f;
  auto a = f.enroll_device("tablet a", "team-a");
  auto b = f.enroll_device("tablet b", "team-b");
  for (auto* d : {&a, &b}) {
    const auto hs = f.handshake();
    f.service.admit(d->hello(hs.nonce), hs);
  }
  f.service.push(b.peer(),
                 b.device.batch({b.device.record(test_id(7), "pats_session",
                                                 group_session("2026-03-01", "vic", "12"))}));
  const auto before = f.store().counts();
  const auto b_view = f.service.pull(b.peer(), 0, 100);

  std::string message;
  SECTION("a change that says it is of team-b") {
    auto batch = a.device.batch(
        {a.device.record(test_id(1), "pats_session", group_session("2026-03-02", "vic", "3")),
         a.device.record(test_id(7), "pats_session", group_session("2026-03-02", "vic", "99"))});
    batch.changes[1].team = "team-b";
    CHECK(refusal_of([&] { f.service.push(a.peer(), batch); }, &message) == errc::forbidden);
    CHECK_THAT(message, Contains("team-b"));
  }
  SECTION("a change that claims team-a for team-b's record") {
    auto batch = a.device.batch(
        {a.device.record(test_id(7), "pats_session", group_session("2026-03-02", "vic", "99"))});
    CHECK(refusal_of([&] { f.service.push(a.peer(), batch); }, &message) == errc::forbidden);
    CHECK_THAT(message, Contains("another type or team"));
    CHECK_FALSE(Contains("team-b").match(message));  // nothing about another team's record leaks
  }
  const auto after = f.store().counts();
  CHECK(after.head == before.head);
  CHECK(after.records == before.records);
  CHECK(f.service.pull(b.peer(), 0, 100) == b_view);
  CHECK(f.events().front() == "push_refused");
  // And pulls never carry another team's cells.
  CHECK(f.service.pull(a.peer(), 0, 100).changes.empty());
}

}  // namespace haven::test

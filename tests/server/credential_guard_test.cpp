// The login guard per credential and per address: a success clears its own
// credential's count only, never the address's; credentials are keyed by a
// digest, never by the secret.
#include <catch2/catch.hpp>
#include <haven/server/access_registry.hpp>
#include <haven/server/login_guard.hpp>

namespace haven {
namespace {

using ms = std::chrono::milliseconds;

TEST_CASE(
    "login_guard: failures count per address and per credential, and a success clears only its "
    "credential",
    "[server][guard]") {
  server::login_guard guard({2, ms(1000), ms(8000)});
  const std::string nat = "203.0.113.7";
  const std::string bad = server::login_guard::credential_key("token", "bad token");
  const std::string good = server::login_guard::credential_key("token", "good token");
  guard.failed(nat, bad, 0);
  guard.failed(nat, bad, 0);
  CHECK(guard.wait(nat, 0) == ms(1000));
  CHECK(guard.wait(bad, 0) == ms(1000));
  CHECK(guard.wait(good, 0) == ms(0));  // another credential from the same address
  guard.succeeded(good);
  CHECK(guard.wait(nat, 0) == ms(1000));  // the neighbour's success left the address backed off
  CHECK(guard.wait(bad, 0) == ms(1000));
  guard.failed("198.51.100.1", bad, 10);  // the same bad token from elsewhere
  CHECK(guard.wait(bad, 10) == ms(2000));
  CHECK(guard.wait("198.51.100.1", 10) == ms(0));
}

TEST_CASE("login_guard: a credential key is a digest prefix, never the secret", "[server][guard]") {
  const std::string secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  const std::string key = server::login_guard::credential_key("token", secret);
  CHECK(key.size() == 6 + 16);
  CHECK(key.rfind("token:", 0) == 0);
  CHECK(key.find(secret.substr(0, 8)) == std::string::npos);
  CHECK(key == server::login_guard::credential_key("token", secret));
  CHECK(key != server::login_guard::credential_key("code", secret));
}

TEST_CASE("login_guard: many bad credentials do not push addresses out of the table",
          "[server][guard]") {
  server::login_guard guard({1, ms(100'000), ms(100'000)});
  guard.failed("10.0.0.1", 0);
  for (int i = 0; i < 20'000; ++i)
    guard.failed("10.0.0.2", server::login_guard::credential_key("token", std::to_string(i)),
                 1 + i);
  CHECK(guard.wait("10.0.0.1", 20'000) > ms(0));  // still counted
}

TEST_CASE(
    "login_guard: audit rows of failures are rate-limited per event and address, then summed up",
    "[server][guard][audit]") {
  server::login_guard::settings s;
  s.audits_per_interval = 2;
  s.audit_interval = ms(60'000);
  server::login_guard guard(s);
  int audited = 0;
  for (int i = 0; i < 50; ++i) audited += guard.audit_now("login_failed", "10.0.0.1", i).pass;
  CHECK(audited == 2);
  CHECK(guard.audit_now("token_refused", "10.0.0.1", 50).pass);  // another event
  CHECK(guard.suppressed_audits(59'999).empty());
  const auto rows = guard.suppressed_audits(60'000);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].event == "login_failed");
  CHECK(rows[0].address == "10.0.0.1");
  CHECK(rows[0].subject == "(suppressed)");
  CHECK(rows[0].detail.find("48 more") == 0);
  CHECK(rows[0].at_ms == 60'000);
  const auto next = guard.audit_now("login_failed", "10.0.0.1", 60'001);  // a new interval
  CHECK(next.pass);
  CHECK(next.suppressed == 0);  // summed up by the row above
}

TEST_CASE(
    "login_guard: a count held back in an interval that ended before the flush comes with the "
    "next row",
    "[server][guard][audit]") {
  server::login_guard::settings s;
  s.audits_per_interval = 1;
  s.audit_interval = ms(60'000);
  server::login_guard guard(s);
  CHECK(guard.audit_now("push_refused", "10.0.0.1", 0).pass);
  for (int i = 1; i <= 7; ++i) CHECK_FALSE(guard.audit_now("push_refused", "10.0.0.1", i).pass);
  // The next failure comes after the interval ended, before any flush.
  const auto next = guard.audit_now("push_refused", "10.0.0.1", 60'500);
  CHECK(next.pass);
  CHECK(next.suppressed == 7);
  CHECK(guard.suppressed_audits(200'000).empty());  // counted once, not twice
}

}  // namespace
}  // namespace haven

// The HTTP API with an access registry: POST /api/enroll (grants, refusals,
// malformed requests, back-off) and the tallies behind a coordinator's
// bearer token; without a registry (--dev-no-auth) the tallies are open.

#include <catch2/catch.hpp>
#include <haven/crypto/crypto.hpp>
#include <haven/server/access_registry.hpp>
#include <haven/server/http_api.hpp>
#include <haven/server/metrics.hpp>
#include <string>

#include "central_fixture.hpp"

namespace haven::test {
namespace {

using Catch::Matchers::Contains;

struct auth_fixture : central_fixture {
  server::metrics counters;
  std::unique_ptr<server::access_registry> registry = server::open_sqlite_registry(file());
  server::login_guard guard{
      {3, std::chrono::milliseconds(60'000), std::chrono::milliseconds(600'000)}};
  server::http_api api{store(), store(), tallies(), counters, registry.get(), &guard};

  std::int64_t now() const {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
  std::string new_code(server::device_role role = server::device_role::worker) {
    return registry->issue_code("tablet 3", "team-a", role, std::chrono::hours(1), now()).code;
  }
  server::http_reply enroll(const std::string& body, const std::string& address = "10.0.0.5") {
    return api.handle({"POST", "/api/enroll", "", body, address});
  }
  static std::string enroll_body(const std::string& code,
                                 const std::string& key = std::string(64, 'a')) {
    return boost::json::serialize(boost::json::object{{"code", code}, {"public_key", key}});
  }
  server::http_reply get(const std::string& target, const std::string& authorization,
                         const std::string& address = "10.0.0.6") {
    return api.handle({"GET", target, authorization, "", address});
  }
  static std::string header(const server::http_reply& r, const std::string& name) {
    for (const auto& [n, v] : r.headers)
      if (n == name) return v;
    return "";
  }
  static std::string error(const server::http_reply& r) {
    return std::string(boost::json::parse(r.body).as_object().at("error").as_string());
  }
};

}  // namespace

TEST_CASE("http auth: a code enrolls a device once", "[server][http][registry]") {
  auth_fixture f;
  const std::string code = f.new_code();
  const auto ok = f.enroll(auth_fixture::enroll_body(code));
  INFO(ok.body);
  REQUIRE(ok.status == 200);
  const auto grant = boost::json::parse(ok.body).as_object();
  CHECK(grant.at("team").as_string() == "team-a");
  CHECK(grant.at("role").as_string() == "worker");
  CHECK(grant.at("pseudonym_key").as_string().size() == 64);
  CHECK_FALSE(grant.contains("token"));
  const std::string id(grant.at("device_id").as_string());
  REQUIRE(f.registry->device(id));
  CHECK(f.registry->device(id)->public_key == std::string(32, '\xaa'));

  const auto again = f.enroll(auth_fixture::enroll_body(code));
  CHECK(again.status == 401);
  CHECK_THAT(auth_fixture::error(again), Contains("already used"));
}

TEST_CASE("http auth: a coordinator's grant carries a token for the tallies",
          "[server][http][registry]") {
  auth_fixture f;
  const auto ok = f.enroll(auth_fixture::enroll_body(f.new_code(server::device_role::coordinator)));
  REQUIRE(ok.status == 200);
  const std::string token(boost::json::parse(ok.body).as_object().at("token").as_string());
  CHECK(f.get("/api/tallies", "Bearer " + token).status == 200);
}

TEST_CASE("http auth: malformed enrollments are 400, wrong methods 405",
          "[server][http][registry]") {
  auth_fixture f;
  const std::string code = f.new_code();
  for (const std::string& body : std::vector<std::string>{
           "", "not json", "[]", R"({"code": "X"})", R"({"code": 1, "public_key": "aa"})",
           auth_fixture::enroll_body(code, "abcd"),
           auth_fixture::enroll_body(code, std::string(64, 'z'))}) {
    CAPTURE(body);
    const auto r = f.enroll(body);
    CHECK(r.status == 400);
    CHECK_FALSE(auth_fixture::error(r).empty());
  }
  CHECK(f.api.handle({"GET", "/api/enroll", "", "", "10.0.0.5"}).status == 405);
  CHECK(f.enroll(auth_fixture::enroll_body(code)).status ==
        200);  // not used up by the bad requests
}

TEST_CASE("http auth: repeated bad codes put the address in back-off", "[server][http][registry]") {
  auth_fixture f;
  const std::string code = f.new_code();
  for (int i = 0; i < 3; ++i)
    CHECK(f.enroll(auth_fixture::enroll_body("0000-0000-0000")).status == 401);
  const auto r = f.enroll(auth_fixture::enroll_body(code));  // even a good code waits
  CHECK(r.status == 429);
  CHECK(f.header(r, "Retry-After") == "60");
  CHECK_THAT(auth_fixture::error(r), Contains("try again in"));
  CHECK(f.enroll(auth_fixture::enroll_body(code), "10.0.0.99").status == 200);  // another address
}

TEST_CASE("http auth: refused codes are audited a few at a time per address, then counted",
          "[server][http][registry][audit]") {
  auth_fixture f;
  // Many failures are free here (a shared NAT), so every code is checked.
  server::login_guard guard({100, std::chrono::milliseconds(1000),
                             std::chrono::milliseconds(60'000), 2,
                             std::chrono::milliseconds(60'000)});
  server::http_api api{f.store(), f.store(), f.tallies(), f.counters, f.registry.get(), &guard};
  auto refused_rows = [&] {
    int n = 0;
    for (const auto& e : f.registry->audit_log(100)) n += e.event == "enrollment_refused";
    return n;
  };
  for (int i = 0; i < 10; ++i) {
    const auto body = auth_fixture::enroll_body("0000-0000-000" + std::to_string(i));
    CHECK(api.handle({"POST", "/api/enroll", "", body, "10.0.0.5"}).status == 401);
  }
  CHECK(refused_rows() == 2);
  const auto first = f.registry->audit_log(1).front();
  CHECK(first.subject == "0000...");  // never the whole code
  CHECK(first.address == "10.0.0.5");
  CHECK_THAT(first.detail, Contains("no such code"));
  // Another address has rows of its own.
  CHECK(api.handle(
               {"POST", "/api/enroll", "", auth_fixture::enroll_body("0000-0000-0000"), "10.0.0.6"})
            .status == 401);
  CHECK(refused_rows() == 3);
  // The rest are summed up in one row for the address.
  const auto summary = guard.suppressed_audits(f.now(), true);
  REQUIRE(summary.size() == 1);
  CHECK(summary.front().event == "enrollment_refused");
  CHECK(summary.front().subject == server::suppressed_subject);
  CHECK(summary.front().address == "10.0.0.5");
  CHECK_THAT(summary.front().detail, Contains("8 more enrollment_refused"));
}

TEST_CASE("http auth: a valid token signs the request's connection in as its coordinator",
          "[server][http][registry]") {
  auth_fixture f;
  const std::string token = f.registry->issue_token("maja", f.now());
  CHECK(f.get("/api/tallies", "Bearer " + token).coordinator == "maja");
  CHECK(f.get("/api/tallies/pats-group-by-site?year=2026", "Bearer " + token).coordinator ==
        "maja");
  CHECK(f.get("/api/tallies", "Bearer " + std::string(64, '0')).coordinator.empty());
  CHECK(f.get("/healthz", "Bearer " + token).coordinator.empty());  // only the tallies check it
}

TEST_CASE("http auth: the tallies need a coordinator token", "[server][http][registry]") {
  auth_fixture f;
  const std::string token = f.registry->issue_token("maja", f.now());
  for (const std::string target :
       {"/api/tallies", "/api/tallies/", "/api/tallies/pats-group-by-site?year=2026",
        "/api/tallies/pats-group-by-site.csv?year=2026"}) {
    CAPTURE(target);
    const auto none = f.get(target, "");
    CHECK(none.status == 401);
    CHECK(f.header(none, "WWW-Authenticate").rfind("Bearer", 0) == 0);
    CHECK_THAT(auth_fixture::error(none), Contains("Authorization: Bearer"));
    CHECK(f.get(target, "Bearer " + token).status == 200);
    CHECK(f.get(target, "bearer  " + token).status == 200);
    CHECK(f.get(target, "Basic " + token).status == 401);
  }
  const auto wrong = f.get("/api/tallies", "Bearer " + std::string(64, '0'));
  CHECK(wrong.status == 401);
  CHECK_THAT(auth_fixture::error(wrong), Contains("not valid"));
  CHECK(f.registry->audit_log(1).front().event == "token_refused");
  // Open pages stay open.
  for (const std::string target : {"/healthz", "/metrics", "/"})
    CHECK(f.get(target, "").status == 200);
}

TEST_CASE("http auth: wrong tokens count towards back-off, and a valid one is let in during it",
          "[server][http][registry]") {
  auth_fixture f;
  const std::string token = f.registry->issue_token("maja", f.now());
  for (int i = 0; i < 3; ++i)
    CHECK(f.get("/api/tallies", "Bearer nope" + std::to_string(i), "10.0.0.7").status == 401);
  const auto r = f.get("/api/tallies", "Bearer another", "10.0.0.7");
  CHECK(r.status == 429);
  CHECK_FALSE(f.header(r, "Retry-After").empty());
  // A neighbour behind the same address with the right token is let in, and
  // its success leaves the address backed off for the wrong ones.
  CHECK(f.get("/api/tallies", "Bearer " + token, "10.0.0.7").status == 200);
  CHECK(f.get("/api/tallies", "Bearer yet-another", "10.0.0.7").status == 429);
  CHECK(f.get("/api/tallies", "Bearer " + token, "10.0.0.8").status == 200);
}

TEST_CASE("http auth: without a registry the tallies are open and enrollment is off",
          "[server][http][registry]") {
  auth_fixture f;
  server::http_api open{f.store(), f.store(), f.tallies(), f.counters};
  CHECK(open.handle({"GET", "/api/tallies", "", "", "10.0.0.5"}).status == 200);
  const auto r =
      open.handle({"POST", "/api/enroll", "", auth_fixture::enroll_body(f.new_code()), "10.0.0.5"});
  CHECK(r.status == 404);
  CHECK_THAT(auth_fixture::error(r), Contains("--dev-no-auth"));
}

}  // namespace haven::test

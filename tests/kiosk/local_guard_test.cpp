// Only the page haven-kiosk served may use its local API: a request without
// the per-start secret, from a foreign Origin or to another Host is refused
// with a message saying so, and changes nothing.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "kiosk_process.hpp"

namespace haven::test {
namespace {

using Catch::Matchers::Contains;
using header_list = kiosk_process::header_list;

// A haven-kiosk on a new store in a temporary folder.
struct kiosk {
  temp_dir dir;
  kiosk_process process{dir.file("device.db")};
  const std::string& address = process.address();
  const std::string& secret = process.secret();

  http_response call(const std::string& method, const std::string& path, const std::string& body,
                     header_list headers) {
    return process.call(method, path, body, std::move(headers));
  }
  header_list own() const { return {{"X-Haven-Kiosk", secret}, {"Origin", "http://" + address}}; }
  std::int64_t total() {
    const auto r = process.own("GET", "/api/records");
    REQUIRE(r.status == 200);
    return boost::json::parse(r.body).at("total").as_int64();
  }
};

const std::string workshop =
    R"({"type":"prevention_workshop","fields":{"date":"2026-12-01","audience":"professionals","region":"goriska","participants":12}})";

std::string error_of(const http_response& r) {
  return std::string(boost::json::parse(r.body).at("error").as_string());
}

TEST_CASE("kiosk: the API refuses a request without the secret, and nothing is saved",
          "[kiosk][guard]") {
  kiosk k;
  const auto none = k.call("POST", "/api/records", workshop, {{"Origin", "http://" + k.address}});
  CHECK(none.status == 403);
  CHECK_THAT(error_of(none), Contains("X-Haven-Kiosk secret"));
  const auto wrong =
      k.call("POST", "/api/records", workshop,
             {{"X-Haven-Kiosk", std::string(64, '0')}, {"Origin", "http://" + k.address}});
  CHECK(wrong.status == 403);
  CHECK(k.call("GET", "/api/status", "", {}).status == 403);
  CHECK(k.total() == 0);
  // The same request with the secret is saved: the refusals were the guard's.
  const auto saved = k.call("POST", "/api/records", workshop, k.own());
  CHECK(saved.status == 201);
  CHECK(k.total() == 1);
}

TEST_CASE("kiosk: a foreign Origin is refused even with the secret", "[kiosk][guard]") {
  kiosk k;
  const auto r = k.call("POST", "/api/records", workshop,
                        {{"X-Haven-Kiosk", k.secret}, {"Origin", "http://evil.example"}});
  CHECK(r.status == 403);
  CHECK_THAT(error_of(r), Contains("another web site"));
  const auto read = k.call("GET", "/api/records", "",
                           {{"X-Haven-Kiosk", k.secret}, {"Origin", "http://127.0.0.1:1"}});
  CHECK(read.status == 403);
  CHECK(k.total() == 0);
}

TEST_CASE("kiosk: another Host (DNS rebinding) is refused, the page and its secret included",
          "[kiosk][guard]") {
  kiosk k;
  const auto port = k.address.substr(k.address.rfind(':'));
  const auto r = k.call("POST", "/api/records", workshop,
                        {{"X-Haven-Kiosk", k.secret}, {"Host", "rebound.example" + port}});
  CHECK(r.status == 403);
  CHECK_THAT(error_of(r), Contains("answers only at " + k.address));
  const auto page = http_send(k.address, "GET", "/", "", {{"Host", "rebound.example" + port}});
  CHECK(page.status == 403);
  CHECK(page.body.find(k.secret) == std::string::npos);
  CHECK(k.total() == 0);
}

TEST_CASE("kiosk: nothing is cached, and no page may frame the app", "[kiosk][guard]") {
  kiosk k;
  for (const auto& r : {http_get(k.address, "/"), k.call("GET", "/api/records", "", k.own())}) {
    CHECK_THAT(r.headers, Contains("Cache-Control: no-store"));
    CHECK_THAT(r.headers, Contains("frame-ancestors 'none'"));
    CHECK_THAT(r.headers, !Contains("Access-Control-Allow-Origin"));
  }
}

TEST_CASE("kiosk: a new secret every start", "[kiosk][guard]") {
  kiosk a, b;
  CHECK(a.secret != b.secret);
  CHECK(a.call("GET", "/api/status", "", {{"X-Haven-Kiosk", b.secret}}).status == 403);
}

TEST_CASE("kiosk: --listen refuses an address beyond loopback", "[kiosk][guard]") {
  temp_dir dir;
  const auto r = run({HAVEN_KIOSK_PATH, "--db", dir.file("device.db"), "--listen", "0.0.0.0:0"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("--listen must be a loopback address"));
}

}  // namespace
}  // namespace haven::test

// The staff PIN over the kiosk's local API, against a real havend: chosen at
// enrollment, kept only as a salted scrypt hash, required after a lock, and
// wrong PINs slowed down.
#include <sys/stat.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "kiosk_process.hpp"

namespace haven::test {
namespace {

using Catch::Matchers::Contains;

// A havend with authentication, and a haven-kiosk enrolled with it using PIN 4711.
struct enrolled_kiosk {
  temp_dir dir;
  havend_process server{dir.file("central.db"), {}, havend_process::authentication::on};
  std::string db = dir.file("device.db");
  kiosk_process kiosk{db, {"--server", "http://" + server.address()}};

  enrolled_kiosk() {
    const auto issued = run({HAVEND_PATH, "--db", dir.file("central.db"), "enroll", "--name",
                             "tablet", "--team", "outreach", "--json"});
    REQUIRE(issued.exit_code == 0);
    const std::string code(boost::json::parse(issued.out).at("code").as_string());
    const auto enrolled = call("POST", "/api/enroll", R"({"code":")" + code + R"(","pin":"4711"})");
    INFO(enrolled.body);
    REQUIRE(enrolled.status == 200);
  }
  http_response call(const std::string& method, const std::string& path,
                     const std::string& body = "") {
    return kiosk.own(method, path, body);
  }
  http_response unlock(const std::string& pin) {
    return call("POST", "/api/unlock", R"({"pin":")" + pin + R"("})");
  }
};

TEST_CASE("kiosk: the staff PIN is kept only as a salted scrypt hash, readable by its owner only",
          "[kiosk][pin]") {
  enrolled_kiosk k;
  const std::string file = k.db + ".kiosk-pin";
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  CHECK_THAT(text.str(), Contains(R"("kdf":"scrypt")") && Contains(R"("salt":")"));
  CHECK(text.str().find("4711") == std::string::npos);
}

TEST_CASE("kiosk: a locked app serves no record until the PIN is given", "[kiosk][pin]") {
  enrolled_kiosk k;
  CHECK(k.call("GET", "/api/records").status == 200);
  CHECK(k.call("POST", "/api/lock").status == 200);
  const auto locked = k.call("GET", "/api/records");
  CHECK(locked.status == 423);
  CHECK_THAT(locked.body, Contains("type the staff PIN"));
  CHECK(k.unlock("4711").status == 200);
  CHECK(k.call("GET", "/api/records").status == 200);
}

TEST_CASE("kiosk: after three wrong PINs the next attempt must wait, the right PIN included",
          "[kiosk][pin]") {
  enrolled_kiosk k;
  CHECK(k.call("POST", "/api/lock").status == 200);
  for (int i = 0; i < 3; ++i) {
    const auto wrong = k.unlock("0000");
    CHECK(wrong.status == 401);
    CHECK_THAT(wrong.body, Contains("wrong PIN"));
  }
  const auto held = k.unlock("4711");
  CHECK(held.status == 429);
  CHECK_THAT(held.body, Contains("too many wrong PINs: wait"));
  CHECK(k.call("GET", "/api/records").status == 423);
}

TEST_CASE("kiosk: a PIN must be 4 to 12 digits, and enrollment without one asks nothing of havend",
          "[kiosk][pin]") {
  temp_dir dir;
  const kiosk_process kiosk(dir.file("device.db"), {"--server", "http://127.0.0.1:1"});
  const auto r = kiosk.own("POST", "/api/enroll", R"({"code":"AAAA-BBBB-CCCC","pin":"12"})");
  CHECK(r.status == 422);
  CHECK_THAT(r.body, Contains("choose a staff PIN of 4 to 12 digits"));
}

}  // namespace
}  // namespace haven::test

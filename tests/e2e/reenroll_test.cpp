// A device that was retired or revoked, erased its store and is enrolled
// again, as `haven status` tells it to, starts as a new device: with the
// real havend and `haven`, it receives every record of its team, those it
// had recorded itself included, with the fields it had last edited.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "../support/havend_process.hpp"
#include "shell_fixture.hpp"

namespace haven::test {
namespace {

using Catch::Matchers::Contains;

// havend with authentication on, and devices enrolled with its codes.
struct team_server {
  temp_dir dir;
  std::string db = dir.file("central.db");
  havend_process server{db, {}, havend_process::authentication::on};

  run_result havend(std::vector<std::string> args) const {
    args.insert(args.begin(), {HAVEND_PATH, "--db", db});
    return run(args);
  }
  // Enrolls `device` in team-a with a fresh code; returns its device id.
  std::string enroll(const shell& device) const {
    const run_result issued = havend({"enroll", "--name", "tablet", "--team", "team-a", "--json"});
    REQUIRE(issued.exit_code == 0);
    const std::string code(boost::json::parse(issued.out).as_object().at("code").as_string());
    device.ok({"enroll", "--server", "ws://" + server.address(), "--code", code});
    return status(device).at("device_id").as_string().c_str();
  }
  static boost::json::object status(const shell& device) {
    return boost::json::parse(device.ok({"status", "--json"})).as_object();
  }
};

// The device's records as {id: {field: value}}.
boost::json::object records_of(const shell& device) {
  boost::json::object out;
  const boost::json::value listed = boost::json::parse(device.ok({"list", "--json"}));
  for (const auto& r : listed.as_array()) out[r.at("id").as_string()] = r.at("fields");
  return out;
}

}  // namespace

TEST_CASE(
    "re-enrollment: an erased device enrolled again receives all of its team's records, its own "
    "included",
    "[e2e][wipe][enroll]") {
  team_server s;
  shell tablet, office;
  const std::string first_id = s.enroll(tablet);
  s.enroll(office);

  const std::string own =
      tablet.ok({"add", "--quiet", "pats_session", "date=2026-03-02", "site=vic",
                 "format=individual", "person=PK-7Q2M-19F", "nationality=UA", "topics=thb"});
  REQUIRE(tablet({"sync"}).exit_code == 0);
  tablet.ok({"edit", own, "site=logatec", "nationality=SY"});  // the last edit is this device's
  REQUIRE(tablet({"sync"}).exit_code == 0);
  office.ok({"add", "--quiet", "pats_session", "date=2026-03-03", "site=postojna",
             "format=individual", "person=PK-8R3N-20T", "nationality=AF", "topics=thb"});
  REQUIRE(office({"sync"}).exit_code == 0);
  REQUIRE(tablet({"sync"}).exit_code == 0);
  const boost::json::object before = records_of(tablet);
  REQUIRE(before.size() == 2);
  const std::string old_node(team_server::status(tablet).at("node").as_string());

  SECTION("retired") {
    REQUIRE(s.havend({"retire", first_id}).exit_code == 0);
    const run_result wiped = tablet({"sync"});
    INFO(wiped.out << wiped.err);
    REQUIRE(wiped.exit_code == 0);
    CHECK_THAT(wiped.out, Contains("retired"));
  }
  SECTION("revoked") {
    REQUIRE(s.havend({"revoke", first_id}).exit_code == 0);
    const run_result wiped = tablet({"sync"});
    INFO(wiped.out << wiped.err);
    CHECK(wiped.exit_code == 1);
    CHECK_THAT(wiped.out, Contains("revoked"));
  }
  REQUIRE(records_of(tablet).empty());
  CHECK(team_server::status(tablet).at("node").as_string() !=
        old_node);  // a wipe leaves no node behind

  const std::string second_id = s.enroll(tablet);
  CHECK(second_id != first_id);
  const run_result synced = tablet({"sync"});
  INFO(synced.out << synced.err);
  REQUIRE(synced.exit_code == 0);
  const boost::json::object after = records_of(tablet);
  CHECK(after.size() == 2);
  CHECK(after == before);
  REQUIRE(after.contains(own));
  CHECK(after.at(own).at("site").as_string() == "logatec");
  CHECK(after.at(own).at("nationality").as_string() == "SY");
}

}  // namespace haven::test

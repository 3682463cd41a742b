// A schema published by havend reaches the devices: they adopt a newer one in
// the handshake, keep it across restarts, and validate new records with it.
#include <catch2/catch.hpp>
#include <fstream>
#include <haven/schema/schema.hpp>

#include "../support/havend_process.hpp"
#include "shell_fixture.hpp"

namespace haven::test {
namespace {

// The shipped schema as version 2, with a new site code and a new field.
std::string schema_v2() {
  std::string json(schema::builtin_source());
  auto replace = [&](const std::string& from, const std::string& to) {
    const auto at = json.find(from);
    REQUIRE(at != std::string::npos);
    json.replace(at, from.size(), to);
  };
  replace(R"("version": 1)", R"("version": 2)");
  replace(R"("codes": ["vic", "logatec", "postojna", "other"])",
          R"("codes": ["vic", "logatec", "postojna", "kotnikova", "other"])");
  replace(R"("person": {"type": "pseudonym"},)",
          R"("person": {"type": "pseudonym"}, "interpreter": {"type": "boolean"},)");
  REQUIRE(schema::parse(json).ok());
  return json;
}

TEST_CASE("devices adopt the newer schema havend sends and keep it", "[e2e][sync][schema]") {
  shell haven;
  const std::string file = haven.dir().file("schema-v2.json");
  std::ofstream(file) << schema_v2();
  havend_process server(haven.dir().file("central.db"), {"--schema", file});

  haven.ok({"init", "--team", "outreach"});
  const std::vector<std::string> new_site{"add",
                                          "--quiet",
                                          "pats_session",
                                          "date=2026-09-01",
                                          "site=kotnikova",
                                          "format=individual",
                                          "person=PK-4410-01M",
                                          "interpreter=true"};
  const run_result refused = haven(new_site);  // this build's schema does not know them yet
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("site: must be one of") != std::string::npos);
  CHECK(refused.err.find("interpreter: is not a field") != std::string::npos);

  haven.ok({"sync", "--server", server.sync_url()});
  CHECK(haven.ok({"status", "--json"}).find("\"schema_version\":2") != std::string::npos);
  const std::string id = haven.ok(new_site);  // a new process: the adopted schema was kept
  CHECK(haven.ok({"show", id, "--json"}).find("\"interpreter\":true") != std::string::npos);
  haven.ok({"sync", "--server", server.sync_url()});
  const http_response tally =
      http_get(server.address(), "/api/tallies/pats-individual-by-site?year=2026");
  CHECK(tally.body.find(R"({"row":["kotnikova"],"column":null,"values":{"persons":1}})") !=
        std::string::npos);
}

}  // namespace
}  // namespace haven::test

// A device follows its server to a new address when the server proves the
// identity pinned at enrollment: with the real havend (restarted on another
// port) and `haven`. With a pinned certificate, `sync --server NEW` works and
// is kept for later syncs; an impostor with another certificate is refused
// and nothing is kept; without a pin the move needs --trust-new-server.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "../support/file_bytes.hpp"
#include "../support/havend_process.hpp"
#include "../support/https_client.hpp"
#include "shell_fixture.hpp"

namespace haven::test {
namespace {

using Catch::Matchers::Contains;

// A certificate and key from the real `havend dev-cert`.
struct certificate {
  std::string cert, key;
  certificate(const temp_dir& dir, const std::string& name)
      : cert(dir.file(name + ".crt")), key(dir.file(name + ".key")) {
    const run_result r = run({HAVEND_PATH, "dev-cert", "--cert", cert, "--key", key});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  std::vector<std::string> flags() const { return {"--tls-cert", cert, "--tls-key", key}; }
};

std::string slurp(const std::string& file) {
  return file_bytes(file);
}

std::string code_for(const std::string& db) {
  const run_result r =
      run({HAVEND_PATH, "--db", db, "enroll", "--name", "tablet", "--team", "team-a", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return std::string(boost::json::parse(r.out).as_object().at("code").as_string());
}

void record(const shell& device, const std::string& person) {
  device.ok({"add", "--quiet", "pats_session", "date=2026-03-02", "site=vic", "format=individual",
             "person=" + person, "nationality=UA"});
}

}  // namespace

TEST_CASE("server move: a device that pinned the certificate follows its server to a new address",
          "[e2e][tls][move]") {
  shell device;
  const certificate pinned(device.dir(), "havend"), other(device.dir(), "impostor");
  const std::string db = device.dir().file("central.db");
  havend_process server(db, pinned.flags(), havend_process::authentication::on);
  const std::string old_url = "wss://" + server.address() + "/sync";
  device.ok({"enroll", "--server", old_url, "--code", code_for(db), "--ca", pinned.cert});
  record(device, "PK-M0VE-0001P");
  REQUIRE(device({"sync"}).exit_code == 0);

  server.stop();
  server.restart();  // the same store and certificate, on a new port
  const std::string new_url = "wss://" + server.address() + "/sync";
  REQUIRE(new_url != old_url);
  record(device, "PK-M0VE-0002M");

  // An impostor on yet another address, with a certificate of its own, gets nothing.
  havend_process impostor(device.dir().file("impostor.db"), other.flags());
  const run_result fooled = device({"sync", "--server", "wss://" + impostor.address() + "/sync"});
  INFO(fooled.err);
  CHECK(fooled.exit_code == 1);
  CHECK_THAT(fooled.err, Contains("the server's certificate is not trusted"));
  // A new --ca for the new address is no proof either.
  const run_result repinned = device({"sync", "--server", new_url, "--ca", other.cert});
  CHECK(repinned.exit_code == 1);
  CHECK_THAT(repinned.err, Contains("certificate pinned at enrollment; leave out --ca"));

  const run_result moved = device({"sync", "--server", new_url});
  INFO(moved.out << moved.err);
  REQUIRE(moved.exit_code == 0);
  CHECK_THAT(moved.out, Contains("synced: pushed ") && Contains("; 0 pending"));
  // Later syncs go to the new address without --server.
  record(device, "PK-M0VE-0003J");
  const run_result later = device({"sync"});
  INFO(later.out << later.err);
  CHECK(later.exit_code == 0);
  CHECK_THAT(later.out, Contains("; 0 pending"));
  const auto health = https_get(server.address(), "/healthz", slurp(pinned.cert));
  CHECK_THAT(health.body, Contains("\"records\":3"));
  CHECK(https_get(impostor.address(), "/healthz", slurp(other.cert)).body.find("\"records\":0") !=
        std::string::npos);
}

TEST_CASE("server move: without a pinned certificate, a new address needs --trust-new-server",
          "[e2e][move]") {
  shell device;
  const std::string db = device.dir().file("central.db");
  havend_process server(db, {}, havend_process::authentication::on);
  device.ok({"enroll", "--server", "ws://" + server.address(), "--code", code_for(db)});
  record(device, "PK-M0VE-0004G");
  REQUIRE(device({"sync"}).exit_code == 0);
  server.stop();
  server.restart();
  const std::string new_url = "ws://" + server.address() + "/sync";
  record(device, "PK-M0VE-0005E");

  const run_result refused = device({"sync", "--server", new_url});
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.err, Contains("no certificate was pinned at enrollment") &&
                              Contains("sync with --server " + new_url + " --trust-new-server"));
  CHECK(device.ok({"status", "--json"}).find("\"pending_changes\":0") == std::string::npos);

  const run_result moved = device({"sync", "--server", new_url, "--trust-new-server"});
  INFO(moved.out << moved.err);
  REQUIRE(moved.exit_code == 0);
  CHECK_THAT(moved.out, Contains("; 0 pending"));
  record(device, "PK-M0VE-0006C");
  const run_result later = device({"sync"});
  INFO(later.err);
  CHECK(later.exit_code == 0);
  CHECK_THAT(later.out, Contains("; 0 pending"));
}

}  // namespace haven::test

// Enrollment and coordinator tokens end to end: the real havend with
// authentication on, codes from `havend enroll`, POST /api/enroll over a
// socket, tokens from `havend token` for the tallies, and the commands that
// list, retire and revoke devices and show the audit log.

#include <haven/client/haven.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <haven/schema/schema.hpp>
#include <string>

#include "../support/file_bytes.hpp"
#include "../support/havend_process.hpp"
#include "shell_fixture.hpp"
#include "sync_fixture.hpp"

namespace haven::test {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

// A store, a havend with authentication on it, and its commands.
struct enroll_fixture {
  temp_dir dir;
  std::string db = dir.file("central.db");
  havend_process server{db, {}, havend_process::authentication::on};

  // A havend command on the store; its clock shifted by `clock_offset_ms`
  // (HAVEN_TEST_CLOCK_OFFSET_MS) when not 0.
  run_result havend(std::vector<std::string> args, std::int64_t clock_offset_ms = 0) {
    args.insert(args.begin(), {HAVEND_PATH, "--db", db});
    if (clock_offset_ms != 0)
      args.insert(args.begin(), {"/usr/bin/env",
                                 "HAVEN_TEST_CLOCK_OFFSET_MS=" + std::to_string(clock_offset_ms)});
    return run(args);
  }
  // `havend enroll --json`: the code and its expiry.
  boost::json::object issue(const std::string& name, std::vector<std::string> extra = {},
                            std::int64_t clock_offset_ms = 0) {
    std::vector<std::string> args{"enroll", "--name", name, "--team", "team-a", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = havend(args, clock_offset_ms);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return boost::json::parse(r.out).as_object();
  }
  // `device`, enrolled with a code of its own (`haven enroll` over ws://).
  void enroll_shell(shell& device, const std::string& name) {
    const std::string code(issue(name).at("code").as_string());
    device.ok({"enroll", "--server", "ws://" + server.address(), "--code", code});
  }
  http_response enroll(const std::string& code) {
    const std::string body = boost::json::serialize(
        boost::json::object{{"code", code}, {"public_key", std::string(64, '1')}});
    return http_send(server.address(), "POST", "/api/enroll", body,
                     {{"Content-Type", "application/json"}});
  }
  http_response tallies(const std::string& token) {
    if (token.empty()) return http_get(server.address(), "/api/tallies");
    return http_send(server.address(), "GET", "/api/tallies", "",
                     {{"Authorization", "Bearer " + token}});
  }
};

std::string error_of(const http_response& r) {
  return std::string(boost::json::parse(r.body).as_object().at("error").as_string());
}

}  // namespace

TEST_CASE("enroll: a code from havend enroll works once over HTTP", "[e2e][enroll]") {
  enroll_fixture f;
  const auto code = f.issue("Ana's phone");
  CHECK(code.at("code").as_string().size() == 14);
  CHECK_THAT(std::string(code.at("expires").as_string()), Contains("T") && Contains("Z"));

  const auto ok = f.enroll(std::string(code.at("code").as_string()));
  INFO(ok.body);
  REQUIRE(ok.status == 200);
  const auto grant = boost::json::parse(ok.body).as_object();
  const std::string id(grant.at("device_id").as_string());
  CHECK(grant.at("team").as_string() == "team-a");
  CHECK(grant.at("pseudonym_key").as_string().size() == 64);

  const auto again = f.enroll(std::string(code.at("code").as_string()));
  CHECK(again.status == 401);
  CHECK_THAT(error_of(again), Contains("already used"));

  const auto listed = f.havend({"devices"});
  CHECK(listed.exit_code == 0);
  CHECK_THAT(listed.out, Contains(id) && Contains("Ana's phone") && Contains("team-a") &&
                             Contains("worker") && Contains("active"));

  const auto revoked = f.havend({"revoke", id});
  INFO(revoked.err);
  CHECK(revoked.exit_code == 0);
  CHECK_THAT(revoked.out, Contains("revoked") && Contains("lost with the device"));
  CHECK_THAT(f.havend({"devices"}).out, Contains("revoked"));
  CHECK(f.havend({"retire", id}).exit_code == 1);  // revoked is for good
  CHECK(f.havend({"retire", "d0000000000000000"}).exit_code == 1);

  const auto audit = f.havend({"audit", "--limit", "10"});
  CHECK(audit.exit_code == 0);
  CHECK_THAT(audit.out,
             Contains("enrolled") && Contains("enrollment_refused") && Contains("revoked"));
  CHECK(audit.out.find(std::string(code.at("code").as_string())) == std::string::npos);
}

TEST_CASE("enroll: an expired code is refused", "[e2e][enroll]") {
  enroll_fixture f;
  // Issued on a havend clock two hours back, for one hour: it expired an hour ago.
  const auto code = f.issue("tablet 2", {"--expires", "1h"}, -2 * 3600 * 1000);
  const auto r = f.enroll(std::string(code.at("code").as_string()));
  CHECK(r.status == 401);
  CHECK_THAT(error_of(r), Contains("expired at"));
}

TEST_CASE("enroll: repeated bad codes from one address are slowed down with 429", "[e2e][enroll]") {
  enroll_fixture f;
  for (int i = 0; i < 5; ++i) CHECK(f.enroll("0000-0000-0000").status == 401);
  const auto r = f.enroll("0000-0000-0000");
  CHECK(r.status == 429);
  CHECK_THAT(r.headers, Contains("Retry-After: "));
}

TEST_CASE("enroll: the tallies need a token from havend token", "[e2e][enroll]") {
  enroll_fixture f;
  const auto missing = f.tallies("");
  CHECK(missing.status == 401);
  CHECK_THAT(missing.headers, Contains("WWW-Authenticate: Bearer"));

  const auto issued = f.havend({"token", "--name", "maja"});
  REQUIRE(issued.exit_code == 0);
  const auto at = issued.out.find("Authorization: Bearer ");
  REQUIRE(at != std::string::npos);
  const std::string token = issued.out.substr(at + 22, 64);
  CHECK(f.tallies(token).status == 200);
  CHECK(f.tallies(std::string(64, 'f')).status == 401);
  CHECK(f.havend({"audit"}).out.find(token) == std::string::npos);
  CHECK(http_get(f.server.address(), "/healthz").status == 200);
}

TEST_CASE("enroll: enroll prints the code as a QR code, and checks its options", "[e2e][enroll]") {
  temp_dir dir;
  const std::string db = dir.file("central.db");
  havend_process{db}.stop();  // the store, served once
  CHECK_THAT(run({HAVEND_PATH, "--db", db, "devices"}).out,
             Contains("No device has enrolled or synced yet"));
  const auto r = run({HAVEND_PATH, "--db", db, "enroll", "--name", "tablet", "--team", "team-a",
                      "--role", "coordinator", "--expires", "7d"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("\u2588") && Contains("coordinator") && Contains("team-a"));
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--team", "team-a"},
        {"--name", "x", "--team", "Team A"},
        {"--name", "x", "--team", "team-a", "--expires", "soon"},
        {"--name", "x", "--team", "team-a", "--role", "admin"}}) {
    std::vector<std::string> argv{HAVEND_PATH, "--db", db, "enroll"};
    argv.insert(argv.end(), bad.begin(), bad.end());
    CHECK(run(argv).exit_code != 0);
  }
}

TEST_CASE("enroll: havend devices also lists devices that synced without enrollment",
          "[e2e][enroll]") {
  sync_fixture f;  // havend with --dev-no-auth
  auto& d = f.add_device("team-b");
  REQUIRE(f.sync(d).ok());
  const auto r = run({HAVEND_PATH, "--db", f.dir().file("central.db"), "devices"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, StartsWith("DEVICE ") && Contains("LAST SYNC"));
  const auto row = r.out.find("(not enrolled)");
  REQUIRE(row != std::string::npos);
  CHECK_THAT(r.out.substr(row),
             Contains("team-b") && Contains(" UTC  "));  // seen and synced: dates, not "never"
}

TEST_CASE("enroll: havend's commands refuse a store that does not exist, and create none",
          "[e2e][enroll]") {
  temp_dir dir;
  const std::string typo = dir.file("centarl.db");
  for (std::vector<std::string> command : {std::vector<std::string>{"devices"},
                                           {"audit"},
                                           {"tallies"},
                                           {"enroll", "--name", "tablet", "--team", "team-a"},
                                           {"token", "--name", "maja"},
                                           {"retire", "d0123456789abcdef"}}) {
    CAPTURE(command.front());
    command.insert(command.begin(), {HAVEND_PATH, "--db", typo});
    const run_result r = run(command);
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Contains("no central store at " + typo + ": check the path"));
    CHECK_FALSE(std::filesystem::exists(typo));
  }
}

TEST_CASE("havend tally takes the year as four digits", "[e2e][tally]") {
  temp_dir dir;
  const std::string db = dir.file("central.db");
  { havend_process serve_once(db); }
  for (const std::string year : {"26", "0026", "20266", "2026x", "+2026"}) {
    const run_result r =
        run({HAVEND_PATH, "--db", db, "tally", "pats-individual-by-site", "--year", year});
    INFO(year << ": " << r.out);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err,
               StartsWith("havend tally: --year must be a four-digit year such as 2026 (got " +
                          year + ")"));
    CHECK(r.out.empty());
  }
  CHECK_THAT(
      run({HAVEND_PATH, "--db", db, "tally", "pats-individual-by-site", "--year", "1899"}).err,
      Contains("--year must be a year from 1900 to 2200 (got 1899)"));
  const run_result ok = run({HAVEND_PATH, "--db", db, "tally", "pats-individual-by-site", "--year",
                             "2026", "--format", "json"});
  CHECK(ok.exit_code == 0);
  CHECK_THAT(ok.out, Contains("\"year\":2026"));
}

TEST_CASE("havend tally and tallies print aligned tables, JSON and CSV on request",
          "[e2e][tally]") {
  enroll_fixture f;
  shell device;
  f.enroll_shell(device, "tablet");
  device.ok(
      {"add", "pats_session", "date=2026-03-02", "site=vic", "format=group", "participants=12"});
  device.ok({"add", "pats_session", "date=2026-03-09", "site=postojna", "format=group",
             "participants=30"});
  device.ok(
      {"add", "pats_session", "date=2026-05-01", "site=vic", "format=group", "participants=8"});
  device.ok({"sync"});

  const auto table = f.havend({"tally", "pats-group-by-site", "--year", "2026"});
  INFO(table.out << table.err);
  REQUIRE(table.exit_code == 0);
  // A title, a header, a line per site and the total, the numbers right-aligned in their columns.
  CHECK_THAT(table.out, Contains(", 2026\n\nSite"));
  const auto line_of = [&](const std::string& first) {
    const auto at = table.out.find("\n" + first + " ");
    REQUIRE(at != std::string::npos);
    return table.out.substr(at + 1, table.out.find('\n', at + 1) - at - 1);
  };
  const std::string vic = line_of("Vič"), postojna = line_of("Postojna"), total = line_of("Total");
  CHECK(vic.size() == total.size());
  CHECK(postojna.size() == total.size());
  CHECK_THAT(total, Contains(" 50") && Contains(" 3"));
  CHECK(vic.ends_with(" 2"));
  CHECK(total.ends_with(" 3"));
  CHECK(table.out.find('{') == std::string::npos);

  const auto json = f.havend({"tally", "pats-group-by-site", "--year", "2026", "--format", "json"});
  CHECK(boost::json::parse(json.out).at("total").at("participants").as_int64() == 50);
  CHECK_THAT(f.havend({"tally", "pats-group-by-site", "--year", "2026", "--format", "csv"}).out,
             Contains("\nTotal,50,3\n"));
  const auto bad_format =
      f.havend({"tally", "pats-group-by-site", "--year", "2026", "--format", "xml"});
  CHECK(bad_format.exit_code == 2);
  CHECK(
      bad_format.err ==
      "havend tally: --format is table|json|csv|codes (got \"xml\")\nsee 'havend tally --help'\n");

  const auto list = f.havend({"tallies"});
  CHECK_THAT(list.out, StartsWith("TALLY "));
  CHECK_THAT(list.out, Contains("\npats-group-by-site ") && Contains("pats_session"));
  CHECK(list.out.find('{') == std::string::npos);
  CHECK(boost::json::parse(f.havend({"tallies", "--format", "json"}).out).as_array().size() ==
        schema::builtin()->tallies().size());
}

TEST_CASE(
    "havend's help comes from its options, per command, and a usage mistake is one line and a hint",
    "[e2e][help]") {
  temp_dir dir;
  const std::string db = dir.file("central.db");
  for (const char* flag : {"-h", "--help"}) {
    const run_result help = run({HAVEND_PATH, flag});
    CAPTURE(flag);
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out, Contains("--max-connections-per-address N (=32)"));
    CHECK_THAT(help.out, Contains("havend --db PATH enroll"));
  }
  const run_result version = run({HAVEND_PATH, "--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out == "havend 0.1.0\n");

  // A command's help: its options only, not the program's.
  const run_result enroll = run({HAVEND_PATH, "enroll", "--help"});
  CHECK(enroll.exit_code == 0);
  CHECK_THAT(enroll.out, StartsWith("usage: havend --db PATH enroll --name NAME --team TEAM"));
  CHECK_THAT(enroll.out, Contains("--expires DURATION (=24h)") && Contains("--role"));
  CHECK_THAT(enroll.out,
             !Contains("--listen") && !Contains("--max-frame-bytes") && !Contains("dev-cert"));
  CHECK(run({HAVEND_PATH, "--db", db, "tally", "-h"}).exit_code == 0);

  // Mistakes: one line naming the flag and what it allows, the hint, exit 2.
  { havend_process serve_once(db); }
  const run_result missing = run({HAVEND_PATH, "--db", db, "enroll", "--team", "team-a"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err ==
        "havend enroll: the option '--name' is required but missing\nsee 'havend enroll --help'\n");
  const run_result role =
      run({HAVEND_PATH, "--db", db, "enroll", "--name", "a", "--team", "t", "--role", "boss"});
  CHECK(role.exit_code == 2);
  CHECK_THAT(role.err, StartsWith("havend enroll: --role is worker|coordinator (got \"boss\")\n"));
  const run_result limit = run({HAVEND_PATH, "--db", db, "audit", "--limit", "0"});
  CHECK(limit.exit_code == 2);
  CHECK_THAT(limit.err, StartsWith("havend audit: --limit must be from 1 to "));
  const run_result not_number = run({HAVEND_PATH, "--db", db, "audit", "--limit", "lots"});
  CHECK(not_number.exit_code == 2);
  CHECK_THAT(not_number.err,
             Contains("'--limit'") && Contains("lots") && Contains("how many entries"));
  const run_result unknown = run({HAVEND_PATH, "--db", db, "devices", "--colour"});
  CHECK(unknown.err ==
        "havend devices: unrecognised option '--colour'\nsee 'havend devices --help'\n");
  const run_result threads =
      run({HAVEND_PATH, "--db", db, "--listen", "127.0.0.1:0", "--threads", "0"});
  CHECK(threads.exit_code == 2);
  CHECK(threads.err == "havend: --threads must be from 1 to 1024 (got 0)\nsee 'havend --help'\n");
  const run_result frame =
      run({HAVEND_PATH, "--db", db, "--listen", "127.0.0.1:0", "--max-frame-bytes", "-1"});
  CHECK(frame.exit_code == 2);
  CHECK_THAT(frame.err, StartsWith("havend: --max-frame-bytes must be from 65536 to "));
  const run_result misplaced = run({HAVEND_PATH, "--db", db, "--listen", "127.0.0.1:0", "devices"});
  CHECK(misplaced.exit_code == 2);
  CHECK_THAT(misplaced.err, StartsWith("havend: --listen is for serving"));
  CHECK(run({HAVEND_PATH, "--db", db, "frobnicate"}).err ==
        "havend: unknown command \"frobnicate\"\nsee 'havend --help'\n");
}

TEST_CASE(
    "havend --listen takes HOST:PORT, IPv6 in brackets, and refuses anything else naming the flag",
    "[e2e][listen]") {
  temp_dir dir;
  const std::string db = dir.file("central.db");
  for (const std::string bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:80x",
                                "::1:8080", "[::1", "http://127.0.0.1:80", "127.0.0.1:-1"}) {
    const run_result r = run({HAVEND_PATH, "--db", db, "--listen", bad});
    CAPTURE(bad);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err,
               StartsWith("havend: --listen takes HOST:PORT") && Contains("(got \"" + bad + "\")"));
  }
  CHECK_FALSE(std::filesystem::exists(db));
}

TEST_CASE("havend report writes every tally of a year as one HTML document, internal or public",
          "[e2e][tally][report]") {
  enroll_fixture f;
  shell device;
  f.enroll_shell(device, "tablet");
  for (int i = 0; i < 3; ++i)
    device.ok({"add", "pats_session", "date=2026-03-0" + std::to_string(i + 1), "site=vic",
               "format=group", "participants=17"});
  device.ok({"sync"});

  const std::string internal_file = f.dir.file("internal.html"),
                    public_file = f.dir.file("public.html");
  const auto internal = f.havend({"report", "--year", "2026", "--out", internal_file});
  INFO(internal.out << internal.err);
  REQUIRE(internal.exit_code == 0);
  CHECK_THAT(internal.out, Contains("wrote " + internal_file));
  const std::string internal_html = file_bytes(internal_file);
  CHECK_THAT(internal_html,
             StartsWith("<!doctype html>") && Contains("Internal: not for publication"));
  for (const auto& t : haven::schema::builtin()->tallies())
    CHECK_THAT(internal_html, Contains(t.title));
  CHECK_THAT(internal_html, Contains("<svg") && Contains("<td>51</td>"));  // 3 x 17 participants

  REQUIRE(
      f.havend({"report", "--year", "2026", "--view", "public", "--out", public_file}).exit_code ==
      0);
  const std::string public_html = file_bytes(public_file);
  CHECK_THAT(public_html, Contains("Safe to publish") && Contains("Audit passed"));
  CHECK_THAT(public_html, Contains("<td>&lt;5</td>"));  // three sessions: fewer than 5 records
  CHECK(public_html.find("<td>51</td>") == std::string::npos);

  const auto bad = f.havend({"report", "--year", "26"});
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Contains("--year"));
  // In Slovenian, with the years from 2025 side by side.
  const auto sl = f.havend({"report", "--year", "2026", "--from", "2025", "--lang", "sl"});
  REQUIRE(sl.exit_code == 0);
  CHECK_THAT(sl.out, Contains("<html lang=\"sl\">") && Contains("<h3>Po letih</h3>") &&
                         Contains("<th>2025 · Udeleženci</th>"));
  const auto later = f.havend({"report", "--year", "2026", "--from", "2027"});
  CHECK(later.exit_code == 2);
  CHECK_THAT(later.err, Contains("--from must be no later than --year"));
  const auto unwritable =
      f.havend({"report", "--year", "2026", "--out", f.dir.file("no/such.html")});
  CHECK(unwritable.exit_code == 1);
  CHECK_THAT(unwritable.err, Contains("cannot write"));
}

TEST_CASE("enroll: --dev-no-auth is refused off loopback", "[e2e][enroll]") {
  temp_dir dir;
  const auto r =
      run({HAVEND_PATH, "--db", dir.file("central.db"), "--listen", "0.0.0.0:0", "--dev-no-auth"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("loopback"));
}

TEST_CASE("enroll: a mobile shell enrolls, syncs and learns of its retirement through the C ABI",
          "[e2e][enroll][c_api]") {
  enroll_fixture f;
  const std::string code(f.issue("Ana's tablet").at("code").as_string());
  const std::string path = f.dir.file("tablet.db");
  haven_error err{};
  haven_store* db = nullptr;
  REQUIRE(haven_store_create(path.c_str(), "unenrolled", &db, &err));
  auto take = [](char* s) {
    std::string out = s ? s : "";
    haven_string_free(s);
    return boost::json::parse(out).as_object();
  };
  char* json = nullptr;
  const std::string url = "ws://" + f.server.address();
  REQUIRE(haven_enroll(db, url.c_str(), code.c_str(), nullptr, &json, &err));
  const std::string device_id(take(json).at("device_id").as_string());
  char id[33] = "";
  const char* workshop =
      R"({"date": "2026-03-10", "audience": "secondary-school", "region": "podravska",)"
      R"( "participants": 27})";
  REQUIRE(haven_record_add(db, "prevention_workshop", nullptr, workshop, id, &err));

  // The enrolled server and key, no URL given.
  const bool synced = haven_sync(db, nullptr, nullptr, &json, &err);
  INFO(err.message);
  REQUIRE(synced);
  auto summary = take(json);
  CHECK(summary.at("changes_up").as_int64() > 0);
  CHECK(summary.at("pending_changes").as_int64() == 0);
  CHECK(summary.at("wiped").is_null());

  REQUIRE(haven_record_add(db, "prevention_workshop", nullptr, workshop, id, &err));
  REQUIRE(f.havend({"retire", device_id}).exit_code == 0);
  REQUIRE(haven_sync(db, nullptr, nullptr, &json, &err));
  summary = take(json);
  CHECK(summary.at("changes_up").as_int64() > 0);  // the last record reached the server first
  REQUIRE(summary.at("wiped").is_object());
  CHECK(summary.at("wiped").at("reason").as_string() == "retired");

  REQUIRE(haven_store_status(db, &json, &err));
  const auto status = take(json);
  CHECK(status.at("records").as_int64() == 0);
  CHECK(status.at("device_id").is_null());
  CHECK(status.at("wiped").at("reason").as_string() == "retired");
  CHECK_FALSE(haven_sync(db, nullptr, nullptr, &json, &err));
  CHECK(err.code == HAVEN_UNAUTHORIZED);
  haven_store_close(db);

  const auto tally =
      f.havend({"tally", "workshops-by-audience-region", "--year", "2026", "--format", "csv"});
  INFO(tally.out);
  CHECK_THAT(tally.out, Contains("54"));
}

}  // namespace haven::test

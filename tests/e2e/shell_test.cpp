// The haven shell end to end: every command through the real binary.
#include <catch2/catch.hpp>
#include <fstream>

#include "shell_fixture.hpp"

namespace haven::test {

std::string shell::ok(std::vector<std::string> args, const std::string& input) const {
  const run_result r = (*this)(args, input);
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  std::string out = r.out;
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST_CASE("a store records, edits, lists, shows and deletes contacts", "[e2e][shell]") {
  shell haven;
  CHECK(contains(haven.ok({"init", "--team", "maribor"}), "created store"));

  const std::string session =
      haven.ok({"add", "--quiet", "pats_session", "date=2026-03-02", "site=vic",
                "format=individual", "person=Pk-2026-03029", "nationality=ua", "topics=thb,gbv"});
  REQUIRE(session.size() == 32);
  const std::string group =
      haven.ok({"add", "--quiet", "pats_session", "date=2026-03-03", "site=logatec", "format=group",
                "participants=14", "--team", "koper"});
  const std::string stay =
      haven.ok({"add", "--quiet", "assistance_case", "programme=crisis-accommodation",
                "person=CASE-0017W", "sex=female", "nationality=NG", "admitted=2026-01-01",
                "discharged=2026-01-04", "services=food,escort", "exploitation=sexual"});

  const std::string shown = haven.ok({"show", session, "--json"});
  CHECK(contains(shown, "\"nationality\":\"UA\""));  // normalised to upper case
  CHECK(contains(shown, "\"participants\":1"));      // the default
  CHECK(contains(shown, "\"topics\":[\"gbv\",\"thb\"]"));
  CHECK(contains(shown, "\"team\":\"maribor\""));
  CHECK(contains(haven.ok({"show", group, "--json"}), "\"team\":\"koper\""));
  CHECK(contains(haven.ok({"show", stay, "--json"}), "\"care_days\":3"));

  haven.ok(
      {"edit", stay, "services+=legal-information", "services-=food", "discharged=2026-01-10"});
  const std::string edited = haven.ok({"show", stay, "--json"});
  CHECK(contains(edited, "\"services\":[\"escort\",\"legal-information\"]"));
  CHECK(contains(edited, "\"care_days\":9"));
  haven.ok({"edit", stay, "discharged="});  // clears the field
  CHECK_FALSE(contains(haven.ok({"show", stay, "--json"}), "discharged"));

  const std::string text = haven.ok({"show", stay});
  CHECK(contains(text, "pending"));
  CHECK(contains(text, "programme"));

  CHECK(contains(haven.ok({"list", "--type", "pats_session"}), group));
  CHECK_FALSE(contains(haven.ok({"list", "--type", "pats_session"}), stay));

  haven.ok({"delete", session});
  CHECK_FALSE(contains(haven.ok({"list", "--json"}), session));
  const std::string deleted = haven.ok({"show", session, "--json"});
  CHECK(contains(deleted, "\"deleted\":true"));
  CHECK(contains(deleted, "\"fields\":{}"));
  const run_result again = haven({"delete", session});
  CHECK(again.exit_code == 1);
  CHECK(contains(again.err, "already deleted"));

  const std::string status = haven.ok({"status", "--json"});
  CHECK(contains(status, "\"records\":2"));
  CHECK(contains(status, "\"default_team\":\"maribor\""));
}

TEST_CASE("import takes all lines or none and names every bad line", "[e2e][shell][import]") {
  shell haven;
  haven.ok({"init", "--team", "celje"});
  const std::string good =
      "{\"type\":\"prevention_workshop\",\"fields\":{\"date\":\"2026-04-01\",\"audience\":"
      "\"primary-school\","
      "\"region\":\"savinjska\",\"participants\":23,\"teachers\":2}}\n"
      "\n"
      "{\"type\":\"on_call_event\",\"team\":\"celje\",\"fields\":{\"date\":\"2026-04-02\","
      "\"caller\":\"police\","
      "\"outcome\":\"admitted\",\"response_minutes\":35}}\n";
  const std::string bad = good +
                          "{\"type\":\"prevention_workshop\",\"fields\":{\"date\":\"2026-04-01\","
                          "\"audience\":\"primary-school\","
                          "\"region\":\"istra\",\"participants\":0}}\n"
                          "not json\n";
  const run_result refused = haven({"import", "-"}, bad);
  CHECK(refused.exit_code == 1);
  CHECK(contains(refused.err, "line 4: region"));
  CHECK(contains(refused.err, "line 4: participants"));
  CHECK(contains(refused.err, "line 5"));
  CHECK(contains(refused.err, "nothing imported"));
  CHECK(contains(haven.ok({"status", "--json"}), "\"records\":0"));

  std::ofstream(haven.dir().file("good.jsonl")) << good;
  CHECK(haven.ok({"import", haven.dir().file("good.jsonl")}) == "imported 2 records");
  CHECK(contains(haven.ok({"status", "--json"}), "\"records\":2"));
}

TEST_CASE(
    "import reads only regular files, line by line within bounds, and refuses a key given twice",
    "[e2e][shell][import]") {
  shell haven;
  haven.ok({"init", "--team", "celje"});
  const std::string line =
      "{\"type\":\"prevention_workshop\",\"fields\":{\"date\":\"2026-04-01\",\"audience\":"
      "\"primary-school\","
      "\"region\":\"savinjska\",\"participants\":23}}\n";
  auto refused = [&](const std::vector<std::string>& args, const std::string& says,
                     const std::string& input = "") {
    const run_result r = haven(args, input);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, says));
    CHECK_FALSE(contains(r.out, "imported"));
  };
  refused({"import", haven.dir().path()}, "is a directory, not a file of JSON lines");
  refused({"import", "/dev/zero"},
          "/dev/zero is not a regular file (a device, a pipe or a socket)");
  refused({"import", haven.dir().file("missing.jsonl")}, "there is no such file");
  // Standard input has no such check, but a line without end is cut at 64 KiB.
  refused({"import", "-"}, "line 2 is longer than 65536 bytes", line + std::string(70'000, 'x'));
  const std::string twice =
      "{\"type\":\"prevention_workshop\",\"fields\":{\"date\":\"2026-04-01\",\"audience\":"
      "\"primary-school\","
      "\"region\":\"savinjska\",\"participants\":23,\"participants\":2}}\n";
  refused({"import", "-"}, "line 2: the key \"participants\" is given twice", line + twice);
  refused({"import", "-"}, "line 1: the key \"type\" is given twice",
          "{\"type\":\"on_call_event\",\"type\":\"prevention_workshop\",\"fields\":{}}\n");
  CHECK(contains(haven.ok({"status", "--json"}), "\"records\":0"));
  CHECK(haven.ok({"import", "-"}, line + line) == "imported 2 records");
}

TEST_CASE("every command explains itself and usage mistakes exit 2", "[e2e][shell][help]") {
  shell haven;
  for (const char* cmd :
       {"init", "add", "edit", "delete", "list", "show", "import", "status", "fields"}) {
    const run_result r = run({HAVEN_SHELL_PATH, cmd, "--help"});
    INFO(cmd);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, std::string("usage: haven")));
  }
  CHECK(contains(run({HAVEN_SHELL_PATH, "--help"}).out, "import"));
  CHECK(run({HAVEN_SHELL_PATH, "frobnicate"}).exit_code == 2);
  CHECK(haven({"add"}).exit_code == 2);
  const run_result missing = haven({"list"});
  CHECK(missing.exit_code == 1);
  CHECK(contains(missing.err, "init"));  // tells how to create the store
  haven.ok({"init", "--team", "kranj"});
  const run_result twice = haven({"init", "--team", "kranj"});
  CHECK(twice.exit_code == 1);
  CHECK(contains(twice.err, "already exists"));
  CHECK(haven({"show", "not-an-id"}).exit_code == 2);
  CHECK(contains(haven.ok({"fields", "assistance_case"}), "exploitation: set of sexual"));
}

TEST_CASE("haven's help comes from its options, and a usage mistake is one line and a hint",
          "[e2e][shell][help]") {
  shell haven;
  for (const char* flag : {"-h", "--help"}) {
    const run_result help = run({HAVEN_SHELL_PATH, flag});
    CAPTURE(flag);
    CHECK(help.exit_code == 0);
    CHECK(contains(help.out, "usage: haven"));
    CHECK(contains(help.out, "--db PATH"));
  }
  const run_result version = run({HAVEN_SHELL_PATH, "--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.rfind("haven 0.1.0 (schema ", 0) == 0);

  // A command's help lists its own options, described.
  const run_result sync_help = haven({"sync", "-h"});
  CHECK(sync_help.exit_code == 0);
  CHECK(contains(sync_help.out, "--trust-new-server"));
  CHECK_FALSE(contains(sync_help.out, "--count"));
  CHECK(contains(haven({"card-codes", "--help"}).out, "(=10)"));

  // A flag the command does not know: one line naming it, and where to look.
  haven.ok({"init", "--team", "celje"});
  const run_result unknown = haven({"list", "--typo"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err == "haven list: unrecognised option '--typo'\nsee 'haven list --help'\n");
  CHECK(unknown.out.empty());
  const run_result no_value = haven({"list", "--type"});
  CHECK(no_value.exit_code == 2);
  CHECK(contains(no_value.err, "--type"));
  CHECK(contains(no_value.err, "see 'haven list --help'"));
  const run_result count = run({HAVEN_SHELL_PATH, "card-codes", "--count", "0"});
  CHECK(count.exit_code == 2);
  CHECK(contains(count.err, "--count must be a whole number from 1 to 10000"));
  const run_result global = run({HAVEN_SHELL_PATH, "--nope", "list"});
  CHECK(global.exit_code == 2);
  CHECK(global.err == "haven: unrecognised option '--nope'\nsee 'haven --help'\n");
  const run_result command = run({HAVEN_SHELL_PATH, "frobnicate"});
  CHECK(command.err == "haven: unknown command \"frobnicate\"\nsee 'haven --help'\n");
}

TEST_CASE("add and edit confirm in words, and a record is named by a unique prefix of its id",
          "[e2e][shell][prefix]") {
  shell haven;
  haven.ok({"init", "--team", "koper"});
  const std::string added =
      haven.ok({"add", "on_call_event", "date=2026-01-02", "caller=ngo", "outcome=advice-only"});
  REQUIRE(added.rfind("recorded on_call_event ", 0) == 0);
  const std::string id = added.substr(std::string("recorded on_call_event ").size());
  REQUIRE(id.size() == 32);
  const std::string quiet = haven.ok(
      {"add", "--quiet", "on_call_event", "date=2026-01-03", "caller=ngo", "outcome=advice-only"});
  CHECK(quiet.size() == 32);
  CHECK(quiet.find_first_not_of("0123456789abcdef") == std::string::npos);

  // The first 8 characters name it (two random ids share them once in 4 billion).
  CHECK(haven.ok({"edit", id.substr(0, 8), "caller=police"}) == "saved " + id);
  CHECK(haven.ok({"edit", "--quiet", id.substr(0, 8), "caller=victim"}).empty());
  CHECK(contains(haven.ok({"show", id.substr(0, 6)}), "id       " + id));
  CHECK(contains(haven.ok({"show", id.substr(0, 6)}), "victim"));

  const run_result short_prefix = haven({"show", id.substr(0, 3)});
  CHECK(short_prefix.exit_code == 2);
  CHECK(contains(short_prefix.err, "first 4 or more"));
  std::string unknown = id;
  for (char c : std::string("0123456789abcdef"))
    if (c != id[0] && c != quiet[0]) unknown[0] = c;
  const run_result missing = haven({"show", unknown.substr(0, 10)});
  CHECK(missing.exit_code == 1);
  CHECK(contains(missing.err, "no record " + unknown.substr(0, 10)));
  CHECK(haven.ok({"delete", id.substr(0, 5)}) == "deleted " + id);
}

TEST_CASE("haven reads a server address as a URL and refuses what is not one, before connecting",
          "[e2e][shell][url]") {
  shell haven;
  haven.ok({"init", "--team", "izola"});
  const std::pair<const char*, const char*> refusals[] = {
      {"ws://user:pw@127.0.0.1:8080/sync", "a user name or password has no place in it"},
      {"ws://127.0.0.1:8080/sync#x", "a #fragment has no place in it"},
      {"ws://127.0.0.1:80x/sync", "bad port"},
      {"ws://127.0.0.1:0/sync", "bad port"},
      {"ws://127.0.0.1:65536/sync", "bad port"},
      {"ws:/127.0.0.1/sync", "no host"},
      {"ftp://127.0.0.1:1/sync", "it must start with wss:// or ws://"},
      {"ws://[::1/sync", "it is not a URL"},
  };
  for (const auto& [url, why] : refusals) {
    CAPTURE(url);
    const run_result r = haven({"sync", "--server", url});
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, std::string("bad server address \"") + url + "\": " + why));
    CHECK_FALSE(contains(r.err, "unreachable"));
  }
}

}  // namespace
}  // namespace haven::test

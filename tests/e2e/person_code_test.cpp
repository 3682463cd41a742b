// `haven person-code` end to end: the code printed for a person typed on
// standard input is the library's, however the person is typed, and neither
// name reaches the store's files.
#include <catch2/catch.hpp>
#include <filesystem>
#include <haven/client/pseudonym.hpp>
#include <haven/client/store.hpp>
#include <haven/schema/pseudonym.hpp>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "shell_fixture.hpp"

namespace haven::test {
namespace {

const std::string pseudonym_key = "0123456789abcdef0123456789ABCDEF";  // 32 bytes

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The bytes of a file ("" if there is none), read by a child process: closing
// a descriptor of the store's file here would drop every POSIX lock that this
// process's open store holds on it, and the next haven to exit would take
// itself for the last connection, checkpoint the WAL and remove it.
std::string file_bytes(const std::string& file) {
  return run({"/bin/cat", file}).out;
}

// A store at the shell's path, enrolled as `haven enroll` would leave it but
// with made-up credentials and a known pseudonym key. The store stays open
// while the test runs, so no process that closes it is the last connection and
// its WAL is neither checkpointed nor removed: the test can read both files.
std::unique_ptr<client::store> enrolled_store(const shell& haven) {
  auto db = client::store::create(haven.db(), "maribor");
  REQUIRE(db.ok());
  client::credentials c;
  c.server_url = "ws://127.0.0.1:9/sync";
  c.device_id = "device-0001";
  c.team = "maribor";
  c.role = "worker";
  c.private_key = std::string(32, '\x11');
  c.pseudonym_key = pseudonym_key;
  auto enrolled = db.value()->enroll(c);
  INFO((enrolled.ok() ? "" : enrolled.err().describe()));
  REQUIRE(enrolled.ok());
  return std::move(db).value();
}

std::string library_code(const client::person_attributes& person) {
  auto code = client::person_code(pseudonym_key, person);
  REQUIRE(code.ok());
  return code.value();
}

TEST_CASE("person-code prints the library's code however the person is typed",
          "[e2e][shell][pseudonym]") {
  shell haven;
  const auto db = enrolled_store(haven);
  const std::string expected = library_code({"Zoryana", "Hnatyšyn", "1994-09-03", "UA"});

  CHECK(haven.ok({"person-code"}, "Zoryana\nHnatyšyn\n1994-09-03\nUA\n") == expected);
  // Upper case, a decomposed š (s + combining caron), spaces, CRLF, no final newline.
  CHECK(haven.ok({"person-code"}, "  ZORYANA \r\nHNATYS\xcc\x8cYN\r\n1994-09-03\r\nua") ==
        expected);
  CHECK(haven.ok({"person-code"}, "zoryana\nhnatysyn\n1994-09-03\nUA\n\n\n") ==
        expected);  // blank lines may follow

  CHECK(haven.ok({"person-code"}, "Zoryana\nHnatyšyn\n1994\nUA\n") !=
        expected);  // year only: another code
  CHECK(haven.ok({"person-code"}, "Zoryana\nHnatyšyn\n1994-09-03\nXX\n") != expected);
}

TEST_CASE("person-code refuses arguments, bad input and a device without a key",
          "[e2e][shell][pseudonym]") {
  shell haven;
  const std::string person = "Zoryana\nHnatyšyn\n1994-09-03\nUA\n";

  haven.ok({"init", "--team", "maribor"});
  run_result r = haven({"person-code"}, person);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err,
                 "this device has no pseudonym key yet: enroll it first (haven enroll --server URL "
                 "--code CODE)"));
  CHECK(r.out.empty());

  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(haven.db() + suffix);
  const auto db = enrolled_store(haven);
  r = haven({"person-code", "Zoryana", "Hnatyšyn"}, person);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "person-code takes no arguments"));
  CHECK(contains(r.err, "shell's history"));
  CHECK(r.out.empty());

  r = haven({"person-code"}, "Zoryana\nHnatyšyn\n");
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "four lines"));
  CHECK(contains(r.err, "(got 2)"));

  r = haven({"person-code"}, person + "Olena\n");
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "more followed"));

  r = haven({"person-code"}, "Zoryana\nHnatyšyn\n1994-02-30\nUA\n");
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "birth date is not a real calendar day"));
  CHECK(r.out.empty());

  r = haven({"person-code"}, "Zoryana\n \nUA\n1994\n");
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "family name is empty"));
}

TEST_CASE("card-codes prints distinct card codes with their check character, which a record takes",
          "[e2e][shell][pseudonym]") {
  shell haven;
  std::istringstream lines(haven.ok({"card-codes", "--count", "200"}));
  std::set<std::string> codes;
  for (std::string line; std::getline(lines, line);) {
    CAPTURE(line);
    CHECK(line.size() == std::string_view("K-XXXX-XXXX-XXXC").size());
    CHECK(line.rfind("K-", 0) == 0);
    CHECK(valid_pseudonym(line));
    codes.insert(line);
  }
  CHECK(codes.size() == 200);
  CHECK(!std::filesystem::exists(haven.db()));  // needs no store, and makes none

  haven.ok({"init", "--team", "maribor"});
  const std::string card = *codes.begin();
  haven.ok({"add", "--quiet", "pats_session", "date=2026-03-02", "site=vic", "format=individual",
            "person=" + card});
  // The same card with one symbol mistyped is refused.
  std::string typo = card;
  typo[3] = typo[3] == '7' ? '8' : '7';
  const run_result r = haven({"add", "--quiet", "pats_session", "date=2026-03-02", "site=vic",
                              "format=individual", "person=" + typo});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "ending in its check character"));
  CHECK(!contains(r.err, typo));

  for (const char* count : {"0", "10001", "ten", "-1"}) {
    const run_result bad = haven({"card-codes", "--count", count});
    CHECK(bad.exit_code == 2);
    CHECK(contains(bad.err, "--count must be a whole number from 1 to 10000"));
  }
}

TEST_CASE("only the person code reaches the store's files, never a name",
          "[e2e][shell][pseudonym]") {
  shell haven;
  const auto db = enrolled_store(haven);
  const std::string wal = haven.db() + "-wal";
  const std::string person = "Zoryana\nHnatyšyn\n1994-09-03\nUA\n";

  // person-code writes nothing: both files are byte for byte as before.
  haven.ok({"person-code"}, person);  // a first run, so that both files exist in their steady state
  const std::string db_before = file_bytes(haven.db()), wal_before = file_bytes(wal);
  const std::string code = haven.ok({"person-code"}, person);
  CHECK(file_bytes(haven.db()) == db_before);
  CHECK(file_bytes(wal) == wal_before);

  const std::string id =
      haven.ok({"add", "--quiet", "assistance_case", "programme=crisis-accommodation",
                "person=" + code, "sex=female", "nationality=UA", "admitted=2026-03-01"});
  CHECK(contains(haven.ok({"show", id, "--json"}), "\"person\":\"" + code + "\""));

  REQUIRE(std::filesystem::exists(
      wal));  // the add is in the WAL: the test's store keeps it from a checkpoint
  const std::string files = file_bytes(haven.db()) + file_bytes(wal);
  CHECK(contains(files, code));
  for (const char* name :
       {"Zoryana", "zoryana", "ZORYANA", "Hnatyšyn", "hnatysyn", "Hnaty", "hnaty"}) {
    INFO(name);
    CHECK_FALSE(contains(files, name));
  }
}

}  // namespace
}  // namespace haven::test

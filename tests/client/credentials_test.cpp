// Enrollment credentials in the device store, and the remote wipe that
// erases records, outbox and keys down to the bytes of the files.

#include <catch2/catch.hpp>
#include <haven/client/store.hpp>
#include <haven/core/hex.hpp>
#include <haven/crypto/crypto.hpp>

#include "../support/file_bytes.hpp"
#include "scratch_store.hpp"

using namespace haven;
using namespace haven::test;

namespace {

client::credentials sample_credentials(std::string team = "team-a") {
  return {"wss://haven.example.org:8443/sync",
          "d0123456789abcdef",
          std::move(team),
          "worker",
          crypto::generate_signing_key().private_key,
          crypto::random_bytes(32),
          ""};
}

}  // namespace

TEST_CASE("store: enrollment is kept, survives reopening and happens once",
          "[client][credentials]") {
  scratch_store db("team-a");
  CHECK_FALSE(must(db->enrollment()).has_value());
  const auto c = sample_credentials();
  must(db->enroll(c));
  db.reopen();
  const auto kept = must(db->enrollment());
  REQUIRE(kept.has_value());
  CHECK(kept->device_id == c.device_id);
  CHECK(kept->private_key == c.private_key);
  CHECK(kept->pseudonym_key == c.pseudonym_key);
  CHECK(kept->server_url == c.server_url);
  CHECK(must(db->status()).device_id == c.device_id);

  const std::string before = state_of(*db);
  must_fail(db->enroll(sample_credentials()), errc::already_exists);
  CHECK(must(db->enrollment())->private_key == c.private_key);
  CHECK(state_of(*db) == before);
}

TEST_CASE("store: enrollment sets the team, and refuses a store holding another team's records",
          "[client][credentials]") {
  scratch_store db("team-a");
  must(db->add(workshop()));
  const auto e = must_fail(db->enroll(sample_credentials("team-b")), errc::invalid_input);
  CHECK(e.message.find("team-a") != std::string::npos);
  CHECK_FALSE(must(db->enrollment()).has_value());

  scratch_store fresh("placeholder");
  must(fresh->enroll(sample_credentials("team-b")));
  CHECK(must(fresh->status()).default_team == "team-b");
}

TEST_CASE("store: malformed credentials are refused with the field named",
          "[client][credentials]") {
  scratch_store db;
  auto c = sample_credentials();
  c.private_key = "short";
  c.role = "admin";
  const auto e = must_fail(db->enroll(c), errc::invalid_input);
  CHECK(names_field(e.issues, "private_key"));
  CHECK(names_field(e.issues, "role"));
  CHECK_FALSE(must(db->enrollment()).has_value());
}

TEST_CASE("store: enrolling makes the whole local history pending for the new server",
          "[client][credentials]") {
  scratch_store db("team-a");
  must(db->add(workshop()));
  must(db->acknowledge(must(db->status()).local_seq));
  CHECK(must(db->status()).pending_cells == 0);
  must(db->enroll(sample_credentials()));
  CHECK(must(db->status()).pending_cells > 0);
  CHECK(must(db->status()).pulled_seq == 0);
}

TEST_CASE("store: a wipe erases records, outbox and keys from the files' bytes",
          "[client][credentials]") {
  scratch_store db("team-a");
  const auto c = sample_credentials();
  must(db->enroll(c));
  const record_id crisis = must(db->add(crisis_case()));
  must(db->add(pats_individual()));
  must(db->edit(crisis, {set_field("person", "C-5ECA-11EDW")}));
  REQUIRE(store_files_contain(db.file(), "C-5ECA-11EDW"));
  REQUIRE(store_files_contain(db.file(), to_hex(c.private_key)));

  must(db->wipe(haven::sync::standing::revoked, 1'772'323'200'000));
  for (std::string_view secret : {"C-19B2-E04DT", "C-5ECA-11EDW", "P-7F3A-9C21J", "art113-thb"}) {
    INFO(secret);
    CHECK_FALSE(store_files_contain(db.file(), secret));
  }
  CHECK_FALSE(store_files_contain(db.file(), to_hex(c.private_key)));
  CHECK_FALSE(store_files_contain(db.file(), to_hex(c.pseudonym_key)));
  std::string raw_id(reinterpret_cast<const char*>(crisis.bytes.data()), crisis.bytes.size());
  CHECK_FALSE(store_files_contain(db.file(), raw_id));

  db.reopen();
  const auto s = must(db->status());
  CHECK(s.records == 0);
  CHECK(s.pending_cells == 0);
  REQUIRE(s.wiped.has_value());
  CHECK(s.wiped->reason == haven::sync::standing::revoked);
  CHECK_FALSE(must(db->enrollment()).has_value());
  CHECK_FALSE(must(db->get(crisis)).has_value());
}

TEST_CASE("store: a retired wipe keeps unsent work, and a revoked one does not",
          "[client][credentials]") {
  scratch_store db("team-a");
  must(db->enroll(sample_credentials()));
  must(db->add(workshop()));
  const std::string before = state_of(*db);
  const auto e =
      must_fail(db->wipe(haven::sync::standing::retired, 1'772'323'200'000), errc::invalid_input);
  CHECK_THAT(e.message, Catch::Matchers::Contains("not sent yet"));
  CHECK(state_of(*db) == before);
  CHECK(must(db->enrollment()).has_value());
  must(db->wipe(haven::sync::standing::revoked, 1'772'323'200'000));
  CHECK(must(db->status()).records == 0);
}

TEST_CASE("store: a wiped store refuses records until it is enrolled again",
          "[client][credentials]") {
  scratch_store db("team-a");
  must(db->enroll(sample_credentials()));
  must(db->wipe(haven::sync::standing::retired, 1'772'323'200'000));
  const auto e = must_fail(db->add(workshop()), errc::unauthorized);
  CHECK(e.message.find("enroll") != std::string::npos);
  CHECK(must(db->status()).records == 0);

  must(db->enroll(sample_credentials()));
  CHECK_FALSE(must(db->status()).wiped.has_value());
  must(db->add(workshop()));
  CHECK(must(db->status()).records == 1);
}

TEST_CASE("store: an enrolled device records for its own team only", "[client][credentials]") {
  scratch_store db("team-a");
  must(db->enroll(sample_credentials("team-a")));
  const std::string before = state_of(*db);
  auto other = workshop();
  other.team = "team-b";
  const auto e = must_fail(db->add(other), errc::invalid_input);
  CHECK(names_field(e.issues, "team"));
  CHECK(state_of(*db) == before);
  must(db->add(workshop()));
}

TEST_CASE(
    "store: a wipe draws a new node id and zeroes the counters, so the store enrolled again is a "
    "new device",
    "[client][credentials][wipe]") {
  scratch_store db("team-a");
  must(db->enroll(sample_credentials()));
  must(db->add(workshop()));
  must(db->acknowledge(must(db->status()).local_seq));
  const auto before = must(db->status());
  REQUIRE(before.local_seq > 0);

  must(db->wipe(haven::sync::standing::retired, 1'772'323'200'000));
  const auto wiped = must(db->status());
  CHECK(wiped.node != before.node);
  CHECK(wiped.node != 0);
  CHECK(wiped.local_seq == 0);
  CHECK(wiped.acked_seq == 0);
  CHECK(wiped.pulled_seq == 0);
  db.reopen();  // kept in the file, not only in memory
  CHECK(must(db->status()).node == wiped.node);
  CHECK(db->node() == wiped.node);

  must(db->enroll(sample_credentials()));
  const sync::node_id enrolled = must(db->status()).node;
  CHECK(enrolled != before.node);
  must(db->add(workshop()));
  const auto batch = must(db->outbox());
  REQUIRE(batch.changes.size() == 1);
  for (const auto& c : batch.changes.front().cells) CHECK(c.at.node == enrolled);
  CHECK(must(db->status()).local_seq == batch.last_seq);
}

TEST_CASE("store: a store enrolled as a coordinator records nothing", "[client][credentials]") {
  scratch_store db("team-a");
  const auto id = must(db->add(workshop()));  // recorded before enrollment
  auto coordinator = sample_credentials();
  coordinator.role = "coordinator";
  must(db->enroll(coordinator));
  const std::string before = state_of(*db);
  const auto e = must_fail(db->add(workshop()), errc::forbidden);
  CHECK_THAT(e.message, Catch::Matchers::Contains("coordinator") &&
                            Catch::Matchers::Contains("never syncs records"));
  must_fail(db->add_all({workshop(), workshop()}), errc::forbidden);
  must_fail(db->edit(id, {{"participants", client::field_edit::op::set, "4"}}), errc::forbidden);
  must_fail(db->remove(id), errc::forbidden);
  CHECK(state_of(*db) == before);
}

TEST_CASE("store: move_server changes where an enrolled device syncs, and nothing else",
          "[client][credentials]") {
  scratch_store db("team-a");
  must_fail(db->move_server("wss://new.example.org/sync"), errc::not_found);
  const auto c = sample_credentials();
  must(db->enroll(c));
  must(db->move_server("wss://new.example.org/sync"));
  db.reopen();
  const auto kept = must(db->enrollment());
  REQUIRE(kept.has_value());
  CHECK(kept->server_url == "wss://new.example.org/sync");
  CHECK(kept->device_id == c.device_id);
  CHECK(kept->private_key == c.private_key);
}

// A device of the previous release (protocol version 2: Cereal batches, no
// version announced in its upgrade request) keeps syncing with a version 3
// havend over a real socket, and converges with a version 3 device of its team;
// a havend held at version 2 (--max-protocol 2) speaks it to new devices too.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <utility>

#include "../support/raw_ws_client.hpp"
#include "sync_fixture.hpp"

namespace haven::test {
namespace {

// One sync of `d` speaking at most `max_protocol`; REQUIREs that it succeeded
// and spoke exactly that version.
void sync_speaking(sync_fixture& f, device& d, std::uint32_t max_protocol) {
  client::sync_options o = f.sync_options();
  o.max_protocol = max_protocol;
  const auto r = client::sync_now(*d.db, o);
  INFO(d.name << " at version " << max_protocol << ": " << (r.ok() ? "" : r.err().describe()));
  REQUIRE(r.ok());
  CHECK(r->progress.protocol == max_protocol);
  CHECK(r->pending_after == 0);
}

// The challenge havend sends first to a device announcing `announced`, with
// the frame it came in; REQUIREs that it is one.
std::pair<sync::challenge, std::string> challenge_to(sync_fixture& f,
                                                     std::optional<std::uint32_t> announced) {
  raw_ws_client device(f.server().address(), "/sync", announced);
  const auto first = device.read();
  REQUIRE_FALSE(first.closed);
  const auto decoded = sync::decode(first.frame);
  REQUIRE(decoded.ok());
  const auto* challenge = std::get_if<sync::challenge>(&decoded.value());
  REQUIRE(challenge != nullptr);
  return {*challenge, first.frame};
}

}  // namespace

TEST_CASE("a version 2 device and a version 3 device converge through one havend",
          "[e2e][sync][version]") {
  sync_fixture f;
  field_work work(12);
  device& old_device = f.add_device("outreach");
  device& new_device = f.add_device("outreach");
  for (int round = 0; round < 3; ++round) {
    for (device* d : {&old_device, &new_device}) {
      for (int i = 0; i < 20; ++i) REQUIRE(d->db->add(work.new_record()).ok());
      auto list = d->db->list();
      REQUIRE(list.ok());
      const auto& some = list.value()[static_cast<std::size_t>(work.pick(
          static_cast<int>(list->size())))];        // a record of either device, once both synced
      (void)d->db->edit(some.id, work.edit(some));  // a refused edit changes nothing
    }
    sync_speaking(f, old_device, 2);
    sync_speaking(f, new_device, 3);
  }
  sync_speaking(f, old_device, 2);
  f.check_teams_agree();
  f.check_tallies();
  CHECK(old_device.db->list()->size() == 120);
}

TEST_CASE(
    "a device that announces no version (the previous release) is challenged in version 2, "
    "encoded as before; one that announces 3 in version 3",
    "[e2e][sync][version]") {
  sync_fixture f;
  for (const std::optional<std::uint32_t> announced :
       {std::optional<std::uint32_t>{}, std::optional<std::uint32_t>{3}}) {
    INFO("announced " << (announced ? std::to_string(*announced) : "nothing"));
    const auto [challenge, frame] = challenge_to(f, announced);
    CHECK(challenge.version == announced.value_or(2));
    CHECK(sync::encode(challenge) == frame);  // the Cereal layout of version 2
  }
}

TEST_CASE("havend --max-protocol 2 holds new devices at version 2, and they converge",
          "[e2e][sync][version]") {
  sync_fixture f({"--max-protocol", "2"});
  CHECK(challenge_to(f, 3).first.version == 2);

  field_work work(13);
  device& a = f.add_device("outreach");
  device& b = f.add_device("outreach");
  for (device* d : {&a, &b})
    for (int i = 0; i < 20; ++i) REQUIRE(d->db->add(work.new_record()).ok());
  for (device* d : {&a, &b, &a}) {
    const auto r = client::sync_now(*d->db, f.sync_options());  // offering version 3
    INFO(d->name << ": " << (r.ok() ? "" : r.err().describe()));
    REQUIRE(r.ok());
    CHECK(r->progress.protocol == 2);
  }
  f.check_teams_agree();
  f.check_tallies();
  CHECK(a.db->list()->size() == 40);
}

TEST_CASE("havend --max-protocol takes only a version it speaks", "[e2e][sync][version]") {
  temp_dir dir;
  for (const char* version : {"1", "4"}) {
    const auto r = run({HAVEND_PATH, "--db", dir.file("central.db"), "--max-protocol", version});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--max-protocol") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("central.db")));
  }
}

}  // namespace haven::test

// Fair sharing, against a real havend on 127.0.0.1 and hostile clients that
// speak the protocol: a device that asks and never reads holds the server's
// memory to one bounded queue while an honest device syncs; the accept loop
// backs off when file descriptors run out instead of spinning and logging.
#include "fair_share.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <haven/client/store.hpp>
#include <haven/sync/protocol.hpp>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/havend_process.hpp"
#include "../support/raw_ws_client.hpp"
#include "../support/tcp.hpp"
#include "shell_fixture.hpp"

namespace haven::test {
namespace {

// A raw device of team outreach on a --dev-no-auth server, past its welcome.
std::unique_ptr<raw_ws_client> joined(const havend_process& server, const std::string& device_id) {
  auto ws = std::make_unique<raw_ws_client>(server.address());
  ws->read_challenge();
  REQUIRE(ws->send_binary(sync::encode(sync::hello{
              sync::protocol_version, device_id, "outreach", 0x77, 1, 0, 0, {}})) == "");
  const auto reply = ws->read();
  REQUIRE_FALSE(reply.closed);
  auto welcome = sync::decode(reply.frame);
  REQUIRE(welcome.ok());
  REQUIRE(std::holds_alternative<sync::welcome>(welcome.value()));
  return ws;
}

// Pushes `count` prevention workshops of team outreach through a raw session.
void fill(const havend_process& server, const temp_dir& dir, std::size_t count) {
  auto db = client::store::create(dir.file("filler.db"), "outreach").value();
  std::vector<client::record_input> inputs;
  for (std::size_t i = 0; i < count; ++i)
    inputs.push_back({"prevention_workshop",
                      "",
                      {{"date", "2026-03-10"},
                       {"audience", "secondary-school"},
                       {"region", "podravska"},
                       {"participants", std::to_string(10 + i % 50)}}});
  REQUIRE(db->add_all(inputs).ok());
  auto ws = joined(server, "d00000000000f111");
  for (;;) {
    auto batch = db->outbox(100000, 2000).value();
    if (batch.changes.empty()) break;
    REQUIRE(ws->send_binary(sync::encode(sync::push_batch{batch.last_seq, batch.changes})) == "");
    const auto reply = ws->read(std::chrono::seconds(60));
    REQUIRE_FALSE(reply.closed);
    auto ack = sync::decode(reply.frame);
    REQUIRE(ack.ok());
    REQUIRE(std::holds_alternative<sync::push_ack>(ack.value()));
    REQUIRE(db->acknowledge(batch.last_seq).ok());
  }
}

}  // namespace

TEST_CASE(
    "fair: devices that ask for thousands of batches and read none hold havend to a bounded queue "
    "each",
    "[e2e][fair]") {
  constexpr std::size_t records = 1500, hostile = 2, requests = 1000;
  constexpr std::uint32_t cells_per_pull = 8000;  // the server's most per batch
  constexpr long bound_kb = 64 * 1024;            // growth allowed over the filled server's RSS
  temp_dir dir;
  havend_process server(dir.file("central.db"));
  fill(server, dir, records);
  const long baseline_kb = rss_kb(server.pid());
  const auto sent_before = metric(server.address(), "haven_changes_sent_total");

  std::vector<std::unique_ptr<raw_ws_client>> readers;
  for (std::size_t h = 0; h < hostile; ++h) {
    readers.push_back(joined(server, "d00000000000a00" + std::to_string(h)));
    const std::string pull = sync::encode(sync::pull_request{0, cells_per_pull});
    for (std::size_t i = 0; i < requests; ++i) REQUIRE(readers.back()->send_binary(pull) == "");
  }

  // An honest device syncs everything meanwhile.
  shell honest;
  honest.ok({"init", "--team", "outreach"});
  const std::string out = honest.ok({"sync", "--server", server.sync_url()});
  CHECK(honest.ok({"status"}).find("records         " + std::to_string(records) + "\n") !=
        std::string::npos);

  // Wait until havend does no more for the silent readers (at most 600
  // looks), watching its memory meanwhile.
  long peak_kb = rss_kb(server.pid());
  std::uint64_t sent = 0;
  for (int look = 0, still = 0; look < 600 && still < 5; ++look) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto now = metric(server.address(), "haven_changes_sent_total");
    still = now == sent ? still + 1 : 0;
    sent = now;
    peak_kb = std::max(peak_kb, rss_kb(server.pid()));
  }
  INFO("baseline " << baseline_kb << " kB, peak " << peak_kb << " kB, cells sent "
                   << sent - sent_before);
  CHECK(peak_kb - baseline_kb < bound_kb);
  // Far fewer answers than requests left the server before the readers read:
  // it stopped reading their requests.
  const std::uint64_t honest_cells = records * 6;
  CHECK(sent - sent_before < honest_cells + hostile * requests * cells_per_pull / 2);

  // Now one reads: every request is answered, in order, and memory stays bounded.
  for (std::size_t i = 0; i < requests; ++i) {
    const auto reply = readers.front()->read(std::chrono::seconds(30));
    REQUIRE_FALSE(reply.closed);
    auto batch = sync::decode(reply.frame);
    REQUIRE(batch.ok());
    REQUIRE(std::holds_alternative<sync::change_batch>(batch.value()));
    if (i % 100 == 0) peak_kb = std::max(peak_kb, rss_kb(server.pid()));
  }
  CHECK(peak_kb - baseline_kb < bound_kb);
}

TEST_CASE("fair: a device that asks and never reads is dropped by the idle timeout",
          "[e2e][fair]") {
  temp_dir dir;
  havend_process server(dir.file("central.db"), {"--idle-timeout", "2"});
  fill(server, dir, 1500);
  auto silent = joined(server, "d00000000000a0ff");
  const std::string pull = sync::encode(sync::pull_request{0, 8000});
  for (int i = 0; i < 200; ++i) REQUIRE(silent->send_binary(pull) == "");
  REQUIRE(metric(server.address(), "haven_connected_devices") == 1);
  std::uint64_t connected = 1;
  for (int look = 0; look < 300 && connected > 0; ++look) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    connected = metric(server.address(), "haven_connected_devices");
  }
  CHECK(connected == 0);
}

}  // namespace haven::test

// Fair sharing, against a real havend on 127.0.0.1 and hostile clients that
// speak the protocol: a device that asks and never reads holds the server's
// memory to one bounded queue while an honest device syncs; the accept loop
// backs off when file descriptors run out instead of spinning and logging.
#include "fair_share.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <haven/client/store.hpp>
#include <haven/sync/protocol.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../support/field_work.hpp"
#include "../support/havend_process.hpp"
#include "../support/raw_ws_client.hpp"
#include "../support/tcp.hpp"
#include "secured_fixture.hpp"
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

// Pushes the records, of team outreach, through a raw session in batches of
// up to 2000 records each; returns their cells.
std::size_t push_all(const havend_process& server, const temp_dir& dir,
                     const std::vector<client::record_input>& inputs) {
  auto db = client::store::create(dir.file("filler.db"), "outreach").value();
  REQUIRE(db->add_all(inputs).ok());
  const std::size_t cells = db->status().value().pending_cells;
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
  return cells;
}

// Pushes `count` prevention workshops of team outreach through a raw session.
void fill(const havend_process& server, const temp_dir& dir, std::size_t count) {
  std::vector<client::record_input> inputs;
  for (std::size_t i = 0; i < count; ++i)
    inputs.push_back({"prevention_workshop",
                      "",
                      {{"date", "2026-03-10"},
                       {"audience", "secondary-school"},
                       {"region", "podravska"},
                       {"participants", std::to_string(10 + i % 50)}}});
  push_all(server, dir, inputs);
}

int tallies_status(const havend_process& server, const std::string& token) {
  return http_send(server.address(), "GET", "/api/tallies", "",
                   {{"Authorization", "Bearer " + token}})
      .status;
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
  havend_process server =
      with_measurable_rss([&] { return havend_process(dir.file("central.db")); });
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

TEST_CASE("live: one push of more cells than a live batch reaches a watching device in full",
          "[e2e][live]") {
  temp_dir dir;
  havend_process server(dir.file("central.db"));
  // The watcher pulls the empty log and is live.
  auto watcher = joined(server, "d00000000000b001");
  REQUIRE(watcher->send_binary(sync::encode(sync::pull_request{0, 8000})) == "");
  const auto caught_up = watcher->read();
  REQUIRE_FALSE(caught_up.closed);
  REQUIRE(sync::decode(caught_up.frame).ok());

  // One push of 2000 records: one commit, one notification, more cells than
  // the 8000 a live batch holds. havend sends the rest when the first batch
  // is written, with nothing else to wake it.
  field_work work(5);
  std::vector<client::record_input> records;
  for (int i = 0; i < 2000; ++i) records.push_back(work.new_record());
  const std::size_t pushed = push_all(server, dir, records);
  REQUIRE(pushed > 8000);
  REQUIRE(pushed <= 16384);  // one push frame
  std::size_t cells = 0, batches = 0;
  while (cells < pushed) {
    const auto reply = watcher->read(std::chrono::seconds(10));
    INFO("after " << batches << " batches, " << cells << " cells");
    REQUIRE_FALSE(reply.closed);
    auto batch = sync::decode(reply.frame);
    REQUIRE(batch.ok());
    REQUIRE(std::holds_alternative<sync::change_batch>(batch.value()));
    cells += sync::cell_count(std::get<sync::change_batch>(batch.value()).changes);
    ++batches;
  }
  CHECK(cells == pushed);
  CHECK(batches >= 2);
}

TEST_CASE("fair: a device that asks and never reads is dropped by the idle timeout",
          "[e2e][fair]") {
  temp_dir dir;
  {
    // Filled first without the short timeout: a slow machine (a sanitizer
    // build) can take longer than it to commit the filling push.
    havend_process filling(dir.file("central.db"));
    fill(filling, dir, 1500);
  }
  havend_process server(dir.file("central.db"), {"--idle-timeout", "2"});
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

TEST_CASE(
    "fair: failed hellos from one address during its back-off are audited a few at a time, then "
    "counted",
    "[e2e][fair][audit]") {
  constexpr int attempts = 60;
  temp_dir dir;
  const std::string db = dir.file("central.db");
  havend_process server(db, {}, havend_process::authentication::on);
  for (int i = 0; i < attempts; ++i) {
    raw_ws_client ws(server.address());
    ws.read_challenge();
    REQUIRE(ws.send_binary(sync::encode(sync::hello{sync::protocol_version, "d0123456789abcdef",
                                                    "team-a", 0x5ec, 1, 0, 0, "forged"})) == "");
    const auto reply = ws.read();  // the refusal
    REQUIRE_FALSE(reply.closed);
    auto refusal = sync::decode(reply.frame);
    REQUIRE(refusal.ok());
    REQUIRE(std::holds_alternative<sync::error_frame>(refusal.value()));
  }
  REQUIRE(server.stop() == 0);  // the counts still held back are written at shutdown
  const auto audit = run({HAVEND_PATH, "--db", db, "audit", "--limit", "1000"});
  REQUIRE(audit.exit_code == 0);
  const auto rows = audit_rows(audit.out, "login_failed");
  INFO(audit.out);
  CHECK(rows.all == 6);  // the first five, then one row with the count of the other 55
  REQUIRE(rows.summaries.size() == 1);
  CHECK(rows.summaries.front().find(std::to_string(attempts - 5) + " more login_failed") !=
        std::string::npos);
  // The log likewise: five refusals, then one line with the count.
  CHECK(lines_with(server.log_file(), "session refused remote=") == 5);
  CHECK(lines_with(server.log_file(), "suppressed " + std::to_string(attempts - 5) +
                                          " similar lines kind=\"session refused\"") == 1);
}

TEST_CASE(
    "fair: a valid token is let in while its address is backed off by bad ones, and leaves it "
    "backed off",
    "[e2e][fair][guard]") {
  temp_dir dir;
  const std::string db = dir.file("central.db");
  havend_process server(db, {}, havend_process::authentication::on);
  const std::string token = coordinator_token(db);
  const std::string bad(64, 'f');
  // Neighbours behind the same address send bad tokens until it is backed off.
  std::vector<int> statuses;
  for (int i = 0; i < 8; ++i) statuses.push_back(tallies_status(server, bad + std::to_string(i)));
  CHECK(statuses.front() == 401);
  CHECK(statuses.back() == 429);
  // The coordinator's token works meanwhile.
  CHECK(tallies_status(server, token) == 200);
  // Its success cleared its own count only: the address is still backed off
  // for any other token, new or repeated.
  CHECK(tallies_status(server, bad + "x") == 429);
  CHECK(tallies_status(server, bad + "0") == 429);
  CHECK(tallies_status(server, token) == 200);
}

TEST_CASE("fair: a success behind an address does not reset the failures counted against it",
          "[e2e][fair][guard]") {
  temp_dir dir;
  const std::string db = dir.file("central.db");
  havend_process server(db, {}, havend_process::authentication::on);
  const std::string token = coordinator_token(db);
  const std::string bad(64, 'e');
  for (int i = 0; i < 4; ++i)
    CHECK(tallies_status(server, bad + std::to_string(i)) == 401);  // 5 are free
  CHECK(tallies_status(server, token) == 200);                      // a neighbour's success
  CHECK(tallies_status(server, bad + "4") == 401);                  // the fifth failure
  CHECK(tallies_status(server, bad + "5") == 429);  // the sixth waits: the count went on
}

TEST_CASE(
    "fair: when file descriptors run out, havend backs off accepting instead of spinning and "
    "logging",
    "[e2e][fair][emfile]") {
  temp_dir dir;
  havend_process server(dir.file("central.db"),
                        {"--max-connections-per-address", "1000", "--threads", "2"},
                        havend_process::authentication::off, havend_process::launch{64});
  // More connections than descriptors: the kernel queues them, havend's
  // accept fails with EMFILE once its 64 descriptors are used.
  std::vector<int> held;
  for (int i = 0; i < 120; ++i) {
    const int fd = connect_tcp(server.address());
    REQUIRE(fd >= 0);
    held.push_back(fd);
  }
  // Wait until havend has said it ran out (at most 100 looks), then watch it
  // for 20 more looks with the descriptors still used up.
  bool exhausted = false;
  for (int look = 0; look < 100 && !exhausted; ++look) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    exhausted = lines_with(server.log_file(), "Too many open files") > 0;
  }
  REQUIRE(exhausted);  // the fault happened
  const long cpu_before = cpu_ticks(server.pid());
  for (int look = 0; look < 20; ++look) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const long cpu_used = cpu_ticks(server.pid()) - cpu_before;
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  INFO("cpu ticks over 2 s: " << cpu_used << " (" << ticks_per_second << " per second)");
  // A spinning accept loop burns the whole window on a core (and wrote about
  // 250,000 lines a second); backing off, it wakes about once a second.
  CHECK(cpu_used < ticks_per_second / 2);
  CHECK(lines_with(server.log_file(), "Too many open files") <= 5);
  for (const int fd : held) close(fd);
  // With descriptors free again it accepts again, once its back-off (at most
  // 1 s) ends and it has drained the connections the kernel queued: until
  // then a connection may be refused, so a failed connect is one more try.
  int status = 0;
  std::string last_failure;
  for (int attempt = 0; attempt < 100 && status != 200; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    try {
      status = http_get(server.address(), "/healthz").status;
    } catch (const std::exception& e) {
      last_failure = e.what();
    }
  }
  INFO("last failure: " << last_failure);
  CHECK(status == 200);
}

}  // namespace haven::test
